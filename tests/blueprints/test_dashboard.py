"""The officials' dashboard page: turnout, verification and paper sheets, and never a per-project number."""

import html
import re

import pytest

from pb.domain.cycle import Phase
from pb.extensions import db
from pb.models import PaperSheet, Role
from pb.services import tallying
from tests.conftest import close_voting

_TOKENS = re.compile(r'name="csrf_token"[^>]*value="[^"]*"')


@pytest.fixture
def world(app, make_user, make_cycle, make_project, verify):
    official = make_user(Role.OFFICIAL)
    cycle = make_cycle(Phase.VOTING, districts=(("North", 100_000), ("South", 50_000)))
    north, south = cycle.districts
    # Unusual costs and titles, so any leak of a project's name, cost or id would show in the page.
    projects = [make_project(cycle, north, cost=cost, title=title)
                for cost, title in [(31_700, "Zephyr fountain"), (23_900, "Quokka mural"), (17_300, "Yurt library")]]
    voters = [make_user() for _ in range(7)]
    for voter in voters[:5]:
        verify(voter, north)
    for voter in voters[5:]:
        verify(voter, south)
    return official, cycle, projects, voters


def _vote(app, cycle, voter, projects):
    client = app.test_client()
    client.login(voter)
    response = client.submit(f"/cycles/{cycle.id}/vote/{cycle.districts[0].id}", {"project": [str(p.id) for p in projects]})
    assert response.status_code == 302


def _page(client, cycle) -> str:
    response = client.get(f"/admin/cycles/{cycle.id}/dashboard")
    assert response.status_code == 200
    return _TOKENS.sub("", html.unescape(response.get_data(as_text=True)))


def _assert_no_project_shows(page, projects):
    for project in projects:
        assert project.title not in page
        assert f"/proposals/{project.id}" not in page
        assert "317" not in page and "239" not in page and "173" not in page  # no cost either
    assert ">Votes<" not in page and "funded" not in page.lower()


def test_turnout_verification_and_paper_are_shown(client, app, world):
    official, cycle, projects, voters = world
    for voter in voters[:3]:
        _vote(app, cycle, voter, projects[:1])
    db.session.add(PaperSheet(cycle_id=cycle.id, district_id=cycle.districts[0].id, polling_station="Town hall",
                              number=1, status="pending"))
    db.session.commit()
    client.login(official)
    admin_page = client.get(f"/admin/cycles/{cycle.id}").get_data(as_text=True)
    assert f"/admin/cycles/{cycle.id}/dashboard" in admin_page
    page = _page(client, cycle)
    assert "3 (3 online, 0 on paper)" in page  # voted
    assert re.search(r"<td>North</td><td class=\"number\">5</td><td class=\"number\">3</td><td class=\"number\">0</td>"
                     r"<td class=\"number\">3</td><td class=\"number\">60 %</td>", page)
    assert "Paper sheets not agreed yet</dt><dd>1" in page
    assert "Turnout by day" in page and "Nobody has voted yet" not in page


def test_no_per_project_number_appears_before_publication(client, app, world):
    official, cycle, projects, voters = world
    zephyr, quokka, yurt = projects
    # Five North voters: Zephyr 5, Quokka 4, Yurt 1 votes.
    choices = [[zephyr, quokka], [zephyr, quokka], [zephyr, quokka], [zephyr, quokka], [zephyr, yurt]]
    for voter, chosen in zip(voters, choices, strict=False):
        _vote(app, cycle, voter, chosen)
    client.login(official)
    client.get("/")  # shows (and so clears) the welcome message
    during_voting = _page(client, cycle)
    _assert_no_project_shows(during_voting, projects)

    # The same voters change their minds completely (Yurt 5, Quokka 1, Zephyr 0): turnout is unchanged, and so
    # must be every character of the dashboard, or it depends on what people chose.
    for voter, chosen in zip(voters, [[yurt], [yurt], [yurt], [yurt], [yurt, quokka]], strict=False):
        _vote(app, cycle, voter, chosen)
    assert _page(client, cycle) == during_voting

    # Counted but not published: the stored count must not reach the dashboard either.
    close_voting(cycle)
    before_count = _page(client, cycle)
    tallying.run_tally(official, cycle.id)
    after_count = _page(client, cycle)
    assert after_count == before_count
    _assert_no_project_shows(after_count, projects)


def test_an_unknown_cycle_is_a_404(client, world):
    official, *_ = world
    client.login(official)
    assert client.get("/admin/cycles/999999/dashboard").status_code == 404


@pytest.mark.parametrize("role", [Role.RESIDENT, Role.MODERATOR])
def test_only_officials_see_the_dashboard(client, world, make_user, role):
    _, cycle, _, _ = world
    client.login(make_user(role))
    assert client.get(f"/admin/cycles/{cycle.id}/dashboard").status_code == 403


def test_the_verification_line_is_in_the_readers_language(client, world, make_user):
    """Regression: the ways residents were verified were printed as the service's English labels, untranslated."""
    official, cycle, _, _ = world
    client.login(official)
    english = _page(client, cycle)
    assert "7 residents verified in person by a moderator or an official" in english
    spanish = client.get(f"/admin/cycles/{cycle.id}/dashboard", headers={"Accept-Language": "es"})
    page = html.unescape(spanish.get_data(as_text=True))
    assert '<html lang="es">' in page
    assert "en persona por un moderador o un responsable municipal" in page  # the label, from the catalogue
    assert "in person by a moderator or an official" not in page


def test_the_verification_counts_are_two_short_tables_that_fit(client, world):
    """Regression: one eight-column table was cut off; now the register and the codes each have a short table."""
    official, cycle, _, _ = world
    client.login(official)
    page = _page(client, cycle)
    section = page[page.index("<h2>Verification</h2>"):page.index("<h2>Paper ballots</h2>")]
    tables = re.findall(r"<table>.*?</table>", section, re.S)
    assert len(tables) == 2
    assert all(len(re.findall(r'<th scope="col"', table)) <= 5 for table in tables)
    assert "<caption>Voting codes</caption>" in tables[1]
