"""Verifying residents and their secret ballots: stored under a token, replaceable, never linked to the voter."""

import pytest
from flask import current_app
from sqlalchemy import func, select
from sqlalchemy.orm.exc import StaleDataError

from pb.domain import sealing
from pb.domain.cycle import Phase
from pb.domain.errors import BallotError, ConflictError, NotFound, PermissionDenied, PhaseError
from pb.extensions import db
from pb.models import Ballot, BallotChoice, Participation, Role, SealedBallot, Verification
from pb.services import voting


@pytest.fixture
def cycle(make_cycle):
    return make_cycle(Phase.VOTING, max_projects=2)


@pytest.fixture
def projects(cycle, make_project):
    """Three projects in North (budget 1,000 EUR) and one in South."""
    north, south = cycle.districts
    return [make_project(cycle, north, cost=60_000), make_project(cycle, north, cost=40_000),
            make_project(cycle, north, cost=10_000), make_project(cycle, south, cost=10_000)]


@pytest.fixture
def voter(make_user, verify, cycle):
    resident = make_user()
    verify(resident, cycle.districts[0])
    return resident


def _count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def _ballots() -> list[tuple[str, int, list[int]]]:
    """The sealed ballots, opened with the server's key: (token, version, choices)."""
    db.session.expire_all()
    key = sealing.envelope_key(current_app.config["BALLOT_KEY"])
    return [(b.token, b.version, sealing.unseal(key, b.token, b.version, b.envelope))
            for b in db.session.scalars(select(SealedBallot))]


def test_verify_resident_stores_the_verification_and_audits_it(make_user, cycle, audit_log):
    moderator, resident = make_user(Role.MODERATOR), make_user()
    north = cycle.districts[0]
    voting.verify_resident(moderator, resident.id, north.id)
    stored = db.session.scalar(select(Verification))
    assert (stored.user_id, stored.cycle_id, stored.district_id, stored.verified_by_id) == (resident.id, cycle.id, north.id, moderator.id)
    assert voting.is_verified(resident, north.id) and voting.verified_district_ids(resident, cycle.id) == {north.id}
    assert audit_log() == [(moderator.id, "verify-resident", f"user:{resident.id}", {}, {"district": "North", "method": "in-person"})]


@pytest.mark.parametrize(
    ("case", "error"),
    [("resident-actor", PermissionDenied), ("self", PermissionDenied), ("already", ConflictError),
     ("unknown-district", NotFound), ("unknown-user", NotFound), (Phase.DRAFT, PhaseError), (Phase.TALLYING, PhaseError)],
    ids=str,
)
def test_verify_resident_refusals_change_nothing(make_user, make_cycle, verify, snapshot, case, error):
    cycle = make_cycle(case if isinstance(case, Phase) else Phase.VOTING)
    moderator, resident = make_user(Role.MODERATOR), make_user()
    if case == "already":
        verify(resident, cycle.districts[0])
    actor = make_user() if case == "resident-actor" else moderator
    user_id = {"self": moderator.id, "unknown-user": 10_000}.get(case, resident.id)
    district_id = 10_000 if case == "unknown-district" else cycle.districts[0].id
    before = snapshot()
    with pytest.raises(error):
        voting.verify_resident(actor, user_id, district_id)
    assert snapshot() == before


def test_a_ballot_is_stored_under_a_token_without_the_voter(app, cycle, projects, voter, audit_log):
    north = cycle.districts[0]
    voting.cast_ballot(voter, cycle.id, north.id, [projects[2].id, projects[0].id])
    token = voting.ballot_token(voter.id, cycle.id, north.id)
    assert _ballots() == [(token, 1, sorted([projects[0].id, projects[2].id]))]
    assert "user_id" not in SealedBallot.__table__.columns and str(voter.id) != token
    # Nothing that names the voter is written with the ballot (it would share its transaction id), and no counted
    # ballot exists until the box is opened.
    assert (_count(Participation), _count(Ballot), _count(BallotChoice)) == (0, 0, 0)
    assert voting.voted_district_ids(voter, cycle) == {north.id}
    assert audit_log() == []  # the log must not link a voter to a moment of voting


def test_the_token_differs_per_voter_district_and_secret_key(app, cycle):
    north, south = cycle.districts
    tokens = {voting.ballot_token(1, cycle.id, north.id), voting.ballot_token(2, cycle.id, north.id),
              voting.ballot_token(1, cycle.id, south.id)}
    app.config["BALLOT_KEY"] = "another-secret"
    tokens.add(voting.ballot_token(1, cycle.id, north.id))
    assert len(tokens) == 4 and all(len(token) == 64 for token in tokens)


@pytest.mark.parametrize("second", [[0, 2], [2, 0]], ids=["overlapping", "same-reordered"])
def test_voting_again_replaces_the_ballot_and_keeps_one_participation(cycle, projects, voter, second):
    north = cycle.districts[0]
    voting.cast_ballot(voter, cycle.id, north.id, [projects[0].id, projects[2].id])
    voting.cast_ballot(voter, cycle.id, north.id, [projects[i].id for i in second])
    [(_, version, choices)] = _ballots()
    assert (version, choices) == (2, sorted(projects[i].id for i in second))
    assert (_count(SealedBallot), _count(Participation), _count(Ballot)) == (1, 0, 0)
    assert voting.current_choices(voter, cycle.id, north.id) == {projects[i].id for i in second}


def test_a_ballot_from_a_page_showing_an_older_version_is_refused_and_changes_nothing(cycle, projects, voter, snapshot):
    north = cycle.districts[0]
    voting.cast_ballot(voter, cycle.id, north.id, [projects[0].id], expected_version=0)
    assert voting.stored_version(voter, cycle.id, north.id) == 1
    before = snapshot()
    for stale in (0, 2):  # a page opened before the first vote, and a version that never existed
        with pytest.raises(ConflictError, match="already changed .* Reload the page"):
            voting.cast_ballot(voter, cycle.id, north.id, [projects[1].id], expected_version=stale)
        assert snapshot() == before
    voting.cast_ballot(voter, cycle.id, north.id, [projects[1].id], expected_version=1)
    assert [(version, choices) for _, version, choices in _ballots()] == [(2, [projects[1].id])]


def test_a_change_based_on_a_ballot_that_moved_on_meanwhile_is_not_stored(app, cycle, projects, voter):
    # The version column guards the UPDATE itself: a change computed from version 1 cannot overwrite version 2.
    north = cycle.districts[0]
    voting.cast_ballot(voter, cycle.id, north.id, [projects[0].id])
    sealed = db.session.scalar(select(SealedBallot))
    with db.engine.begin() as other:  # another request changes the ballot after this one has read it
        key = sealing.envelope_key(current_app.config["BALLOT_KEY"])
        envelope = sealing.seal(key, sealed.token, 2, [projects[0].id], sealing.slots_for(3))
        other.execute(SealedBallot.__table__.update().values(version=2, envelope=envelope))
    with pytest.raises(StaleDataError):
        sealed.version += 1
        sealed.envelope = b"another envelope"
        db.session.flush()
    db.session.rollback()
    assert [(version, choices) for _, version, choices in _ballots()] == [(2, [projects[0].id])]


@pytest.mark.parametrize(
    ("choice", "message"),
    [([0, 1, 2], r"cost 1,100 EUR, 100 EUR more than the budget of 1,000 EUR"),
     ([], "Choose at least one project."),
     ([3], "not projects on this ballot")],  # South's project on North's ballot; the other rules: tests/domain/test_ballots.py
    ids=["over-budget", "empty", "other-district"],
)
def test_an_invalid_ballot_leaves_the_previous_one_intact(cycle, projects, voter, snapshot, choice, message):
    north = cycle.districts[0]
    voting.cast_ballot(voter, cycle.id, north.id, [projects[0].id])
    before = snapshot()
    with pytest.raises(BallotError, match=message):
        voting.cast_ballot(voter, cycle.id, north.id, [projects[i].id for i in choice])
    assert snapshot() == before
    assert voting.current_choices(voter, cycle.id, north.id) == {projects[0].id}


def test_exactly_the_budget_is_accepted(cycle, projects, voter):
    voting.cast_ballot(voter, cycle.id, cycle.districts[0].id, [projects[0].id, projects[1].id])
    assert _ballots()[0][2] == sorted([projects[0].id, projects[1].id])


@pytest.mark.parametrize(
    ("case", "error", "message"),
    [
        ("unverified", PermissionDenied, "not verified to vote in North"),
        ("verified-elsewhere", PermissionDenied, "not verified to vote in South"),
        ("district-of-another-cycle", NotFound, "no such district in this cycle"),
        ("unknown-cycle", NotFound, "no such cycle"),
    ]
    + [(Phase.REVIEW, PhaseError, "Voting is not open."), (Phase.TALLYING, PhaseError, "Voting is not open.")],
    ids=str,
)
def test_cast_ballot_refusals_change_nothing(cycle, make_cycle, make_user, projects, voter, snapshot, case, error, message):
    north, south = cycle.districts
    actor, cycle_id, district_id, choice = voter, cycle.id, north.id, [projects[2].id]
    if case == "unverified":
        actor = make_user()
    elif case == "verified-elsewhere":
        district_id, choice = south.id, [projects[3].id]
    elif case == "district-of-another-cycle":
        district_id = make_cycle(Phase.VOTING).districts[0].id
    elif case == "unknown-cycle":
        cycle_id = 10_000
    else:
        cycle.phase = case
        db.session.commit()
    before = snapshot()
    with pytest.raises(error, match=message):
        voting.cast_ballot(actor, cycle_id, district_id, choice)
    assert snapshot() == before


def test_current_choices_is_none_before_voting_and_only_ever_the_voters_own(cycle, projects, voter, make_user, verify):
    north = cycle.districts[0]
    neighbour = make_user()
    verify(neighbour, north)
    assert voting.current_choices(voter, cycle.id, north.id) is None
    voting.cast_ballot(neighbour, cycle.id, north.id, [projects[1].id])
    assert voting.current_choices(voter, cycle.id, north.id) is None
    voting.cast_ballot(voter, cycle.id, north.id, [projects[2].id])
    assert voting.current_choices(voter, cycle.id, north.id) == {projects[2].id}


def test_turnout_and_verified_counts_are_per_district(cycle, projects, make_user, verify):
    north, south = cycle.districts
    voters = [make_user() for _ in range(3)]
    for resident in voters:
        verify(resident, north)
    for resident in voters[:2]:
        voting.cast_ballot(resident, cycle.id, north.id, [projects[2].id])
    voting.cast_ballot(voters[0], cycle.id, north.id, [projects[1].id])
    assert voting.turnout(cycle) == {north.id: 2, south.id: 0}
    assert voting.verified_counts(cycle) == {north.id: 3, south.id: 0}


def test_voter_standing_reads_verification_and_paper_vote_per_district(cycle, make_user, verify):
    north, south = cycle.districts
    resident = make_user()
    assert voting.voter_standing(resident, north.id) == voting.Standing(is_verified=False, voted_on_paper=False)
    verify(resident, north)
    assert voting.voter_standing(resident, north.id) == voting.Standing(is_verified=True, voted_on_paper=False)
    db.session.add(Participation(user_id=resident.id, cycle_id=cycle.id, district_id=north.id, channel="paper"))
    db.session.commit()
    assert voting.voter_standing(resident, north.id) == voting.Standing(is_verified=True, voted_on_paper=True)
    assert voting.voter_standing(resident, south.id) == voting.Standing(is_verified=False, voted_on_paper=False)
    assert voting.voter_standing(make_user(), north.id) == voting.Standing(is_verified=False, voted_on_paper=False)


def test_find_district_only_finds_a_district_of_that_cycle(cycle, make_cycle):
    north = cycle.districts[0]
    other = make_cycle(Phase.VOTING).districts[0]
    found = voting.find_district(cycle.id, north.id)
    assert found is north and found.cycle is cycle
    assert voting.find_district(cycle.id, other.id) is None
    assert voting.find_district(999_999, north.id) is None
    assert voting.find_district(cycle.id, 2**40) is None  # out of the column's range: not found, no error


# -- Voting closes at the published moment, to the second, whether or not the worker has moved the phase on. -----


def test_a_ballot_at_or_after_the_closing_moment_is_refused_while_the_phase_is_still_voting(cycle, projects, voter):
    from datetime import datetime, timedelta

    close = datetime(2027, 12, 15, 19, 0)  # 20:00 in Madrid
    cycle.voting_close_at, cycle.timezone = close, "Europe/Madrid"
    db.session.commit()
    north = cycle.districts[0]
    voting.cast_ballot(voter, cycle.id, north.id, [projects[0].id], now=close - timedelta(seconds=1))
    for now in (close, close + timedelta(seconds=1), close + timedelta(days=3)):
        with pytest.raises(PhaseError) as refused:  # changing the ballot at the closing moment: refused
            voting.cast_ballot(voter, cycle.id, north.id, [projects[1].id], now=now)
        assert refused.value.message == "Voting closed at 15 December 2027, 20:00 (Europe/Madrid). Your ballot was not saved."
    assert [sealed.version for sealed in db.session.scalars(select(SealedBallot))] == [1]
    assert voting.current_choices(voter, cycle.id, north.id) == {projects[0].id}
    assert db.session.get(type(cycle), cycle.id).phase is Phase.VOTING


def test_with_the_real_clock_a_closing_moment_in_the_past_refuses_a_first_ballot(cycle, projects, voter):
    from pb.models import utcnow

    cycle.voting_close_at = utcnow()
    db.session.commit()
    with pytest.raises(PhaseError, match=r"^Voting closed at .* \(UTC\)\. Your ballot was not saved\.$"):
        voting.cast_ballot(voter, cycle.id, cycle.districts[0].id, [projects[0].id])
    assert _count(SealedBallot) == 0
