"""The paper ballot pages: entering sheets twice, seeing disagreements, marking paper voters, the count waiting."""

import html

import pytest
from sqlalchemy import func, select

from pb.domain.cycle import Phase
from pb.extensions import db
from pb.models import Ballot, PaperEntry, PaperSheet, Participation, Role, SealedBallot, TallyRun
from pb.services import paper
from tests.conftest import close_voting


@pytest.fixture
def world(make_user, make_cycle, make_project):
    cycle = make_cycle(Phase.VOTING, max_projects=2)
    north = cycle.districts[0]
    projects = [make_project(cycle, north, cost=cost, title=title)
                for cost, title in [(60_000, "Swings"), (40_000, "Trees"), (10_000, "Bench")]]
    officials = [make_user(Role.OFFICIAL, name=name) for name in ("Olga", "Pieter", "Quinn")]
    return cycle, north, projects, officials


def _count(model, *where) -> int:
    return db.session.scalar(select(func.count()).select_from(model).where(*where))


def _enter(client, north, station, number, projects, **extra):
    data = {"polling_station": station, "number": str(number), "project": [str(p.id) for p in projects], **extra}
    return client.submit(f"/paper/districts/{north.id}/sheets", data)


def _page(client, response) -> str:
    return html.unescape(client.get(response.location).get_data(as_text=True))


def test_two_officials_agree_and_the_sheet_becomes_one_ballot(client, world):
    cycle, north, projects, (olga, pieter, _) = world
    client.login(olga)
    page = html.unescape(client.get(f"/paper/districts/{north.id}/sheets").get_data(as_text=True))
    assert "Swings" in page and "Sheet number" in page
    response = _enter(client, north, "Library", 7, projects[:1])
    assert response.status_code == 302 and response.location.startswith(f"/paper/districts/{north.id}/sheets")
    assert "counts once a different official has entered it too" in _page(client, response)
    overview = html.unescape(client.get(f"/paper/cycles/{cycle.id}").get_data(as_text=True))
    assert "Waiting for a second entry (first entered by Olga" in overview and "Swings" not in overview  # blind entry
    client.login(pieter)
    response = _enter(client, north, "Library", 7, projects[:1])
    assert "agrees with another official's entry and will be counted" in _page(client, response)
    ballot = db.session.scalars(select(Ballot)).one()
    assert [c.project_id for c in ballot.choices] == [projects[0].id]
    assert db.session.scalars(select(PaperSheet)).one().ballot_id == ballot.id


def test_the_same_official_entering_a_sheet_again_is_refused(client, world):
    _, north, projects, (olga, _, _) = world
    client.login(olga)
    _enter(client, north, "Library", 7, projects[:1])
    response = _enter(client, north, "Library", 7, projects[:1])
    assert response.status_code == 400
    assert "The second entry must come from a different official" in html.unescape(response.get_data(as_text=True))
    assert (_count(PaperEntry), _count(Ballot)) == (1, 0)


def test_a_disagreement_is_listed_with_both_entries_and_a_correction_resolves_it(client, world):
    cycle, north, projects, (olga, pieter, _) = world
    client.login(olga)
    _enter(client, north, "Library", 7, projects[:1])
    client.login(pieter)
    response = _enter(client, north, "Library", 7, projects[1:2])
    assert "does not match another official's entry" in _page(client, response)
    assert _count(Ballot) == 0
    overview = html.unescape(client.get(f"/paper/cycles/{cycle.id}").get_data(as_text=True))
    assert "The entries disagree" in overview and "Olga:" in overview and "Pieter:" in overview
    assert "Swings" in overview and "Trees" in overview
    page = client.get(f"/paper/districts/{north.id}/sheets/correct?station=Library&number=7").get_data(as_text=True)
    assert f'value="{projects[1].id}" id="project-{projects[1].id}" checked' in page
    response = client.submit(f"/paper/districts/{north.id}/sheets/correct",
                             {"polling_station": "Library", "number": "7", "project": [str(projects[0].id)]})
    assert response.location == f"/paper/cycles/{cycle.id}"
    assert "agrees with another official's entry" in _page(client, response)
    assert [c.project_id for c in db.session.scalars(select(Ballot)).one().choices] == [projects[0].id]


def test_an_invalid_sheet_is_refused_with_the_reason(client, world):
    _, north, projects, (olga, _, _) = world
    client.login(olga)
    response = _enter(client, north, "Library", 7, projects)
    page = html.unescape(response.get_data(as_text=True))
    assert response.status_code == 400
    assert "Sheet 7 from Library was not saved: Your choices cost 1,100 EUR" in page
    assert "Choose at most 2 projects (you chose 3)." in page
    assert (_count(PaperSheet), _count(PaperEntry)) == (0, 0)


def test_paper_and_online_voting_exclude_each_other(client, world, make_user, verify):
    cycle, north, projects, (olga, _, _) = world
    on_paper, online = make_user(name="Ada", email="ada@example.org"), make_user(name="Bo", email="bo@example.org")
    verify(on_paper, north)
    verify(online, north)
    client.login(online)
    client.submit(f"/cycles/{cycle.id}/vote/{north.id}", {"project": [str(projects[0].id)]})
    client.login(olga)
    assert "ada@example.org" in client.get(f"/paper/cycles/{cycle.id}/voters?q=ada").get_data(as_text=True)
    response = client.submit(f"/paper/cycles/{cycle.id}/voters?q=ada", {"user_id": on_paper.id, "district_id": north.id})
    assert response.status_code == 302 and "recorded as having voted on paper" in _page(client, response)
    response = client.submit(f"/paper/cycles/{cycle.id}/voters?q=bo", {"user_id": online.id, "district_id": north.id})
    assert "Bo has already voted online in North; they cannot also vote on paper." in _page(client, response)
    assert db.session.execute(select(Participation.user_id, Participation.channel)).all() == [(on_paper.id, "paper")]
    assert _count(SealedBallot) == 1  # Bo's: an online vote leaves no row that names the voter
    client.login(on_paper)
    response = client.submit(f"/cycles/{cycle.id}/vote/{north.id}", {"project": [str(projects[0].id)]})
    assert response.status_code == 302
    assert ("You have already voted on paper at a polling station in North; you cannot also vote online."
            in html.unescape(_page(client, response)))
    assert (_count(SealedBallot), _count(Ballot)) == (1, 0)


def test_an_official_takes_back_a_mistaken_paper_mark_from_the_voters_page(client, world, make_user, verify):
    cycle, north, projects, (olga, _, _) = world
    ada = make_user(name="Ada", email="ada@example.org")
    verify(ada, north)
    client.login(olga)
    voters = f"/paper/cycles/{cycle.id}/voters"
    client.submit(f"{voters}?q=ada", {"user_id": ada.id, "district_id": north.id})
    page = client.get(f"{voters}?q=ada").get_data(as_text=True)
    assert "Take back the mark in North" in page and f'action="{voters}/undo?q=ada"' in page
    response = client.submit(f"{voters}/undo?q=ada", {"user_id": ada.id, "district_id": north.id, "reason": ""})
    assert response.location.endswith(f"{voters}?q=ada") and "Say why the mark is taken back" in _page(client, response)
    assert _count(Participation) == 1
    response = client.submit(f"{voters}/undo?q=ada", {"user_id": ada.id, "district_id": north.id, "reason": "Wrong Ada."})
    assert "The paper-voter mark is taken back" in _page(client, response)
    assert _count(Participation) == 0
    response = client.submit(f"{voters}/undo?q=ada", {"user_id": ada.id, "district_id": north.id, "reason": "Again."})
    assert "Ada is not recorded as having voted on paper in North; nothing was changed." in _page(client, response)
    client.login(ada)
    assert client.submit(f"/cycles/{cycle.id}/vote/{north.id}", {"project": [str(projects[0].id)]}).status_code == 302
    assert (_count(Participation), _count(SealedBallot)) == (0, 1)


def test_the_count_waits_for_pending_sheets_then_includes_agreed_ones(client, world, make_user, verify):
    cycle, north, projects, (olga, pieter, quinn) = world
    for _ in range(4):  # the four residents who put these sheets in the box
        voter = make_user()
        verify(voter, north)
        paper.record_paper_voter(olga, voter.id, north.id)
    client.login(olga)
    for number in (1, 2, 3, 4):
        _enter(client, north, "Library", number, projects[:1])
    client.login(pieter)
    _enter(client, north, "Library", 1, projects[:1])
    close_voting(cycle)
    client.login(quinn)
    response = client.submit(f"/admin/cycles/{cycle.id}/tally")
    assert "3 paper sheets in North still need a second entry." in _page(client, response)
    assert _count(TallyRun) == 0
    client.login(pieter)
    for number in (2, 3, 4):
        _enter(client, north, "Library", number, projects[:1])  # typing in continues while counting
    client.login(quinn)
    response = client.submit(f"/admin/cycles/{cycle.id}/tally")
    assert "The votes are counted" in _page(client, response)
    assert db.session.scalar(select(TallyRun.ballot_count).where(TallyRun.district_id == north.id)) == 4


def test_the_control_room_links_to_paper_ballots_only_while_they_can_be_entered(client, world):
    cycle, _, _, (olga, _, _) = world
    client.login(olga)
    assert f"/paper/cycles/{cycle.id}" in client.get(f"/admin/cycles/{cycle.id}").get_data(as_text=True)
    close_voting(cycle, Phase.RESULTS)
    assert f"/paper/cycles/{cycle.id}" not in client.get(f"/admin/cycles/{cycle.id}").get_data(as_text=True)
    response = client.get(f"/paper/cycles/{cycle.id}")
    assert response.status_code == 302 and "Paper ballots and paper voters can only be entered" in _page(client, response)


def test_the_count_is_refused_on_the_web_while_sheets_outnumber_paper_voters(client, world):
    """The stuffing attack through the pages: five sheets for a made-up station, no paper voter, no count."""
    cycle, north, projects, (olga, pieter, quinn) = world
    for official in (olga, pieter):
        client.login(official)
        for number in range(1, 6):
            _enter(client, north, "Nowhere Hall", number, projects[:1])
    cycle.phase = Phase.TALLYING
    db.session.commit()
    client.login(quinn)
    response = client.submit(f"/admin/cycles/{cycle.id}/tally")
    assert "North: 5 agreed paper sheets but 0 paper voters recorded." in _page(client, response)
    assert _count(TallyRun) == 0
