"""The OpenAPI 3.1 description of the open-data API, written by hand; tests keep it in step with the routes."""


def _object(description: str, properties: dict, optional: tuple[str, ...] = ()) -> dict:
    # Every field is always present (null when empty) unless listed optional, and no undocumented field may appear.
    return {
        "type": "object",
        "description": description,
        "properties": properties,
        "required": [name for name in properties if name not in optional],
        "additionalProperties": False,
    }


def _ref(name: str) -> dict:
    return {"$ref": f"#/components/schemas/{name}"}


def _nullable(schema: dict) -> dict:
    return {"oneOf": [schema, {"type": "null"}]}


_STRING = {"type": "string"}
_INTEGER = {"type": "integer"}
_BOOLEAN = {"type": "boolean"}
_DAY = {"type": ["string", "null"], "format": "date"}
_MOMENT = {"type": ["string", "null"], "format": "date-time"}
_INSTANT = {"type": "string", "format": "date-time", "description": "UTC, ISO 8601 with a trailing Z."}
_ID_NAME = _object("A reference by id and name.", {"id": _INTEGER, "name": _STRING})

_PHASES = ["proposals", "supports", "review", "voting", "tallying", "results", "closed"]

# What a count's per-project figure is: votes (knapsack, approval), points (cumulative) or rank scores (ranking: K
# for a first place of K ranks, down to 1).
_SCORE_UNIT = {"type": "string", "enum": ["votes", "points", "rank_score"],
               "description": "What the project's count is: votes, points (cumulative) or rank score (ranking)."}

_SCHEMAS = {
    "Error": _object("A refusal: what went wrong, in words a person can read.", {"error": _STRING, "status": _INTEGER}),
    "Money": _object(
        "An amount as an integer of the currency's smallest unit: 1250050 EUR with exponent 2 is 12,500.50 EUR.",
        {
            "amount_minor": _INTEGER,
            "currency": {"type": "string", "description": "ISO 4217 code.", "pattern": "^[A-Z]{3}$"},
            "minor_unit_exponent": {"type": "integer", "description": "Decimal places of the currency (ISO 4217)."},
        },
    ),
    "Links": _object(
        "Paths of the neighbouring pages, null at either end.",
        {"next": {"type": ["string", "null"]}, "prev": {"type": ["string", "null"]}},
    ),
    "Index": _object(
        "What the API offers.",
        {"name": _STRING, "version": _STRING, "openapi": _STRING, "cycles": _STRING, "documentation": _STRING},
    ),
    "CycleSummary": _object(
        "A budget cycle (drafts are never shown).",
        {
            "id": _INTEGER,
            "name": _STRING,
            "phase": {"type": "string", "enum": _PHASES},
            "phase_label": _STRING,
            "currency": _STRING,
            "total_budget": _ref("Money"),
            "rule": {"type": "string", "description": "Counting rule: greedy or mes-add1 (Method of Equal Shares)."},
            "has_published_results": _BOOLEAN,
            "dates": _object(
                "The published timetable as days (ISO dates in the cycle's time zone, null when not set; "
                "`supports_on` only with the optional supports phase, when proposals close and supports open); "
                "`moments` gives the time of day too.",
                {
                    "proposals_open_on": _DAY,
                    "supports_on": _DAY,
                    "review_on": _DAY,
                    "voting_open_on": _DAY,
                    "voting_close_on": _DAY,
                    "results_on": _DAY,
                },
            ),
            "timezone": {"type": "string", "description": "The IANA time zone the timetable is published in, "
                                                          "e.g. Europe/Madrid."},
            "moments": _object(
                "The published timetable to the minute: ISO 8601 date-times with the time zone's offset at that "
                "moment (e.g. 2026-12-15T20:00:00+01:00), null when not set. Voting closes to the second at "
                "`voting_close_at`.",
                {
                    "proposals_open_at": _MOMENT,
                    "supports_at": _MOMENT,
                    "review_at": _MOMENT,
                    "voting_open_at": _MOMENT,
                    "voting_close_at": _MOMENT,
                    "results_at": _MOMENT,
                },
            ),
            "created_at": _INSTANT,
        },
    ),
    "District": _object("A district and its budget.", {"id": _INTEGER, "name": _STRING, "budget": _ref("Money")}),
    "Photo": _object(
        "A photo of a project: a WebP image about 800 pixels wide, without metadata.",
        {"url": {"type": "string", "description": "Its address on this server (a path, like the paging links)."},
         "alt": {"type": "string", "description": "What the photo shows, in words (alt text)."}},
    ),
    "Document": _object(
        "A PDF attached to a project (a plan, a quote).",
        {"url": {"type": "string", "description": "Its download address on this server (a path)."},
         "title": _STRING},
    ),
    "ProjectResult": _object(
        "A project's published result.",
        {
            "votes": {"type": "integer", "description": "The count's score for the project, in `score_unit`."},
            "score_unit": _SCORE_UNIT,
            "is_funded": _BOOLEAN,
            "position": {"type": "integer", "description": "1 = first in the district's results table."},
            "explanation": {"type": "string", "description": "Why it was or was not funded."},
        },
    ),
    "Project": _object(
        "A project on the ballot (an accepted proposal). Its author is deliberately not published.",
        {
            "id": _INTEGER,
            "cycle_id": _INTEGER,
            "district": _ID_NAME,
            "category": _nullable(_ID_NAME),
            "title": _STRING,
            "summary": _STRING,
            "description": _STRING,
            "location": {"type": "string", "description": "The same as `address` (its name in version 1.0)."},
            "address": {"type": "string", "description": "Where the project is, in words (may be empty)."},
            "latitude": {"type": ["number", "null"], "description": "WGS 84 degrees; null when the project has no "
                                                                     "point on the map."},
            "longitude": {"type": ["number", "null"], "description": "WGS 84 degrees; null with `latitude`."},
            "cost": {**_ref("Money"), "description": "The cost voters see: the final cost fixed in review."},
            "estimated_cost": {**_ref("Money"), "description": "The proposer's own estimate."},
            "moderator_note": _STRING,
            "photos": {"type": "array", "items": _ref("Photo"), "description": "In the order the project shows them."},
            "documents": {"type": "array", "items": _ref("Document"), "description": "PDF attachments, oldest first."},
            "comments": {"type": "integer", "description": "Comments and replies residents can read (hidden and "
                                                           "deleted ones are not counted)."},
            "supports": {"type": "integer", "description": "Residents who supported the proposal in the supports "
                                                           "phase; present only when the cycle has that phase."},
            "created_at": _INSTANT,
            "updated_at": _INSTANT,
            "result": {
                "oneOf": [_ref("ProjectResult"), {"type": "null"}],
                "description": "Null until the cycle's results are published.",
            },
        },
        optional=("supports",),
    ),
    "CountedProject": _object(
        "One row of a district's results table, funded projects first.",
        {
            "project_id": _INTEGER,
            "title": _STRING,
            "position": _INTEGER,
            "votes": {"type": "integer", "description": "The count's score for the project, in the count's "
                                                        "`score_unit`: votes, points or rank score."},
            "voters": {"type": "integer", "description": "Counted ballots that chose the project, gave it points or "
                                                         "ranked it."},
            "is_funded": _BOOLEAN,
            "cost": _ref("Money"),
            "explanation": _STRING,
        },
    ),
    "Count": _object(
        "How one district was counted: everything needed to re-run the count and check the winners.",
        {
            "rule": _STRING,
            "rule_name": _STRING,
            "ballot_design": {"type": "string", "enum": ["knapsack", "approval", "cumulative", "ranking"],
                              "description": "The ballot the district's residents filled in."},
            "score_unit": _SCORE_UNIT,
            "tie_break": {"type": "string", "description": "The tie-break order, in words."},
            "tie_break_seed": {"type": "integer", "description": "The published seed of the tie-break lottery."},
            "parameters": {"type": "object", "additionalProperties": {"type": "string"}},
            "budget": _ref("Money"),
            "spent": _ref("Money"),
            "left": _ref("Money"),
            "ballots_counted": _INTEGER,
            "ballot_list_sha256": {
                "type": "string",
                "description": "SHA-256 of the district's public ballot list (CSV, receipt code and choices) as counted.",
            },
            "counted_at": _INSTANT,
            "projects": {"type": "array", "items": _ref("CountedProject")},
        },
    ),
    "DistrictResults": _object(
        "A district's published results and turnout.",
        {
            "district": _ID_NAME,
            "budget": _ref("Money"),
            "turnout": _object(
                "Residents who voted, by channel, and residents verified as eligible.",
                {"voters": _INTEGER, "online": _INTEGER, "paper": _INTEGER, "verified_residents": _INTEGER},
            ),
            "is_counted": _BOOLEAN,
            "count": {"oneOf": [_ref("Count"), {"type": "null"}]},
        },
    ),
}

_SCHEMAS["Cycle"] = _object(
    "A cycle with its districts, categories, ballot limits and rule.",
    {
        **_SCHEMAS["CycleSummary"]["properties"],
        "description": _STRING,
        "rule_name": _STRING,
        "tie_break_seed": _INTEGER,
        "ballot_limits": _object(
            "How many projects one ballot may choose (max null: no limit); the total cost is capped by the budget.",
            {"min_projects": _INTEGER, "max_projects": {"type": ["integer", "null"]}},
        ),
        "districts": {"type": "array", "items": _ref("District")},
        "categories": {"type": "array", "items": _ID_NAME},
    },
)

_SCHEMAS["Results"] = _object(
    "A cycle's published results.",
    {
        "cycle": _object(
            "The cycle counted.",
            {"id": _INTEGER, "name": _STRING, "phase": {"type": "string", "enum": ["results", "closed"]},
             "currency": _STRING},
        ),
        "rule": _STRING,
        "total_budget": _ref("Money"),
        "revision": _nullable(_object(
            "Which published revision of the results this is: 1 as first published, more after each correction.",
            {"number": _INTEGER, "published_at": _INSTANT,
             "reason": {"type": "string", "description": "Why the results were corrected (empty for revision 1)."},
             "withdrawn_project_ids": {"type": "array", "items": _INTEGER}},
        )),
        "districts": {"type": "array", "items": _ref("DistrictResults")},
    },
)


def _page_of(item: str) -> dict:
    return _object(
        f"One page of {item} items.",
        {
            "items": {"type": "array", "items": _ref(item)},
            "page": _INTEGER,
            "per_page": _INTEGER,
            "total": {"type": "integer", "description": "Items in the whole list."},
            "links": _ref("Links"),
        },
    )


_SCHEMAS["CyclePage"] = _page_of("CycleSummary")
_SCHEMAS["ProjectPage"] = _page_of("Project")


def _json(schema_name: str, description: str) -> dict:
    return {"description": description, "content": {"application/json": {"schema": _ref(schema_name)}}}


def _id(name: str, what: str) -> dict:
    return {"name": name, "in": "path", "required": True, "description": f"The {what}'s id.",
            "schema": {"type": "integer", "minimum": 1}}


_PAGING = [
    {"name": "page", "in": "query", "required": False, "description": "Page number, from 1.",
     "schema": {"type": "integer", "minimum": 1, "default": 1}},
    {"name": "per_page", "in": "query", "required": False, "description": "Items per page.",
     "schema": {"type": "integer", "minimum": 1, "maximum": 100, "default": 50}},
]
_BAD_REQUEST = _json("Error", "A query parameter is not a whole number or out of range.")
_NOT_FOUND = _json("Error", "No such public item (drafts and proposals not on the ballot do not exist here).")

SPEC: dict = {
    "openapi": "3.1.0",
    "info": {
        "title": "pb open data API",
        "version": "1.2.0",
        "description": (
            "Read-only public data of pb participatory budgeting cycles: cycles, districts, projects on the ballot "
            "and published results. Money is an integer of the currency's smallest unit with its currency; dates "
            "are ISO 8601. No vote count, ranking or turnout appears anywhere before a cycle's results are "
            "published, and no personal data appears at all. Every answer allows any origin (CORS). "
            "Errors are JSON: {\"error\": message, \"status\": code}."
        ),
        "license": {"name": "AGPL-3.0-or-later", "identifier": "AGPL-3.0-or-later"},
    },
    "servers": [{"url": "/api/v1"}],
    "paths": {
        "/": {
            "get": {
                "operationId": "index",
                "summary": "What the API offers",
                "responses": {"200": _json("Index", "Links to the description and the list of cycles.")},
            }
        },
        "/openapi.json": {
            "get": {
                "operationId": "openapi",
                "summary": "This OpenAPI description",
                "responses": {"200": {"description": "The OpenAPI 3.1 document.",
                                      "content": {"application/json": {"schema": {"type": "object"}}}}},
            }
        },
        "/cycles": {
            "get": {
                "operationId": "listCycles",
                "summary": "Public cycles, newest first",
                "parameters": _PAGING,
                "responses": {"200": _json("CyclePage", "A page of cycles."), "400": _BAD_REQUEST},
            }
        },
        "/cycles/{cycle_id}": {
            "get": {
                "operationId": "getCycle",
                "summary": "One cycle with its phase, districts, categories and rule",
                "parameters": [_id("cycle_id", "cycle")],
                "responses": {"200": _json("Cycle", "The cycle."), "404": _NOT_FOUND},
            }
        },
        "/cycles/{cycle_id}/projects": {
            "get": {
                "operationId": "listProjects",
                "summary": "The cycle's projects on the ballot, by id",
                "parameters": [
                    _id("cycle_id", "cycle"),
                    {"name": "district", "in": "query", "required": False, "description": "Only this district's.",
                     "schema": {"type": "integer", "minimum": 1}},
                    *_PAGING,
                ],
                "responses": {
                    "200": _json("ProjectPage", "A page of projects; each has its result once results are published."),
                    "400": _BAD_REQUEST,
                    "404": _NOT_FOUND,
                },
            }
        },
        "/projects/{project_id}": {
            "get": {
                "operationId": "getProject",
                "summary": "One project on the ballot",
                "parameters": [_id("project_id", "project")],
                "responses": {"200": _json("Project", "The project."), "404": _NOT_FOUND},
            }
        },
        "/cycles/{cycle_id}/results": {
            "get": {
                "operationId": "getResults",
                "summary": "Published results per district: funded projects, votes, costs, rule, turnout",
                "parameters": [_id("cycle_id", "cycle")],
                "responses": {
                    "200": _json("Results", "The published results."),
                    "404": _NOT_FOUND,
                    "409": _json("Error", "The results are not published yet."),
                },
            }
        },
    },
    "components": {"schemas": _SCHEMAS},
}
