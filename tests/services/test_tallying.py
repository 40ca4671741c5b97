"""Counting every district with the cycle's rule, storing the outcome, and publishing it."""

import hashlib
import json

import pytest
from sqlalchemy import delete, func, select

from pb.domain.cycle import Phase
from pb.domain.errors import ConflictError, NotFound, PermissionDenied, PhaseError
from pb.extensions import db
from pb.models import Ballot, ProjectResult, Role, TallyRun, User, Verification
from pb.services import tallying, voting
from tests.conftest import close_voting


@pytest.fixture
def official(make_user):
    return make_user(Role.OFFICIAL)


@pytest.fixture
def counted_cycle(make_cycle, make_project, make_user, verify):
    """North (budget 1,000 EUR): big 600 EUR with 3 votes, mid 500 EUR with 2, small 300 EUR with 1, unloved with 0."""
    cycle = make_cycle(Phase.VOTING)
    north, south = cycle.districts
    big, mid, small = (make_project(cycle, north, cost=cost, title=title)
                       for cost, title in [(60_000, "big"), (50_000, "mid"), (30_000, "small")])
    make_project(cycle, north, cost=10_000, title="unloved")
    make_project(cycle, south, cost=10_000, title="south")
    for choice in [[big, small], [big], [big], [mid], [mid]]:
        resident = make_user()
        verify(resident, north)
        voting.cast_ballot(resident, cycle.id, north.id, [project.id for project in choice])
    close_voting(cycle)
    return cycle


def _runs() -> dict[str, tuple]:
    db.session.expire_all()
    return {
        run.district_id: (run.rule, run.budget, run.spent, run.ballot_count,
                          [(r.project.title, r.votes, r.is_funded, r.position) for r in run.results])
        for run in db.session.scalars(select(TallyRun))
    }


def test_run_tally_stores_one_run_per_district_with_funded_projects_first(official, counted_cycle, audit_log):
    north, south = counted_cycle.districts
    tallying.run_tally(official, counted_cycle.id)
    assert _runs() == {
        north.id: ("greedy", 100_000, 90_000, 5, [("big", 3, True, 1), ("small", 1, True, 2),
                                                  ("mid", 2, False, 3), ("unloved", 0, False, 4)]),
        south.id: ("greedy", 50_000, 0, 0, [("south", 0, False, 1)]),
    }
    entries = audit_log("run-tally")
    assert [(actor, subject) for actor, _, subject, _, _ in entries] == [
        (official.id, f"district:{north.id}"), (official.id, f"district:{south.id}")]
    assert (entries[0][4]["spent"], entries[0][4]["ballots"], len(entries[0][4]["selected"])) == (90_000, 5, 2)
    run = db.session.scalar(select(TallyRun).where(TallyRun.district_id == north.id))
    assert (run.run_by_id, json.loads(run.parameters) is not None, run.tie_break != "") == (official.id, True, True)


def test_running_the_tally_again_replaces_the_earlier_count(official, counted_cycle):
    tallying.run_tally(official, counted_cycle.id)
    counted_cycle.rule = "mes-add1"
    db.session.commit()
    tallying.run_tally(official, counted_cycle.id)
    assert {rule for rule, *_ in _runs().values()} == {"mes-add1"}
    assert db.session.scalar(select(func.count()).select_from(TallyRun)) == 2
    assert db.session.scalar(select(func.count()).select_from(ProjectResult)) == 5


@pytest.mark.parametrize(
    ("case", "error"),
    [("moderator", PermissionDenied), ("unknown", NotFound)]
    + [(Phase.VOTING, PhaseError), (Phase.RESULTS, PhaseError)],
    ids=str,
)
def test_run_tally_refusals_change_nothing(official, make_user, counted_cycle, snapshot, case, error):
    if isinstance(case, Phase):
        counted_cycle.phase = case
        db.session.commit()
    actor = make_user(Role.MODERATOR) if case == "moderator" else official
    before = snapshot()
    with pytest.raises(error):
        tallying.run_tally(actor, 10_000 if case == "unknown" else counted_cycle.id)
    assert snapshot() == before


@pytest.mark.parametrize("phase", [Phase.RESULTS, Phase.CLOSED])
def test_published_runs_gives_the_stored_count_per_district_once_results_are_public(official, counted_cycle, phase):
    tallying.run_tally(official, counted_cycle.id)
    counted_cycle.phase = phase
    db.session.commit()
    assert tallying.published_runs(counted_cycle) == tallying.tally_runs(counted_cycle)
    assert set(tallying.published_runs(counted_cycle)) == {d.id for d in counted_cycle.districts}


@pytest.mark.parametrize("phase", [Phase.VOTING, Phase.TALLYING])
def test_published_runs_is_refused_before_the_results_phase(make_cycle, phase):
    with pytest.raises(PhaseError, match="Results are not published yet."):
        tallying.published_runs(make_cycle(phase))


def test_equal_shares_cycles_are_counted_with_their_rule(official, counted_cycle):
    counted_cycle.rule = "mes-add1"
    db.session.commit()
    [run] = [run for run in tallying.run_tally(official, counted_cycle.id) if run.district_id == counted_cycle.districts[0].id]
    assert run.rule == "mes-add1" and run.spent <= run.budget
    assert [r.position for r in run.results] == [1, 2, 3, 4]


def test_the_count_stops_when_acknowledged_and_stored_ballots_differ(app, make_user, make_cycle, make_project, verify):
    cycle = make_cycle(Phase.VOTING, districts=(("North", 100_000),))
    district = cycle.districts[0]
    project = make_project(cycle, cost=10_000)
    for _ in range(3):
        voter = make_user()
        verify(voter, district)
        voting.cast_ballot(voter, cycle.id, district.id, [project.id])
    close_voting(cycle)
    lost = db.session.scalars(select(Ballot.id)).first()
    db.session.execute(delete(Ballot).where(Ballot.id == lost))  # a ballot vanishes behind the app's back
    db.session.commit()
    with pytest.raises(ConflictError) as refusal:
        tallying.run_tally(make_user(Role.OFFICIAL), cycle.id)
    assert "3 voters were told their ballot was saved, 2 ballots are stored and 2 were read" in refusal.value.message
    assert db.session.scalar(select(func.count()).select_from(TallyRun)) == 0


@pytest.mark.parametrize(
    ("rule", "columns"),
    [
        ("greedy", [("greedy", True), ("mes-add1", False)]),
        ("mes-add1", [("greedy", False), ("mes-add1", True)]),
        ("phragmen", [("phragmen", True), ("greedy", False), ("mes-add1", False)]),
    ],
)
def test_the_count_stores_what_the_standard_count_and_equal_shares_fund_beside_the_cycles_rule(
    official, counted_cycle, rule, columns
):
    counted_cycle.rule = rule
    db.session.commit()
    tallying.run_tally(official, counted_cycle.id)
    north = counted_cycle.districts[0]
    run = db.session.scalar(select(TallyRun).where(TallyRun.district_id == north.id))
    assert sorted(c.rule for c in run.comparisons) == sorted(r for r, is_official in columns if not is_official)
    shown = tallying.rule_columns(run)
    assert [(column.rule, column.is_official) for column in shown] == columns
    titles = {r.project_id: r.project.title for r in run.results}
    by_rule = {column.rule: sorted(titles[p] for p in column.selected) for column in shown}
    assert by_rule["greedy"] == ["big", "small"]
    assert all(column.spent <= run.budget for column in shown)
    official_column = next(column for column in shown if column.is_official)
    assert set(official_column.selected) == {r.project_id for r in run.results if r.is_funded}


def test_the_count_stores_each_projects_cost_and_the_ballot_lists_digest(official, counted_cycle, audit_log):
    tallying.run_tally(official, counted_cycle.id)
    north = counted_cycle.districts[0]
    run = db.session.scalar(select(TallyRun).where(TallyRun.district_id == north.id))
    assert [(r.project.title, r.cost) for r in run.results] == [
        ("big", 60_000), ("small", 30_000), ("mid", 50_000), ("unloved", 10_000)]
    listing = tallying.ballot_list(north)
    assert run.ballot_list_sha256 == hashlib.sha256(listing).hexdigest()
    assert audit_log("run-tally")[0][4]["ballot_list_sha256"] == run.ballot_list_sha256
    lines = listing.decode().splitlines()
    receipts = sorted(db.session.scalars(select(Ballot.receipt).where(Ballot.district_id == north.id)))
    assert lines[0] == "receipt,vote" and [line.split(",")[0] for line in lines[1:]] == receipts


def test_a_voter_learns_how_many_of_their_choices_were_funded(official, counted_cycle, make_user, verify):
    north = counted_cycle.districts[0]
    tallying.run_tally(official, counted_cycle.id)
    counted_cycle.phase = Phase.RESULTS
    db.session.commit()
    runs = tallying.published_runs(counted_cycle)
    voters = db.session.scalars(select(User).where(User.role == Role.RESIDENT, User.id.in_(
        select(Verification.user_id)))).all()
    counts = [tallying.funded_choices(voter, counted_cycle, runs)[north.id] for voter in voters]
    # The ballots were big+small, big, big (all funded) and mid, mid (not funded).
    assert sorted((c.funded, c.chosen) for c in counts) == sorted([(2, 2), (1, 1), (1, 1), (0, 1), (0, 1)])
    assert tallying.funded_choices(make_user(), counted_cycle, runs) == {}


def test_a_projects_result_is_public_only_once_results_are(official, counted_cycle):
    tallying.run_tally(official, counted_cycle.id)
    big = db.session.scalar(select(ProjectResult).where(ProjectResult.position == 1))
    assert tallying.published_result(big.project_id, counted_cycle) is None
    counted_cycle.phase = Phase.RESULTS
    db.session.commit()
    assert tallying.published_result(big.project_id, counted_cycle).explanation == big.explanation


def test_published_run_refuses_other_cycles_districts(official, counted_cycle, make_cycle):
    tallying.run_tally(official, counted_cycle.id)
    counted_cycle.phase = Phase.RESULTS
    db.session.commit()
    assert tallying.published_run(counted_cycle, counted_cycle.districts[1].id).spent == 0
    with pytest.raises(NotFound, match="There is no such district in this cycle."):
        tallying.published_run(counted_cycle, make_cycle(Phase.RESULTS).districts[0].id)
