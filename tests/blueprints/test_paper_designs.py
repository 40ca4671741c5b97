"""The paper pages for every ballot design: the sheet entry form (the online ballot's field names, its rules, refusals
that keep what was typed) and the blank ballot to print."""

import html
import io

import pytest
from pypdf import PdfReader
from sqlalchemy import func, select

from pb.domain.cycle import Phase
from pb.extensions import db
from pb.models import Ballot, PaperEntry, PaperSheet, Role

DESIGNS = {
    "knapsack": {"ballot_design": "knapsack", "max_projects": 2},
    "approval": {"ballot_design": "approval", "max_projects": 2},
    "cumulative": {"ballot_design": "cumulative", "ballot_settings": '{"points": 10, "max_points_per_project": 6}'},
    "ranking": {"ballot_design": "ranking", "max_projects": 2},
}


@pytest.fixture
def world(make_user, make_cycle, make_project):
    def build(design: str, phase: Phase = Phase.VOTING):
        cycle = make_cycle(phase, **DESIGNS[design])
        north = cycle.districts[0]
        projects = [make_project(cycle, north, cost=cost, title=title)
                    for cost, title in [(60_000, "Swings"), (40_000, "Trees"), (10_000, "Bench")]]
        officials = [make_user(Role.OFFICIAL, name=name) for name in ("Olga", "Pieter")]
        return cycle, north, projects, officials

    return build


def _count(model, *where) -> int:
    return db.session.scalar(select(func.count()).select_from(model).where(*where))


def _text(response) -> str:
    return html.unescape(response.get_data(as_text=True))


def _fields(design: str, values: dict) -> dict:
    """The form fields a sheet of `design` sends: project id -> value (ticks: any value)."""
    if design in ("knapsack", "approval"):
        return {"project": [str(project_id) for project_id in values]}
    prefix = "points-" if design == "cumulative" else "rank-"
    return {f"{prefix}{project_id}": str(value) for project_id, value in values.items()}


def _enter(client, north, number, fields, path="sheets"):
    return client.submit(f"/paper/districts/{north.id}/{path}",
                         {"polling_station": "Library", "number": str(number), **fields})


PAPER = {  # what the sheet shows (by project index), what the counted ballot keeps
    "knapsack": ({1: 1, 2: 1}, {1: None, 2: None}),
    "approval": ({0: 1, 1: 1}, {0: None, 1: None}),
    "cumulative": ({0: 6, 2: 4}, {0: 6, 2: 4}),
    "ranking": ({2: 1, 0: 2}, {2: 1, 0: 2}),
}
INPUTS = {
    "knapsack": 'type="checkbox" name="project" value="{id}"',
    "approval": 'type="checkbox" name="project" value="{id}"',
    "cumulative": 'type="number" name="points-{id}"',
    "ranking": '<select name="rank-{id}"',
}
RULES = {
    "knapsack": "Together the projects you tick may cost at most 1,000 EUR",
    "approval": "Tick at most 2 projects.",
    "cumulative": "You have 10 points to spread among the projects.",
    "ranking": "Rank up to 2 projects",
}


@pytest.mark.parametrize("design", DESIGNS)
def test_two_officials_type_in_a_sheet_of_each_design_with_the_online_ballots_fields(design, client, world):
    cycle, north, projects, (olga, pieter) = world(design)
    shown, kept = PAPER[design]
    given = {projects[index].id: value for index, value in shown.items()}
    client.login(olga)
    page = _text(client.get(f"/paper/districts/{north.id}/sheets"))
    assert all(INPUTS[design].format(id=project.id) in page for project in projects)
    assert RULES[design] in page
    response = _enter(client, north, 7, _fields(design, given))
    assert response.status_code == 302 and _count(PaperEntry) == 1
    client.login(pieter)
    response = _enter(client, north, 7, _fields(design, given))
    assert "agrees with another official's entry and will be counted" in _text(client.get(response.location))
    ballot = db.session.scalars(select(Ballot)).one()
    assert {choice.project_id: choice.value for choice in ballot.choices} == {
        projects[index].id: value for index, value in kept.items()}


def test_the_ranking_form_offers_as_many_ranks_as_the_design_allows(client, world):
    _, north, projects, (olga, _) = world("ranking")
    client.login(olga)
    page = _text(client.get(f"/paper/districts/{north.id}/sheets"))
    assert '<option value="2" >2</option>' in page and '<option value="3"' not in page
    assert page.count("Not ranked") == 3


@pytest.mark.parametrize("design, fields, problem", [
    ("cumulative", {0: "7"}, "At most 6 points may go to one project."),
    ("cumulative", {0: "6", 1: "5"}, "You gave 11 points, 1 more than the 10 you have."),
    ("ranking", {0: "1", 1: "1"}, "Two projects share rank 1; give each rank to one project."),
    ("ranking", {0: "2"}, "Rank 1 is missing"),
    ("approval", {0: "1", 1: "1", 2: "1"}, "Choose at most 2 projects (you chose 3)."),
    ("knapsack", {0: "1", 1: "1", 2: "1"}, "Your choices cost 1,100 EUR"),
])
def test_a_sheet_that_breaks_the_rules_is_refused_showing_what_was_typed(design, fields, problem, client, world):
    _, north, projects, (olga, _) = world(design)
    client.login(olga)
    typed = {projects[index].id: value for index, value in fields.items()}
    response = _enter(client, north, 7, _fields(design, typed))
    page = _text(response)
    assert response.status_code == 400
    assert "Sheet 7 from Library was not saved" in page and problem in page
    for project_id, value in typed.items():
        if design == "cumulative":
            assert (f'name="points-{project_id}" id="points-{project_id}" min="0" max="6" step="1" '
                    f'inputmode="numeric" value="{value}"') in page
        elif design == "ranking":
            assert f'<option value="{value}" selected>' in page
        else:
            assert f'value="{project_id}" id="project-{project_id}" checked' in page
    assert (_count(PaperSheet), _count(PaperEntry), _count(Ballot)) == (0, 0, 0)


@pytest.mark.parametrize("design, name, value, problem", [
    ("cumulative", "points-{id}", "three", "Points are whole numbers of 0 or more."),
    ("cumulative", "points-{id}", "-2", "Points are whole numbers of 0 or more."),
    ("cumulative", "points-{id}", "99999999999999999999999", "Points are whole numbers of 0 or more."),
    ("cumulative", "points-{id}", "1.5", "Points are whole numbers of 0 or more."),
    ("cumulative", "points-abc", "2", "Some choices are not projects on this ballot"),
    ("cumulative", "points-999999", "2", "Some choices are not projects on this ballot"),
    ("ranking", "rank-{id}", "first", "Ranks are whole numbers from 1."),
    ("ranking", "rank-{id}", "0", "Rank at least one project."),  # 0: not ranked
    ("ranking", "rank-{id}", "99999999999999999999999", "Ranks are whole numbers from 1."),
    ("approval", "project", "x", "Some choices are not projects on this ballot"),
    ("knapsack", "project", "999999", "Some choices are not projects on this ballot"),
])
def test_bad_input_in_a_sheet_is_refused_clearly_and_kept_on_the_page(design, name, value, problem, client, world):
    _, north, projects, (olga, _) = world(design)
    client.login(olga)
    field = name.format(id=projects[0].id)
    response = _enter(client, north, 7, {field: value})
    page = _text(response)
    assert response.status_code == 400 and problem in page
    if field == f"points-{projects[0].id}":
        assert f'value="{value[:20]}"' in page  # the official sees what they typed, to correct it
    assert (_count(PaperSheet), _count(PaperEntry)) == (0, 0)


def test_a_spoilt_sheet_is_recorded_without_reading_what_is_typed_beside_it(client, world):
    _, north, projects, (olga, pieter) = world("cumulative")
    for official in (olga, pieter):
        client.login(official)
        _enter(client, north, 7, {f"points-{projects[0].id}": "lots", "is_spoilt": "y"})
    assert db.session.scalars(select(PaperSheet)).one().status == "spoilt"
    assert [entry.choices for entry in db.session.scalars(select(PaperEntry))] == ["[]", "[]"]
    assert _count(Ballot) == 0


@pytest.mark.parametrize("design", ["cumulative", "ranking"])
def test_a_disagreement_shows_both_entries_values_and_the_correction_form_holds_mine(design, client, world):
    cycle, north, (swings, trees, bench), (olga, pieter) = world(design)
    mine, theirs = ({swings.id: 6, bench.id: 4}, {swings.id: 5, bench.id: 4}) if design == "cumulative" else (
        {bench.id: 1, swings.id: 2}, {swings.id: 1, bench.id: 2})
    client.login(olga)
    _enter(client, north, 7, _fields(design, mine))
    client.login(pieter)
    _enter(client, north, 7, _fields(design, theirs))
    overview = _text(client.get(f"/paper/cycles/{cycle.id}"))
    if design == "cumulative":
        assert "Olga: Swings: 6 points; Bench: 4 points" in " ".join(overview.split())
        assert "Pieter: Swings: 5 points; Bench: 4 points" in " ".join(overview.split())
    else:
        assert "Olga: 1. Bench; 2. Swings" in " ".join(overview.split())
        assert "Pieter: 1. Swings; 2. Bench" in " ".join(overview.split())
    page = _text(client.get(f"/paper/districts/{north.id}/sheets/correct?station=Library&number=7"))
    if design == "cumulative":
        assert f'name="points-{swings.id}" id="points-{swings.id}" min="0" max="6" step="1" inputmode="numeric" ' \
               'value="5"' in page
        assert f'name="points-{trees.id}" id="points-{trees.id}" min="0" max="6" step="1" inputmode="numeric" ' \
               'value=""' in page
    else:
        assert page.count('<option value="1" selected>') == 1 and page.count('<option value="2" selected>') == 1
    response = _enter(client, north, 7, _fields(design, mine), path="sheets/correct")
    assert response.location == f"/paper/cycles/{cycle.id}"
    ballot = db.session.scalars(select(Ballot)).one()
    assert {choice.project_id: choice.value for choice in ballot.choices} == mine


# --- the blank ballot ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("design", DESIGNS)
def test_an_official_downloads_the_blank_ballot_linked_from_the_paper_overview(design, client, world):
    cycle, north, projects, (olga, _) = world(design)
    client.login(olga)
    address = f"/paper/districts/{north.id}/blank-ballot.pdf"
    assert address in client.get(f"/paper/cycles/{cycle.id}").get_data(as_text=True)
    response = client.get(address)
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    assert f'pb-blank-ballot-cycle-{cycle.id}-district-{north.id}.pdf' in response.headers["Content-Disposition"]
    text = " ".join(" ".join(page.extract_text() for page in PdfReader(io.BytesIO(response.data)).pages).split())
    assert all(project.title in text for project in projects)
    assert RULES[design] in text and cycle.name in text and "North" in text


def test_the_blank_ballot_is_refused_with_a_reason_before_the_project_list_is_final(client, world):
    cycle, north, _, (olga, _) = world("ranking", Phase.REVIEW)
    client.login(olga)
    response = client.get(f"/paper/districts/{north.id}/blank-ballot.pdf")
    assert response.status_code == 302 and response.location == f"/admin/cycles/{cycle.id}"
    assert "Blank paper ballots can only be printed once the project list is final" in _text(
        client.get(response.location))


def test_the_blank_ballot_is_for_officials(client, world, make_user):
    _, north, _, _ = world("approval")
    client.login(make_user(Role.MODERATOR))
    assert client.get(f"/paper/districts/{north.id}/blank-ballot.pdf").status_code == 403
    assert client.get("/paper/districts/999999/blank-ballot.pdf").status_code in (403, 404)
