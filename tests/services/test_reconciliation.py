"""Ballots add up before a count, its approval and its publication: paper sheets never outnumber paper voters, and
the officials who approve see the totals, the reconciliation and every warning."""

import pytest
from sqlalchemy import func, select

from pb.domain.cycle import Phase
from pb.domain.errors import ConflictError, PermissionDenied
from pb.extensions import db
from pb.models import Ballot, ResultApproval, Role, TallyRun, User
from pb.services import cycles, paper, publication, reconciliation, roles, tallying, users, voting
from tests.conftest import close_voting


@pytest.fixture
def officials(make_user):
    return [make_user(Role.OFFICIAL, name=name) for name in ("Olga", "Pieter", "Quinn")]


@pytest.fixture
def cycle(make_cycle):
    return make_cycle(Phase.VOTING, districts=(("Northside", 100_000), ("Southside", 50_000)))


@pytest.fixture
def projects(cycle, make_project):
    """Northside: an honest 600 EUR project and a 400 EUR one someone wants funded; Southside: one project."""
    north, south = cycle.districts
    return (make_project(cycle, north, cost=60_000, title="Playground"),
            make_project(cycle, north, cost=40_000, title="Stuffed"),
            make_project(cycle, south, cost=10_000, title="Benches"))


def _online_voter(cycle, district, project, make_user, verify):
    voter = make_user()
    verify(voter, district)
    voting.cast_ballot(voter, cycle.id, district.id, [project.id])
    return voter


def _paper_voter(official, district, make_user, verify):
    voter = make_user()
    verify(voter, district)
    paper.record_paper_voter(official, voter.id, district.id)
    return voter


def _agree(officials, district, station, number, project_ids, *, is_spoilt=False):
    for official in officials[:2]:
        paper.enter_sheet(official, district.id, station, number, project_ids, is_spoilt=is_spoilt)


def _to_tallying(cycle):
    close_voting(cycle)


def test_the_stuffing_attack_fails_at_every_step(officials, cycle, projects, make_user, verify, snapshot):
    """The attack from issue 16: one official, with a second account, stuffs five sheets and approves twice."""
    olga, pieter, _ = officials
    north, south = cycle.districts
    playground, stuffed, benches = projects
    _online_voter(cycle, north, playground, make_user, verify)
    _online_voter(cycle, south, benches, make_user, verify)
    # 1. Olga promotes an account she controls: it is only a request, and she cannot approve it herself.
    own = make_user(name="Olga's second account")
    change = users.change_role(olga, own.id, Role.OFFICIAL, "Helps with the paper count.")
    with pytest.raises(ConflictError):
        roles.approve_change(olga, change.id)
    own = db.session.get(User, own.id)
    assert own.role is Role.RESIDENT
    # 2. Five sheets for a made-up polling station: the second account may not enter them, Olga only once each.
    for number in range(1, 6):
        with pytest.raises(PermissionDenied):
            paper.enter_sheet(own, north.id, "Nowhere Hall", number, [stuffed.id])
        paper.enter_sheet(olga, north.id, "Nowhere Hall", number, [stuffed.id])
        with pytest.raises(ConflictError, match="already entered"):
            paper.enter_sheet(olga, north.id, "Nowhere Hall", number, [stuffed.id])
    _to_tallying(cycle)
    with pytest.raises(ConflictError, match="still need a second entry"):
        tallying.run_tally(olga, cycle.id)
    # 3. Even if a careless second official types the same five sheets, no one voted on paper: no count.
    for number in range(1, 6):
        paper.enter_sheet(pieter, north.id, "Nowhere Hall", number, [stuffed.id])
    before = snapshot()
    with pytest.raises(ConflictError) as refused:
        tallying.run_tally(olga, cycle.id)
    assert refused.value.problems == ["Northside: 5 agreed paper sheets but 0 paper voters recorded."]
    assert "Northside: 5 agreed paper sheets but 0 paper voters recorded." in refused.value.message
    # 4. Nothing is counted, so nothing can be approved or published.
    with pytest.raises(ConflictError, match="Count the votes"):
        publication.approve_results(olga, cycle.id)
    assert snapshot() == before
    assert db.session.scalar(select(func.count()).select_from(TallyRun)) == 0


def test_the_count_accepts_sheets_up_to_the_paper_voters(officials, cycle, projects, make_user, verify):
    north, south = cycle.districts
    playground, stuffed, _ = projects
    for _ in range(3):
        _paper_voter(officials[0], north, make_user, verify)
    _agree(officials, north, "Library", 1, [playground.id])
    _agree(officials, north, "Library", 2, [stuffed.id])
    _agree(officials, north, "Library", 3, [], is_spoilt=True)
    _to_tallying(cycle)
    runs = {run.district_id: run for run in tallying.run_tally(officials[2], cycle.id)}
    assert runs[north.id].ballot_count == 2


def test_spoilt_sheets_count_against_the_paper_voters_too(officials, cycle, projects, make_user, verify, snapshot):
    north, _ = cycle.districts
    playground = projects[0]
    for _ in range(2):
        _paper_voter(officials[0], north, make_user, verify)
    _agree(officials, north, "Library", 1, [playground.id])
    _agree(officials, north, "Library", 2, [playground.id])
    _agree(officials, north, "Library", 3, [], is_spoilt=True)
    _to_tallying(cycle)
    before = snapshot()
    with pytest.raises(ConflictError) as refused:
        tallying.run_tally(officials[2], cycle.id)
    assert refused.value.problems == ["Northside: 2 agreed and 1 spoilt paper sheets but 2 paper voters recorded."]
    assert snapshot() == before


@pytest.fixture
def counted(officials, cycle, projects, make_user, verify):
    """Northside: one online ballot, two paper voters and two agreed sheets; Southside: one online ballot. Counted."""
    north, south = cycle.districts
    playground, stuffed, benches = projects
    _online_voter(cycle, north, playground, make_user, verify)
    _online_voter(cycle, south, benches, make_user, verify)
    paper_voters = [_paper_voter(officials[0], north, make_user, verify) for _ in range(2)]
    _agree(officials, north, "Library", 1, [stuffed.id])
    _agree(officials, north, "Library", 2, [stuffed.id])
    _to_tallying(cycle)
    tallying.run_tally(officials[2], cycle.id)
    return cycle, paper_voters


def test_the_totals_show_what_the_officials_approve(counted, make_user, verify):
    cycle, _ = counted
    north, south = cycle.districts
    verify(make_user(), south)  # verified but did not vote
    north_totals, south_totals = reconciliation.district_totals(cycle)
    assert (north_totals.name, north_totals.verified, north_totals.online_voters, north_totals.paper_voters,
            north_totals.online_ballots_counted, north_totals.paper_ballots_counted, north_totals.ballots_counted,
            north_totals.spoilt_sheets, north_totals.budget, north_totals.spent, north_totals.funded) == (
        "Northside", 3, 1, 2, 1, 2, 3, 0, 100_000, 100_000, ["Stuffed", "Playground"])  # in the order funded
    assert (north_totals.problems, north_totals.warnings) == ([], [])
    assert (south_totals.verified, south_totals.online_voters, south_totals.ballots_counted, south_totals.funded) == (
        2, 1, 1, ["Benches"])


def test_fewer_sheets_than_paper_voters_is_a_warning_not_a_block(counted, officials, make_user, verify):
    cycle, _ = counted
    north = cycle.districts[0]
    _paper_voter(officials[0], north, make_user, verify)  # took the sheet home (paper voters are typed in until the count)
    tallying.run_tally(officials[2], cycle.id)
    north_totals = reconciliation.district_totals(cycle)[0]
    assert north_totals.problems == []
    assert north_totals.warnings == [
        "Northside: 3 paper voters recorded but only 2 sheets entered; check the polling stations' records for the "
        "missing sheets."]
    publication.approve_results(officials[0], cycle.id)


def test_approval_and_publication_are_refused_once_the_count_no_longer_adds_up(counted, officials, snapshot):
    """A paper voter taken back after the count leaves more sheets than voters: the service refuses, not only the page."""
    cycle, paper_voters = counted
    olga, pieter, quinn = officials
    north = cycle.districts[0]
    publication.approve_results(olga, cycle.id)
    publication.approve_results(pieter, cycle.id)
    paper.undo_paper_voter(olga, paper_voters[0].id, north.id, "Marked in the wrong district.")
    before = snapshot()
    with pytest.raises(ConflictError) as refused:
        publication.approve_results(quinn, cycle.id)
    assert refused.value.problems == ["Northside: 2 agreed paper sheets but 1 paper voters recorded."]
    assert refused.value.message.startswith("The count was not approved because its ballots do not add up:")
    with pytest.raises(ConflictError, match="The results were not published because the ballots do not add up"):
        cycles.advance_phase(olga, cycle.id, Phase.TALLYING)
    assert snapshot() == before
    assert db.session.get(type(cycle), cycle.id).phase is Phase.TALLYING


def test_approval_is_refused_when_ballots_changed_after_the_count(counted, officials, snapshot):
    cycle, _ = counted
    db.session.delete(db.session.scalars(select(Ballot).where(Ballot.district_id == cycle.districts[1].id)).first())
    db.session.commit()
    before = snapshot()
    with pytest.raises(ConflictError) as refused:
        publication.approve_results(officials[0], cycle.id)
    assert "Southside: the count read 1 ballot, but 0 are stored now; count again." in refused.value.problems
    assert snapshot() == before


def test_approval_is_refused_when_the_count_changed_since_the_page_was_shown(counted, officials, snapshot):
    cycle, _ = counted
    shown = publication.count_digest(cycle)
    tallying.run_tally(officials[2], cycle.id)
    before = snapshot()
    with pytest.raises(ConflictError, match="counted again after you opened the page"):
        publication.approve_results(officials[0], cycle.id, shown)
    assert snapshot() == before
    publication.approve_results(officials[0], cycle.id, publication.count_digest(cycle))
    assert db.session.scalar(select(func.count()).select_from(ResultApproval)) == 1
