"""The ballot page: running total, casting and changing a ballot, refusals for the unverified."""

import contextlib
import re

from sqlalchemy import event, select

from pb.domain.cycle import Phase
from pb.extensions import db
from pb.models import Ballot, Participation
from tests.conftest import sealed_ballots


def test_cast_then_change_a_ballot(client, make_user, make_cycle, make_project, verify):
    voter = make_user()
    cycle = make_cycle(Phase.VOTING, districts=(("North", 50_000),))
    district = cycle.districts[0]
    swings = make_project(cycle, cost=20_000, title="Swings")
    trees = make_project(cycle, cost=25_000, title="Trees")
    verify(voter, district)
    client.login(voter)
    url = f"/cycles/{cycle.id}/vote/{district.id}"
    page = client.get(url).get_data(as_text=True)
    assert "Swings" in page and "Trees" in page and "Cast my ballot" in page
    assert 'data-cost="20000"' in page and "Left: <strong data-left>500 EUR" in page

    response = client.submit(url, {"project": [str(swings.id)]}, follow_redirects=True)
    assert "Your ballot is saved." in response.get_data(as_text=True)
    response = client.submit(url, {"project": [str(swings.id), str(trees.id)]}, follow_redirects=True)
    page = response.get_data(as_text=True)
    assert "Your ballot is changed." in page and "Change my ballot" in page
    assert re.search(r'value="%d"[^>]*checked' % trees.id, page)
    assert "Chosen: <strong data-total>450 EUR" in page
    assert sealed_ballots() == [(sorted([swings.id, trees.id]), 2)]
    assert db.session.scalars(select(Participation)).all() == [] and db.session.scalars(select(Ballot)).all() == []


def test_a_ballot_sent_from_a_page_that_is_out_of_date_gets_409_and_the_stored_ballot_stays(
    client, make_user, make_cycle, make_project, verify
):
    voter = make_user()
    cycle = make_cycle(Phase.VOTING, districts=(("North", 50_000),))
    district = cycle.districts[0]
    swings, trees = make_project(cycle, cost=20_000, title="Swings"), make_project(cycle, cost=25_000, title="Trees")
    verify(voter, district)
    client.login(voter)
    url = f"/cycles/{cycle.id}/vote/{district.id}"
    assert 'name="version" value="0"' in client.get(url).get_data(as_text=True)  # two tabs open on an empty ballot
    assert client.submit(url, {"project": [str(swings.id)], "version": "0"}).status_code == 302
    response = client.submit(url, {"project": [str(trees.id)], "version": "0"})
    page = response.get_data(as_text=True)
    assert response.status_code == 409
    assert "already changed in another window" in page and "Reload the page" in page
    assert re.search(rf'value="{swings.id}"[^>]*checked', page)
    assert not re.search(rf'value="{trees.id}"[^>]*checked', page)
    assert 'name="version" value="1"' in page  # the reloaded form may now change the stored ballot
    assert sealed_ballots() == [([swings.id], 1)]
    assert client.submit(url, {"project": [str(trees.id)], "version": "1"}).status_code == 302
    assert client.submit(url, {"project": [str(trees.id)], "version": "x1"}).status_code == 400
    assert sealed_ballots() == [([trees.id], 2)]


def test_the_ballot_needs_verification_for_that_district(client, make_user, make_cycle, make_project, verify):
    voter = make_user()
    cycle = make_cycle(Phase.VOTING)
    north, south = cycle.districts
    project = make_project(cycle, south)
    verify(voter, north)
    client.login(voter)
    response = client.get(f"/cycles/{cycle.id}/vote/{south.id}", follow_redirects=True)
    assert "You are not verified to vote in South yet." in response.get_data(as_text=True)
    client.submit(f"/cycles/{cycle.id}/vote/{south.id}", {"project": [str(project.id)]})
    assert sealed_ballots() == []
    page = client.get(f"/cycles/{cycle.id}/vote").get_data(as_text=True)
    assert f"/cycles/{cycle.id}/vote/{north.id}" in page and f"/cycles/{cycle.id}/vote/{south.id}" not in page


def test_the_ballot_page_has_no_inline_script_and_works_as_a_plain_form(client, make_user, make_cycle, make_project, verify):
    voter = make_user()
    cycle = make_cycle(Phase.VOTING)
    make_project(cycle)
    verify(voter, cycle.districts[0])
    client.login(voter)
    page = client.get(f"/cycles/{cycle.id}/vote/{cycle.districts[0].id}").get_data(as_text=True)
    assert '<form method="post"' in page and 'type="checkbox" name="project"' in page
    scripts = re.findall(r"<script[^>]*>(.*?)</script>", page, re.S)
    assert scripts == [""]  # one external script, no inline code
    assert client.get("/static/ballot.js").status_code == 200


def test_a_paper_voter_is_told_before_filling_in_the_online_ballot(client, make_user, make_cycle, make_project, verify):
    voter = make_user()
    cycle = make_cycle(Phase.VOTING)
    district = cycle.districts[0]
    make_project(cycle)
    verify(voter, district)
    db.session.add(Participation(user_id=voter.id, cycle_id=cycle.id, district_id=district.id, channel="paper"))
    db.session.commit()
    client.login(voter)
    response = client.get(f"/cycles/{cycle.id}/vote/{district.id}", follow_redirects=True)
    assert "You have already voted on paper at a polling station in North" in response.get_data(as_text=True)
    assert 'name="project"' not in response.get_data(as_text=True)


@contextlib.contextmanager
def _statements():
    """The SQL statements sent while the block runs (transaction control included: each is a round trip)."""
    sent: list[str] = []

    def record(conn, cursor, statement, *args):
        sent.append(" ".join(statement.split())[:90])

    event.listen(db.engine, "before_cursor_execute", record)
    try:
        yield sent
    finally:
        event.remove(db.engine, "before_cursor_execute", record)


def test_casting_a_ballot_and_seeing_it_again_stays_within_its_query_budget(
    client, make_user, make_cycle, make_project, verify, engine_name
):
    """The two requests of every vote (the POST and the page it redirects to) are the busiest of the election.

    The budget: the POST reads the user, the district with its cycle, the voter's standing (verified, not on paper),
    the projects' costs and the stored ballot, then writes, and reads the voter's account (its address, language and
    whether it may get mail) for the confirmation email written with the ballot, and the city's identity that signs
    that email (once for the request); the page reads the user, the district with its cycle, the standing, the
    projects, the ballot and the city's identity. PostgreSQL adds one: the phase read again FOR KEY SHARE with the
    voter's advisory lock, so the ballot box cannot be opened while the ballot is stored. SQLite adds BEGIN
    IMMEDIATE and re-reads the user and the district after it, because they may have changed before the write lock
    was held (which serves for the phase too).
    """
    voter = make_user()
    cycle = make_cycle(Phase.VOTING, districts=(("North", 50_000),))
    district = cycle.districts[0]
    swings, trees = make_project(cycle, cost=20_000), make_project(cycle, cost=25_000)
    verify(voter, district)
    client.login(voter)
    url = f"/cycles/{cycle.id}/vote/{district.id}"
    client.get(url)
    writes = {"INSERT", "UPDATE", "DELETE"}
    token = client.csrf_token()
    for version, choices in enumerate(([swings.id], [trees.id]), start=0):  # a first ballot, then a change
        form = {"csrf_token": token, "project": [str(c) for c in choices], "version": str(version)}
        with _statements() as post:
            assert client.post(url, data=form).status_code == 302
        with _statements() as page:
            assert client.get(url).status_code == 200
        kinds = [statement.split()[0].upper() for statement in post]
        assert kinds.count("SELECT") == (8 if engine_name == "postgresql" else 9), post
        assert 1 <= len([kind for kind in kinds if kind in writes]) <= 3, post
        kinds = [statement.split()[0].upper() for statement in page]
        assert kinds == ["SELECT"] * 6, page


def test_the_ballot_page_says_voting_closed_at_the_published_moment_and_saves_nothing(
    client, make_user, make_cycle, make_project, verify
):
    from datetime import datetime, timedelta

    from pb.models import utcnow

    voter = make_user()
    cycle = make_cycle(Phase.VOTING, districts=(("North", 50_000),), voting_close_at=utcnow() + timedelta(hours=1),
                       timezone="Europe/Warsaw")
    district = cycle.districts[0]
    swings = make_project(cycle, cost=20_000, title="Swings")
    verify(voter, district)
    client.login(voter)
    url = f"/cycles/{cycle.id}/vote/{district.id}"
    assert "Cast my ballot" in client.get(url).get_data(as_text=True)
    close = datetime(2026, 12, 1, 19, 0)  # 20:00 in Warsaw; the worker has not moved the phase on
    cycle.voting_close_at = close
    db.session.commit()
    for response in (client.get(url, follow_redirects=True),
                     client.submit(url, {"project": [str(swings.id)]}, follow_redirects=True),
                     client.get(f"/cycles/{cycle.id}/vote", follow_redirects=True)):
        assert "Voting closed at 1 December 2026, 20:00 (Europe/Warsaw)." in response.get_data(as_text=True)
        assert "Cast my ballot" not in response.get_data(as_text=True)
    assert sealed_ballots() == []
