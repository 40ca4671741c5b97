"""The online ballot of each design: casting, changing, and every kind of invalid ballot refused with its reason."""

import html
import json
import re

import pytest

from pb.domain.cycle import Phase
from pb.extensions import db
from pb.models import Category
from pb.services import voting
from tests.conftest import sealed_ballots

# Each design as a city might set it; the category limit (filled in by the fixture) allows one project in Streets.
DESIGNS = {
    "knapsack": {"ballot_design": "knapsack", "settings": {"min_spend_percent": 20}},
    "approval": {"ballot_design": "approval", "settings": {}, "max_projects": 2},
    "cumulative": {"ballot_design": "cumulative", "settings": {"points": 10, "max_points_per_project": 6}},
    "ranking": {"ballot_design": "ranking", "settings": {}, "max_projects": 2},
}


@pytest.fixture
def election(client, make_user, make_cycle, make_project, verify):
    """A cycle of the given design open for voting in North (500 EUR), three projects (one in Streets), a voter."""

    def build(design: str) -> dict:
        spec = DESIGNS[design]
        cycle = make_cycle(Phase.VOTING, districts=(("North", 50_000),), ballot_design=spec["ballot_design"],
                           max_projects=spec.get("max_projects"))
        streets = Category(cycle=cycle, name="Streets")
        db.session.add(streets)
        db.session.commit()
        settings = dict(spec["settings"], category_limits=[{"category_id": streets.id, "max_projects": 1}])
        cycle.ballot_settings = json.dumps(settings)
        db.session.commit()
        district = cycle.districts[0]
        projects = {
            "swings": make_project(cycle, cost=20_000, title="Swings"),
            "trees": make_project(cycle, cost=25_000, title="Trees"),
            "benches": make_project(cycle, cost=5_000, title="Park benches", category=streets),
            "lights": make_project(cycle, cost=5_000, title="Street lights", category=streets),
        }
        voter = make_user()
        verify(voter, district)
        client.login(voter)
        return {"url": f"/cycles/{cycle.id}/vote/{district.id}", "voter": voter, "cycle": cycle.id,
                "district": district.id, "ids": {name: project.id for name, project in projects.items()}}

    return build


def _form(design: str, ids: dict[str, int], values: dict[str, object], version: str | None = None) -> dict:
    """The form a browser sends for `values` (project name -> value) on a design's ballot."""
    if design in ("knapsack", "approval"):
        form: dict = {"project": [str(ids[name]) for name in values]}
    else:
        prefix = "points-" if design == "cumulative" else "rank-"
        form = {f"{prefix}{project_id}": "" for project_id in ids.values()}  # every field is sent, most empty
        form.update({f"{prefix}{ids[name]}": str(value) for name, value in values.items()})
    if version is not None:
        form["version"] = version
    return form


def _stored(election) -> dict[int, int] | None:
    db.session.expire_all()
    own = voting.stored_ballot(election["voter"], election["cycle"], election["district"])
    return None if own is None else own.values


def _text(response) -> str:
    return html.unescape(response.get_data(as_text=True))


VALID = {  # a first ballot, its change, and the stored ballot in words after the change
    "knapsack": ({"swings": 1, "benches": 1}, {"trees": 1, "lights": 1}, ["Street lights", "Trees"]),
    "approval": ({"swings": 1, "trees": 1}, {"benches": 1}, ["Park benches"]),
    "cumulative": ({"swings": 6, "trees": 4}, {"trees": 3, "benches": 5},
                   ["5 points: Park benches", "3 points: Trees"]),
    "ranking": ({"trees": 1, "swings": 2}, {"benches": 1, "trees": 2}, ["1st: Park benches", "2nd: Trees"]),
}


@pytest.mark.parametrize("design", list(DESIGNS))
def test_a_ballot_of_each_design_is_cast_changed_and_shown_in_words(client, election, design):
    world = election(design)
    ids, url = world["ids"], world["url"]
    page = _text(client.get(url))
    assert "In Streets: at most 1 project." in page  # the cycle page's sentences (pb.domain.ballot_words)
    assert "Cast my ballot" in page and 'aria-live="polite"' in page
    first, second, words = VALID[design]
    response = client.submit(url, _form(design, ids, first, "0"))
    assert response.status_code == 302 and response.headers["Location"].endswith(url)
    assert _stored(world) == {ids[name]: value for name, value in first.items()}
    response = client.submit(url, _form(design, ids, second, "1"), follow_redirects=True)
    page = _text(response)
    assert response.status_code == 200 and "Your ballot is changed." in page
    assert _stored(world) == {ids[name]: value for name, value in second.items()}
    stored = re.search(r'<ul id="stored-ballot">(.*?)</ul>', page, re.S).group(1)
    assert re.findall(r"<li>(.*?)</li>", stored) == words
    assert re.search(r'class="receipt-code">[A-Z0-9-]{14}<', page)
    # The form is filled in with the stored ballot.
    for name, value in second.items():
        if design in ("knapsack", "approval"):
            assert re.search(rf'value="{ids[name]}"[^>]*checked', page)
        elif design == "cumulative":
            assert re.search(rf'name="points-{ids[name]}"[^>]*value="{value}"', page, re.S)
        else:
            select = re.search(rf'name="rank-{ids[name]}".*?</select>', page, re.S).group(0)
            assert re.search(rf'<option value="{value}" selected>', select)


def test_the_design_is_explained_in_the_cycle_page_sentences_with_the_live_summary(client, election):
    page = _text(client.get(election("cumulative")["url"]))
    assert "<li>Spread 10 points among the projects, at most 6 on one.</li>" in page
    assert "Points left:" in page and "<strong data-left>10</strong>" in page
    assert re.search(r'<label for="points-\d+" class="title">Swings</label>', page)
    assert re.search(r'<input type="number" name="points-\d+" id="points-\d+" min="0"\s+max="6"', page)


def test_ranking_offers_not_ranked_then_each_rank(client, election):
    world = election("ranking")
    page = _text(client.get(world["url"]))
    select = re.search(rf'<select name="rank-{world["ids"]["swings"]}".*?</select>', page, re.S).group(0)
    assert re.findall(r'<option value="(\d*)"', select) == ["", "1", "2"]
    assert "Not ranked" in select and ">2nd<" in select
    assert "Rank up to 2 projects: the first scores 2 points, the last 1." in page and "Ranks used:" in page


def test_knapsack_shows_the_money_bar_and_the_minimum_spend(client, election):
    page = _text(client.get(election("knapsack")["url"]))
    assert "Choose projects costing up to 500 EUR in all, spending at least 20%." in page
    assert "Left: <strong data-left>500 EUR" in page and "<meter" in page


def test_approval_counts_projects_against_the_maximum(client, election):
    world = election("approval")
    page = _text(client.get(world["url"]))
    assert "Choose up to 2 projects, whatever they cost." in page
    assert "<strong data-count>0</strong> of at most 2 projects chosen" in page


INVALID = [
    ("cumulative", {"swings": 6, "trees": 5}, ["You gave 11 points, 1 more than the 10 you have."]),
    ("cumulative", {"swings": 7}, ["At most 6 points may go to one project."]),
    ("cumulative", {"benches": 2, "lights": 2}, ["At most 1 project may be chosen in Streets (you chose 2)."]),
    ("cumulative", {"swings": "abc"}, ["Points are whole numbers of 0 or more."]),
    ("cumulative", {"swings": "-3"}, ["Points are whole numbers of 0 or more."]),
    ("cumulative", {"swings": "99999999999999"}, ["Points are whole numbers of 0 or more."]),
    ("cumulative", {"swings": "999999999"}, ["At most 6 points may go to one project.",
                                             "You gave 999,999,999 points, 999,999,989 more than the 10 you have."]),
    ("cumulative", {}, ["Give points to at least one project."]),
    ("ranking", {"swings": 1, "trees": 1}, ["Two projects share rank 1; give each rank to one project."]),
    ("ranking", {"swings": 2}, ["Rank 1 is missing: number your choices 1, 2, 3 and so on without gaps."]),
    ("ranking", {"swings": 1, "trees": 2, "benches": 3}, ["Rank at most 2 projects (you ranked 3)."]),
    ("ranking", {"benches": 1, "lights": 2}, ["At most 1 project may be chosen in Streets (you chose 2)."]),
    ("ranking", {"swings": "first"}, ["Ranks are whole numbers from 1."]),
    ("approval", {"swings": 1, "trees": 1, "benches": 1}, ["Choose at most 2 projects (you chose 3)."]),
    ("approval", {"benches": 1, "lights": 1}, ["At most 1 project may be chosen in Streets (you chose 2)."]),
    ("knapsack", {"benches": 1},
     ["Your choices cost 50 EUR; a ballot must spend at least 100 EUR (20% of the budget)."]),
    ("knapsack", {"swings": 1, "trees": 1, "benches": 1, "lights": 1},
     ["Your choices cost 550 EUR, 50 EUR more than the budget of 500 EUR.",
      "At most 1 project may be chosen in Streets (you chose 2)."]),
]


@pytest.mark.parametrize(("design", "values", "messages"), INVALID,
                         ids=[f"{design}-{index}" for index, (design, _, _) in enumerate(INVALID)])
def test_an_invalid_ballot_is_refused_with_every_problem_and_shown_again(client, election, design, values, messages):
    world = election(design)
    response = client.submit(world["url"], _form(design, world["ids"], values, "0"))
    page = _text(response)
    assert response.status_code == 400
    problems = re.search(r'<div class="message error" role="alert" id="ballot-problems">.*?</div>', page, re.S).group(0)
    assert re.findall(r"<li>(.*?)</li>", problems) == messages
    assert _stored(world) is None and sealed_ballots() == []
    # What the voter submitted is shown again, as far as it reads as a ballot.
    for name, value in values.items():
        project_id = world["ids"][name]
        if design in ("knapsack", "approval"):
            assert re.search(rf'value="{project_id}"[^>]*checked', page)
        elif design == "cumulative" and str(value).isdigit() and len(str(value)) <= 9:
            assert re.search(rf'name="points-{project_id}"[^>]*value="{value}"', page, re.S)
        elif design == "ranking" and str(value).isdigit():
            select = re.search(rf'name="rank-{project_id}".*?</select>', page, re.S).group(0)
            assert f'<option value="{value}" selected>' in select


@pytest.mark.parametrize("design", list(DESIGNS))
def test_unknown_projects_in_field_names_are_refused_and_change_nothing(client, election, design):
    world = election(design)
    ids, url = world["ids"], world["url"]
    first = VALID[design][0]
    assert client.submit(url, _form(design, ids, first, "0")).status_code == 302
    for field in ("999999", "abc", "-4"):
        form = _form(design, ids, {}, "1")
        if design in ("knapsack", "approval"):
            form["project"] = [str(ids["swings"]), field]
        else:
            prefix = "points-" if design == "cumulative" else "rank-"
            form[f"{prefix}{ids['swings']}"] = "1"
            form[f"{prefix}{field}"] = "1"
        response = client.submit(url, form)
        assert response.status_code == 400, field
        assert "Some choices are not projects on this ballot; reload the page and choose again." in _text(response)
        assert _stored(world) == {ids[name]: value for name, value in first.items()}


def test_a_refused_ballot_shows_again_every_field_that_could_be_read(client, election):
    world = election("cumulative")
    ids, url = world["ids"], world["url"]
    form = _form("cumulative", ids, {"swings": 3}, "0")
    form[f"points-{ids['trees']}"] = "lots"
    response = client.submit(url, form)
    page = _text(response)
    assert response.status_code == 400 and "Points are whole numbers of 0 or more." in page
    assert re.search(rf'name="points-{ids["swings"]}"[^>]*value="3"', page, re.S)
