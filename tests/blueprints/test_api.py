"""The open-data API: what it shows, what it hides before publication, its errors, CORS, and its OpenAPI description."""

import contextlib
import re
from datetime import date, datetime

import pytest
from sqlalchemy import event

from pb.api_spec import SPEC
from pb.domain.cycle import Phase
from pb.extensions import db
from pb.models import Comment, Cycle, ProjectResult, ProposalStatus, Role, Support, TallyRun
from pb.services import media, tallying, voting
from tests import images
from tests.conftest import close_voting

BEFORE_RESULTS = [Phase.DRAFT, Phase.PROPOSALS, Phase.REVIEW, Phase.VOTING, Phase.TALLYING]
PUBLISHED = [Phase.RESULTS, Phase.CLOSED]
# Any key naming a count, a rank or turnout is a result; none may appear before publication.
RESULT_KEYS = re.compile(r"vote|ballot|turnout|funded|spent|left|position|count|result", re.IGNORECASE)
# Keys that match but hold no result: a date, the ballot's set-up limits, a flag that must be false, and a
# project's result that must be null.
NOT_RESULTS = {"results_on", "results_at", "ballot_limits", "has_published_results", "result"}


def eur(amount: int) -> dict:
    return {"amount_minor": amount, "currency": "EUR", "minor_unit_exponent": 2}


@pytest.fixture
def counted_cycle(make_user, make_cycle, make_project, make_proposal, verify):
    """A cycle whose ballots are cast and counted but not published: projects, every other proposal status, votes."""
    official = make_user(Role.OFFICIAL)
    cycle = make_cycle(
        Phase.VOTING, districts=(("North", 30_000), ("South", 20_000)), tie_break_seed=7,
        voting_open_at=datetime(2026, 5, 1), voting_close_at=datetime(2099, 5, 31),
    )
    north, south = cycle.districts
    swings = make_project(cycle, north, cost=20_000, title="Swings", moderator_note="Cost checked with the parks team.")
    benches = make_project(cycle, north, cost=15_000, title="Benches")
    trees = make_project(cycle, south, cost=10_000, title="Trees")
    hidden = [
        make_proposal(cycle, north, status=status, title=f"Hidden {status.value}")
        for status in ProposalStatus if status is not ProposalStatus.ACCEPTED
    ]
    for district, project in ((north, swings), (north, swings), (north, benches), (south, trees)):
        voter = make_user()
        verify(voter, district)
        voting.cast_ballot(voter, cycle.id, district.id, [project.id])
    close_voting(cycle)
    tallying.run_tally(official, cycle.id)
    projects = {"swings": swings.id, "benches": benches.id, "trees": trees.id}
    return cycle.id, projects, [proposal.id for proposal in hidden]


def set_phase(cycle_id: int, phase: Phase) -> None:
    db.session.get(Cycle, cycle_id).phase = phase
    db.session.commit()


# --- a small checker for the JSON Schema subset the description uses, so answers must match what is documented ---


def _resolve(schema: dict) -> dict:
    while "$ref" in schema:
        schema = SPEC["components"]["schemas"][schema["$ref"].rsplit("/", 1)[1]]
    return schema


def conforms(value, schema: dict, where: str = "$") -> None:
    schema = _resolve(schema)
    if "oneOf" in schema:
        problems = []
        for option in schema["oneOf"]:
            try:
                conforms(value, option, where)
                return
            except AssertionError as problem:
                problems.append(str(problem))
        raise AssertionError(f"{where}: matches no option: {problems}")
    kinds = schema.get("type")
    kinds = [kinds] if isinstance(kinds, str) else kinds
    if kinds:
        python = {"object": dict, "array": list, "string": str, "boolean": bool, "null": type(None),
                  "number": (int, float)}
        is_integer = isinstance(value, int) and not isinstance(value, bool)
        assert any(is_integer if kind == "integer" else isinstance(value, python[kind]) and not (
            kind == "number" and isinstance(value, bool)) for kind in kinds), (
            f"{where}: {value!r} is not {kinds}"
        )
    if "enum" in schema:
        assert value in schema["enum"], f"{where}: {value!r} not in {schema['enum']}"
    if isinstance(value, str) and schema.get("format") == "date":
        date.fromisoformat(value)
    if isinstance(value, str) and schema.get("format") == "date-time":
        # Instants are UTC ("...Z"); a timetable moment carries its zone's offset ("...+01:00"): either way, explicit.
        assert datetime.fromisoformat(value.replace("Z", "+00:00")).tzinfo is not None, f"{where}: {value} has no offset"
    if isinstance(value, dict):
        properties = schema.get("properties", {})
        missing = set(schema.get("required", [])) - set(value)
        assert not missing, f"{where}: missing {sorted(missing)}"
        for key, item in value.items():
            if key in properties:
                conforms(item, properties[key], f"{where}.{key}")
            elif isinstance(schema.get("additionalProperties"), dict):
                conforms(item, schema["additionalProperties"], f"{where}.{key}")
            else:
                assert schema.get("additionalProperties", True) is not False, f"{where}: undocumented field {key!r}"
    if isinstance(value, list) and "items" in schema:
        for number, item in enumerate(value):
            conforms(item, schema["items"], f"{where}[{number}]")


def documented_schema(path: str, status: int) -> dict:
    """The schema the description promises for this path (with /api/v1 and query removed) and status."""
    path = path.split("?")[0].removeprefix("/api/v1") or "/"
    for template, operations in SPEC["paths"].items():
        if re.fullmatch(re.sub(r"\{\w+\}", r"\\d+", template), path):
            responses = operations["get"]["responses"]
            assert str(status) in responses, f"{path} answered {status}, which is not documented"
            return responses[str(status)]["content"]["application/json"]["schema"]
    raise AssertionError(f"{path} is not described")


def get_json(client, url: str, status: int = 200):
    response = client.get(url)
    assert response.status_code == status, (url, response.get_data(as_text=True))
    assert response.mimetype == "application/json"
    assert response.headers["Access-Control-Allow-Origin"] == "*"
    body = response.get_json()
    conforms(body, documented_schema(url, status))
    return body


def api_urls(app, cycle_id: int, project_ids: list[int], district_id: int) -> list[str]:
    """Every API address for one cycle, built from the URL map so a new endpoint is walked without being listed."""
    values = {"cycle_id": [cycle_id], "project_id": project_ids}
    urls = []
    for rule in app.url_map.iter_rules():
        if not rule.endpoint.startswith("api.") or rule.endpoint == "api.unknown" or "GET" not in rule.methods:
            continue
        unknown = set(rule.arguments) - set(values)
        assert not unknown, f"teach the walk which values to use for {unknown} in {rule.rule}"
        for name in rule.arguments or [None]:
            for value in values.get(name, [None]):
                urls.append(rule.rule.replace(f"<int:{name}>", str(value)) if name else rule.rule)
    projects_url = f"/api/v1/cycles/{cycle_id}/projects"
    urls += [f"{projects_url}?district={district_id}", f"{projects_url}?per_page=1&page=2"]
    return urls


def values_of(value, key: str) -> set:
    """Every value held under `key` anywhere in a JSON document (results are dicts: compared by their repr)."""
    if isinstance(value, dict):
        own = {repr(value[key]) if isinstance(value[key], dict) else value[key]} if key in value else set()
        return own | {found for item in value.values() for found in values_of(item, key)}
    if isinstance(value, list):
        return {found for item in value for found in values_of(item, key)}
    return set()


def all_keys(value) -> set[str]:
    if isinstance(value, dict):
        return set(value) | {key for item in value.values() for key in all_keys(item)}
    if isinstance(value, list):
        return {key for item in value for key in all_keys(item)}
    return set()


# --- no result before publication, results after ---


@pytest.mark.parametrize("phase", BEFORE_RESULTS, ids=lambda p: p.value)
def test_no_endpoint_shows_any_count_before_results_are_published(app, client, counted_cycle, phase):
    cycle_id, projects, hidden = counted_cycle
    set_phase(cycle_id, phase)
    explanations = [result.explanation for result in db.session.query(ProjectResult)]
    assert db.session.query(TallyRun).count() == 2 and all(explanations)  # the count exists; it must not leak
    district_id = db.session.query(TallyRun).first().district_id
    for url in api_urls(app, cycle_id, [*projects.values(), *hidden], district_id):
        if url.endswith("/openapi.json"):
            continue  # it names the result fields to describe them, and holds no data of any cycle
        response = client.get(url)
        assert response.status_code in (200, 404, 409), url
        assert response.mimetype == "application/json", url
        body = response.get_json()
        leaked = {key for key in all_keys(body) if RESULT_KEYS.search(key)}
        assert leaked <= NOT_RESULTS, (url, leaked)
        assert values_of(body, "result") <= {None} and values_of(body, "has_published_results") <= {False}, url
        assert not any(explanation in response.get_data(as_text=True) for explanation in explanations), url
    body = get_json(client, f"/api/v1/cycles/{cycle_id}/results", 404 if phase is Phase.DRAFT else 409)
    if phase is not Phase.DRAFT:
        assert body["error"].startswith("Results are not published yet.")


@pytest.mark.parametrize("phase", PUBLISHED, ids=lambda p: p.value)
def test_every_endpoint_shows_the_published_results(app, client, counted_cycle, phase):
    cycle_id, projects, hidden = counted_cycle
    set_phase(cycle_id, phase)
    district_id = db.session.query(TallyRun).first().district_id
    for url in api_urls(app, cycle_id, [*projects.values(), *hidden], district_id):
        response = client.get(url)
        assert response.status_code in (200, 404), url
        conforms(response.get_json(), documented_schema(url, response.status_code))

    swings = get_json(client, f"/api/v1/projects/{projects['swings']}")
    assert swings["result"]["votes"] == 2 and swings["result"]["is_funded"] is True
    stored = db.session.query(ProjectResult).filter_by(project_id=projects["swings"]).one()
    assert swings["result"]["explanation"] == stored.explanation and swings["result"]["position"] == 1
    listed = get_json(client, f"/api/v1/cycles/{cycle_id}/projects")["items"]
    assert {item["title"]: item["result"]["votes"] for item in listed} == {"Swings": 2, "Benches": 1, "Trees": 1}

    results = get_json(client, f"/api/v1/cycles/{cycle_id}/results")
    north, south = results["districts"]
    assert north["district"]["name"] == "North" and north["is_counted"] is True
    assert north["turnout"] == {"voters": 3, "online": 3, "paper": 0, "verified_residents": 3}
    count = north["count"]
    assert count["rule"] == "greedy" and count["tie_break_seed"] == 7 and "seed 7" in count["tie_break"]
    assert count["parameters"]["seed"] == "7"
    assert count["budget"] == eur(30_000) and count["spent"] == eur(20_000) and count["left"] == eur(10_000)
    assert count["ballots_counted"] == 3
    run = db.session.query(TallyRun).filter_by(district_id=north["district"]["id"]).one()
    assert count["ballot_list_sha256"] == run.ballot_list_sha256 and len(run.ballot_list_sha256) == 64
    assert [(p["title"], p["votes"], p["is_funded"], p["position"]) for p in count["projects"]] == [
        ("Swings", 2, True, 1), ("Benches", 1, False, 2),
    ]
    assert count["projects"][0]["cost"] == eur(20_000)
    assert south["count"]["projects"][0]["title"] == "Trees" and south["turnout"]["voters"] == 1
    assert results["cycle"]["phase"] == phase.value


def test_a_published_district_without_a_count_says_so(client, make_cycle, make_project):
    cycle = make_cycle(Phase.RESULTS, districts=(("North", 30_000),))
    make_project(cycle)
    district = get_json(client, f"/api/v1/cycles/{cycle.id}/results")["districts"][0]
    assert district["is_counted"] is False and district["count"] is None
    assert district["turnout"]["voters"] == 0


# --- cycles ---


def test_cycles_lists_every_public_cycle_newest_first_never_drafts(client, make_user, make_cycle):
    make_cycle(Phase.DRAFT, name="Secret draft")
    older = make_cycle(Phase.VOTING, name="Older")
    newer = make_cycle(Phase.RESULTS, name="Newer", currency="JPY")
    body = get_json(client, "/api/v1/cycles")
    assert [item["id"] for item in body["items"]] == [newer.id, older.id]
    assert body["total"] == 2 and body["links"] == {"next": None, "prev": None}
    assert body["items"][0]["total_budget"] == {"amount_minor": 150_000, "currency": "JPY", "minor_unit_exponent": 0}
    assert body["items"][0]["has_published_results"] is True and body["items"][1]["has_published_results"] is False
    client.login(make_user(Role.OFFICIAL))  # the API is the same for everyone, officials included
    assert "Secret draft" not in client.get("/api/v1/cycles").get_data(as_text=True)


def test_cycles_come_a_page_at_a_time(client, make_cycle):
    ids = [make_cycle(Phase.PROPOSALS).id for _ in range(3)]
    first = get_json(client, "/api/v1/cycles?per_page=2")
    assert [item["id"] for item in first["items"]] == ids[::-1][:2] and first["total"] == 3
    assert first["links"] == {"next": "/api/v1/cycles?page=2&per_page=2", "prev": None}
    second = get_json(client, first["links"]["next"])
    assert [item["id"] for item in second["items"]] == [ids[0]]
    assert second["links"] == {"next": None, "prev": "/api/v1/cycles?page=1&per_page=2"}
    assert get_json(client, "/api/v1/cycles?page=9")["items"] == []


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("page=0", "page must be a whole number of at least 1."),
        ("page=two", "page must be a whole number, like page=2."),
        ("page=-1", "page must be a whole number, like page=2."),
        ("page=99999999999999999999", "page must be a whole number, like page=2."),
        ("per_page=0", "per_page must be a whole number from 1 to 100."),
        ("per_page=101", "per_page must be a whole number from 1 to 100."),
        ("per_page=1.5", "per_page must be a whole number, like per_page=2."),
    ],
)
def test_bad_paging_is_a_json_400(client, make_cycle, query, message):
    cycle = make_cycle(Phase.VOTING)
    for url in (f"/api/v1/cycles?{query}", f"/api/v1/cycles/{cycle.id}/projects?{query}"):
        assert get_json(client, url, 400) == {"error": message, "status": 400}


def test_a_cycle_shows_its_phase_districts_categories_and_rule(client, make_cycle):
    cycle = make_cycle(
        Phase.VOTING, name="Riverside", description="Our town.", rule="mes-add1", max_projects=3,
        # 22:30 UTC on 30 April is already 1 May in Madrid: the day is the cycle's zone's.
        voting_open_at=datetime(2026, 4, 30, 22, 30), timezone="Europe/Madrid",
        districts=(("North", 30_000), ("South", 20_050)),
    )
    body = get_json(client, f"/api/v1/cycles/{cycle.id}")
    assert body["name"] == "Riverside" and body["description"] == "Our town."
    assert body["phase"] == "voting" and body["phase_label"] == "Voting open"
    assert body["rule"] == "mes-add1" and "Equal Shares" in body["rule_name"]
    assert body["ballot_limits"] == {"min_projects": 1, "max_projects": 3}
    assert body["dates"]["voting_open_on"] == "2026-05-01" and body["dates"]["results_on"] is None
    assert body["timezone"] == "Europe/Madrid"
    assert body["moments"]["voting_open_at"] == "2026-05-01T00:30:00+02:00" and body["moments"]["results_at"] is None
    assert [(d["name"], d["budget"]) for d in body["districts"]] == [("North", eur(30_000)), ("South", eur(20_050))]
    assert [c["name"] for c in body["categories"]] == ["Green spaces"]
    assert body["total_budget"] == eur(50_050) and body["created_at"].endswith("Z")


@pytest.mark.parametrize(
    "url", ["/api/v1/cycles/{draft}", "/api/v1/cycles/{draft}/projects", "/api/v1/cycles/{draft}/results",
            "/api/v1/cycles/999999", "/api/v1/cycles/999999/projects", "/api/v1/cycles/999999/results",
            "/api/v1/projects/999999", "/api/v1/projects/{draft_project}"],
)
def test_drafts_and_unknown_ids_are_a_json_404(client, make_cycle, make_project, url):
    draft = make_cycle(Phase.DRAFT)
    draft_project = make_project(draft)
    body = get_json(client, url.format(draft=draft.id, draft_project=draft_project.id), 404)
    assert body["status"] == 404 and body["error"].startswith("There is no such")


# --- projects ---


def test_projects_are_the_accepted_proposals_only_without_their_authors(client, counted_cycle):
    cycle_id, projects, hidden = counted_cycle
    set_phase(cycle_id, Phase.VOTING)
    response = client.get(f"/api/v1/cycles/{cycle_id}/projects")
    body = response.get_json()
    assert [item["id"] for item in body["items"]] == sorted(projects.values()) and body["total"] == 3
    swings = next(item for item in body["items"] if item["id"] == projects["swings"])
    assert swings["cost"] == eur(20_000) and swings["district"]["name"] == "North"
    assert swings["category"]["name"] == "Green spaces" and swings["result"] is None
    assert swings["moderator_note"] == "Cost checked with the parks team."
    text = response.get_data(as_text=True)
    assert "Hidden" not in text and "author" not in text and "@example.org" not in text and "User " not in text
    for proposal_id in hidden:
        get_json(client, f"/api/v1/projects/{proposal_id}", 404)


def test_projects_can_be_narrowed_to_one_district(client, counted_cycle, make_cycle):
    cycle_id, projects, _ = counted_cycle
    north, south = db.session.get(Cycle, cycle_id).districts
    body = get_json(client, f"/api/v1/cycles/{cycle_id}/projects?district={south.id}")
    assert [item["id"] for item in body["items"]] == [projects["trees"]]
    paged = get_json(client, f"/api/v1/cycles/{cycle_id}/projects?district={north.id}&per_page=1")
    assert paged["total"] == 2
    assert paged["links"]["next"] == f"/api/v1/cycles/{cycle_id}/projects?district={north.id}&page=2&per_page=1"
    elsewhere = make_cycle(Phase.VOTING).districts[0]
    assert get_json(client, f"/api/v1/cycles/{cycle_id}/projects?district={elsewhere.id}", 404)["error"]
    assert get_json(client, f"/api/v1/cycles/{cycle_id}/projects?district=0", 404)["error"]


def test_one_project(client, counted_cycle):
    cycle_id, projects, _ = counted_cycle
    body = get_json(client, f"/api/v1/projects/{projects['trees']}")
    assert body["title"] == "Trees" and body["cycle_id"] == cycle_id and body["district"]["name"] == "South"
    assert body["estimated_cost"] == eur(10_000) and body["result"] is None


# --- where a project is, its photos and documents, and how much it is discussed and supported ---


def _comment(project, author, **overrides) -> Comment:
    comment = Comment(**{"proposal_id": project.id, "author_id": author.id, "body": "A comment.", **overrides})
    db.session.add(comment)
    db.session.commit()
    return comment


@pytest.fixture
def rich_project(make_user, make_cycle, make_project):
    """A project on the open ballot with a point, an address, two photos, a document and a discussion."""
    moderator = make_user(Role.MODERATOR)
    cycle = make_cycle(Phase.VOTING)
    project = make_project(cycle, title="Shade trees", location="Market Square", latitude=52.2297, longitude=21.0122)
    first = media.add_photo(moderator, project.id, images.png((1200, 900)), "Twelve trees around the fountain")
    second = media.add_photo(moderator, project.id, images.png(), "The square today")
    plan = media.add_document(moderator, project.id, images.pdf(), "Planting plan", "plan.pdf")
    resident, other = make_user(), make_user()
    thread = _comment(project, resident)
    _comment(project, other, parent_id=thread.id)  # a reply counts
    _comment(project, other, body="", deleted_at=datetime(2026, 3, 1))  # deleted by its author
    _comment(project, other, hidden_at=datetime(2026, 3, 1), hidden_reason="Insult", hidden_by_id=moderator.id)
    return cycle, project, (first.id, second.id), plan.id


def test_a_project_shows_its_place_photos_documents_and_readable_comments(client, rich_project):
    cycle, project, (first, second), plan = rich_project
    for body in (get_json(client, f"/api/v1/projects/{project.id}"),
                 get_json(client, f"/api/v1/cycles/{cycle.id}/projects")["items"][0]):
        assert (body["latitude"], body["longitude"]) == (52.2297, 21.0122)
        assert body["address"] == body["location"] == "Market Square"
        assert body["photos"] == [
            {"url": f"/photos/{first}/medium", "alt": "Twelve trees around the fountain"},
            {"url": f"/photos/{second}/medium", "alt": "The square today"},
        ]
        assert body["documents"] == [{"url": f"/documents/{plan}", "title": "Planting plan"}]
        assert body["comments"] == 2  # the comment and its reply; not the deleted one, nor the hidden one
        assert "supports" not in body  # this cycle has no supports phase
    photo = client.get(f"/photos/{first}/medium")
    assert photo.status_code == 200 and photo.mimetype == "image/webp"
    assert client.get(f"/documents/{plan}").mimetype == "application/pdf"


def test_a_project_without_a_place_or_media_says_so(client, make_cycle, make_project):
    cycle = make_cycle(Phase.VOTING)
    project = make_project(cycle)
    body = get_json(client, f"/api/v1/projects/{project.id}")
    assert body["latitude"] is None and body["longitude"] is None and body["address"] == ""
    assert body["photos"] == [] and body["documents"] == [] and body["comments"] == 0


def test_a_withdrawn_proposals_photos_and_documents_are_never_listed(client, rich_project):
    cycle, project, (first, _), plan = rich_project
    project.status = ProposalStatus.WITHDRAWN
    db.session.commit()
    get_json(client, f"/api/v1/projects/{project.id}", 404)
    listed = client.get(f"/api/v1/cycles/{cycle.id}/projects").get_data(as_text=True)
    assert "/photos/" not in listed and "/documents/" not in listed and "Planting plan" not in listed
    assert client.get(f"/photos/{first}/medium").status_code == 404


def test_supports_are_counted_only_in_cycles_with_a_supports_phase(client, make_user, make_cycle, make_project):
    cycle = make_cycle(Phase.REVIEW, has_supports_phase=True)
    supported, unsupported = make_project(cycle), make_project(cycle)
    for _ in range(3):
        db.session.add(Support(proposal_id=supported.id, user_id=make_user().id, cycle_id=cycle.id,
                               district_id=supported.district_id))
    db.session.commit()
    items = get_json(client, f"/api/v1/cycles/{cycle.id}/projects")["items"]
    assert {item["id"]: item["supports"] for item in items} == {supported.id: 3, unsupported.id: 0}
    assert get_json(client, f"/api/v1/projects/{supported.id}")["supports"] == 3


@contextlib.contextmanager
def _statements():
    sent: list[str] = []

    def record(conn, cursor, statement, *args):
        sent.append(statement)

    event.listen(db.engine, "before_cursor_execute", record)
    try:
        yield sent
    finally:
        event.remove(db.engine, "before_cursor_execute", record)


def test_a_page_of_projects_takes_the_same_queries_however_many_photos_documents_and_comments(
    client, make_user, make_cycle, make_project
):
    moderator, resident = make_user(Role.MODERATOR), make_user()
    cycle = make_cycle(Phase.VOTING, has_supports_phase=True)

    def add_projects(count: int) -> None:
        for _ in range(count):
            project = make_project(cycle, latitude=52.2, longitude=21.0)
            media.add_photo(moderator, project.id, images.png(), "A photo")
            media.add_document(moderator, project.id, images.pdf(), "A plan", "plan.pdf")
            _comment(project, resident)

    def statements_for_the_page() -> int:
        db.session.expire_all()
        with _statements() as sent:
            assert client.get(f"/api/v1/cycles/{cycle.id}/projects").status_code == 200
        return len(sent)

    add_projects(1)
    one = statements_for_the_page()
    add_projects(6)
    assert statements_for_the_page() == one


# --- errors, methods, CORS, description ---


@pytest.mark.parametrize(
    ("url", "status"),
    [
        ("/api/v1/nothing-here", 404),
        ("/api/v1/cycles/abc", 404),
        ("/api/v1/cycles/-1/projects", 404),
        ("/api/v1/cycles?page=%00", 400),
    ],
)
def test_every_refusal_in_the_api_is_json(client, url, status):
    response = client.get(url)
    assert response.status_code == status
    assert response.mimetype == "application/json" and response.get_json()["status"] == status
    assert response.headers["Access-Control-Allow-Origin"] == "*"


@pytest.mark.parametrize("method", ["POST", "PUT", "PATCH", "DELETE"])
def test_the_api_is_read_only(client, make_cycle, method):
    cycle = make_cycle(Phase.VOTING)
    for url in ("/api/v1/", "/api/v1/cycles", f"/api/v1/cycles/{cycle.id}", f"/api/v1/cycles/{cycle.id}/projects"):
        response = client.open(url, method=method)
        assert response.status_code == 405, url
        assert response.mimetype == "application/json" and response.get_json()["status"] == 405, url
        assert "GET" in response.headers["Allow"] and response.headers["Access-Control-Allow-Origin"] == "*"


def test_any_origin_may_read_and_preflight(client, make_cycle):
    make_cycle(Phase.VOTING)
    response = client.get("/api/v1/cycles", headers={"Origin": "https://newsroom.example"})
    assert response.headers["Access-Control-Allow-Origin"] == "*"
    preflight = client.options("/api/v1/cycles", headers={"Origin": "https://newsroom.example",
                                                          "Access-Control-Request-Method": "GET"})
    assert preflight.status_code == 200
    assert preflight.headers["Access-Control-Allow-Origin"] == "*"
    assert "GET" in preflight.headers["Access-Control-Allow-Methods"]
    assert "Access-Control-Allow-Origin" not in client.get("/").headers  # only the API is opened to other sites


def test_the_index_points_to_the_description(client):
    body = get_json(client, "/api/v1/")
    assert body["openapi"] == "/api/v1/openapi.json" and body["cycles"] == "/api/v1/cycles"
    assert client.get("/api/v1").status_code == 200


def _described_paths(app) -> dict[str, set[str]]:
    routes: dict[str, set[str]] = {}
    for rule in app.url_map.iter_rules():
        if rule.rule.startswith("/api/v1") and rule.endpoint != "api.unknown":
            path = re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", rule.rule.removeprefix("/api/v1"))
            routes.setdefault(path, set()).update(m.lower() for m in rule.methods - {"HEAD", "OPTIONS"})
    return routes


def test_the_description_covers_every_route_and_only_real_ones(app, client):
    served = get_json(client, "/api/v1/openapi.json")
    assert served["openapi"].startswith("3.1") and served == SPEC
    routes = _described_paths(app)
    assert {path: set(operations) for path, operations in SPEC["paths"].items()} == routes
    for path, operations in SPEC["paths"].items():
        declared = {p["name"] for p in operations["get"].get("parameters", []) if p["in"] == "path"}
        assert declared == set(re.findall(r"\{(\w+)\}", path)), path


def test_every_reference_in_the_description_resolves():
    def refs(value):
        if isinstance(value, dict):
            yield from ([value["$ref"]] if "$ref" in value else [])
            for item in value.values():
                yield from refs(item)
        elif isinstance(value, list):
            for item in value:
                yield from refs(item)

    found = set(refs(SPEC))
    assert found and all(ref.startswith("#/components/schemas/") for ref in found)
    assert {ref.rsplit("/", 1)[1] for ref in found} <= set(SPEC["components"]["schemas"])


def test_the_schema_checker_refuses_undocumented_and_missing_fields():
    error = {"$ref": "#/components/schemas/Error"}
    conforms({"error": "x", "status": 404}, error)
    with pytest.raises(AssertionError, match="undocumented field 'votes'"):
        conforms({"error": "x", "status": 404, "votes": 3}, error)
    with pytest.raises(AssertionError, match="missing"):
        conforms({"error": "x"}, error)
