"""Published results are kept as revisions: a correction is counted, approved by a second official, and published
as the next revision while every earlier one stays as it was."""

import json

import pytest
from sqlalchemy import select

from pb.domain.cycle import Phase
from pb.domain.errors import ConflictError, NotFound, PermissionDenied, PhaseError, ValidationError
from pb.domain.tally import pabulib, run_rule, seeded_tie_break
from pb.extensions import db
from pb.models import ResultRevision, Role, TallyRun
from pb.services import cycles, exports, publication, revisions, tallying, voting
from tests.conftest import close_voting


@pytest.fixture
def published(make_cycle, make_project, make_user, verify):
    """North (1,000 EUR), greedy: A 600 EUR (3 votes) and C 400 EUR (2) are funded; B 500 EUR (2) does not fit.

    Withdrawing A frees its money: C and B are then funded. South has one funded project and no change.
    Published through the real four-eyes path by Olga and Pieter; Quinn is a third official.
    """
    officials = [make_user(Role.OFFICIAL, name=name) for name in ("Olga", "Pieter", "Quinn")]
    cycle = make_cycle(Phase.VOTING)
    north, south = cycle.districts
    a, b, c = (make_project(cycle, north, cost=cost, title=title)
               for cost, title in [(60_000, "A"), (50_000, "B"), (40_000, "C")])
    s = make_project(cycle, south, cost=10_000, title="S")
    for district, choice in [(north, [a]), (north, [a]), (north, [a, c]), (north, [b, c]), (north, [b]),
                             (south, [s])]:
        voter = make_user()
        verify(voter, district)
        voting.cast_ballot(voter, cycle.id, district.id, [project.id for project in choice])
    close_voting(cycle)
    tallying.run_tally(officials[0], cycle.id)
    publication.approve_results(officials[0], cycle.id)
    publication.approve_results(officials[1], cycle.id)
    cycles.advance_phase(officials[0], cycle.id, Phase.TALLYING)
    return cycle, officials, {"A": a, "B": b, "C": c, "S": s}


def _funded(cycle) -> dict[str, set[str]]:
    db.session.expire_all()
    return {run.district.name: {r.project.title for r in run.results if r.is_funded}
            for run in tallying.tally_runs(cycle).values()}


def test_publishing_records_revision_1_with_the_count_and_both_approvers(published):
    cycle, (olga, pieter, _), _ = published
    (first,) = revisions.revisions(cycle)
    assert (first.number, first.status, first.proposed_by_id, first.approved_by_id) == (1, "published", olga.id, pieter.id)
    stored = json.loads(first.snapshot)
    assert [(d["district"], [r["title"] for r in d["results"] if r["is_funded"]]) for d in stored] == [
        ("North", ["A", "C"]), ("South", ["S"])]
    assert first.count_digest == revisions.digest(stored)
    assert revisions.current(cycle) == first and revisions.pending(cycle) is None


def test_a_proposed_correction_is_counted_but_the_public_still_sees_revision_1(published, audit_log):
    cycle, (olga, _, _), projects = published
    revision = revisions.propose_correction(olga, cycle.id, "  A cannot be built: the land is protected.  ",
                                            [projects["A"].id])
    assert (revision.number, revision.status, revision.reason) == (2, "pending", "A cannot be built: the land is protected.")
    assert json.loads(revision.withdrawn) == [projects["A"].id]
    assert _funded(cycle) == {"North": {"A", "C"}, "South": {"S"}}
    assert revisions.current(cycle).number == 1
    (change,) = revisions.changes(json.loads(revisions.current(cycle).snapshot), json.loads(revision.snapshot))
    assert change == revisions.Change("North", ("A",), ("B",), 100_000, 90_000)
    (entry,) = audit_log("propose-correction")
    assert entry[0] == olga.id and entry[3] == {"revision": 1, "count_digest": revisions.current(cycle).count_digest}
    assert entry[4]["revision"] == 2 and entry[4]["withdrawn"] == [projects["A"].id]


def test_a_second_official_publishes_the_correction_and_revision_1_stays_as_it_was(published, audit_log):
    cycle, (olga, pieter, _), projects = published
    first_snapshot = revisions.current(cycle).snapshot
    revisions.propose_correction(olga, cycle.id, "A cannot be built.", [projects["A"].id])
    revision = revisions.approve_correction(pieter, cycle.id, 2)
    assert (revision.status, revision.approved_by_id) == ("published", pieter.id)
    assert _funded(cycle) == {"North": {"B", "C"}, "South": {"S"}}
    north = tallying.tally_runs(cycle)[cycle.districts[0].id]
    assert tallying.parameters(north)["withdrawn"] == str(projects["A"].id)
    assert projects["A"].id not in {r.project_id for r in north.results}
    assert revisions.current(cycle).number == 2
    assert revisions.published_revision(cycle, 1).snapshot == first_snapshot
    assert revision.count_digest == revisions.digest(revisions.snapshot(cycle, tallying.tally_runs(cycle)))
    (entry,) = audit_log("publish-correction")
    assert entry[0] == pieter.id and entry[3] == {"revision": 1} and entry[4]["revision"] == 2


def test_the_corrected_pabulib_file_leaves_the_withdrawn_project_out_and_reproduces_the_winners(published):
    cycle, (olga, pieter, _), projects = published
    revisions.propose_correction(olga, cycle.id, "A cannot be built.", [projects["A"].id])
    revisions.approve_correction(pieter, cycle.id, 2)
    north = cycle.districts[0]
    election = pabulib.read(exports.district_pabulib(cycle, north.id))
    assert str(projects["A"].id) not in {row["project_id"] for row in election.projects}
    assert all(str(projects["A"].id) not in row["vote"].split(",") for row in election.votes)
    assert election.meta["pb_withdrawn"] == str(projects["A"].id)
    outcome = run_rule("greedy", election.instance(), election.profile(), tie_break=seeded_tie_break(0))
    assert set(outcome.selected) == set(election.published_selection()) == {str(projects["B"].id), str(projects["C"].id)}


def test_corrections_add_up_and_a_cancelled_one_changes_nothing(published, snapshot):
    cycle, (olga, pieter, quinn), projects = published
    revisions.propose_correction(olga, cycle.id, "Withdraw C first.", [projects["C"].id])
    before = snapshot()
    cancelled = revisions.cancel_correction(quinn, cycle.id, 2)
    assert cancelled.status == "cancelled"
    after = snapshot()
    assert {k: v for k, v in after.items() if k not in ("result_revisions", "audit_entries")} == {
        k: v for k, v in before.items() if k not in ("result_revisions", "audit_entries")}
    revisions.propose_correction(olga, cycle.id, "A cannot be built.", [projects["A"].id])
    revisions.approve_correction(pieter, cycle.id, 3)
    revisions.propose_correction(pieter, cycle.id, "B was built by the region instead.", [projects["B"].id])
    third = revisions.approve_correction(olga, cycle.id, 4)
    assert json.loads(third.withdrawn) == sorted([projects["A"].id, projects["B"].id])
    assert _funded(cycle) == {"North": {"C"}, "South": {"S"}}
    assert [(r.number, r.status) for r in revisions.revisions(cycle)] == [
        (1, "published"), (2, "cancelled"), (3, "published"), (4, "published")]
    with pytest.raises(NotFound):
        revisions.published_revision(cycle, 2)


def test_the_official_who_proposed_a_correction_cannot_approve_it(published, snapshot):
    cycle, (olga, _, _), projects = published
    revisions.propose_correction(olga, cycle.id, "A cannot be built.", [projects["A"].id])
    before = snapshot()
    with pytest.raises(ConflictError, match="a different official must approve it"):
        revisions.approve_correction(olga, cycle.id, 2)
    assert snapshot() == before


@pytest.mark.parametrize(
    ("case", "error", "message"),
    [
        ("resident", PermissionDenied, "Only officials can correct"),
        ("empty-reason", ValidationError, "Give the reason"),
        ("long-reason", ValidationError, "under 2000 characters"),
        ("nothing-chosen", ValidationError, "at least one funded project"),
        ("unfunded", ValidationError, "Only projects the published results fund"),
        ("unknown-project", ValidationError, "Only projects the published results fund"),
        ("unknown-cycle", NotFound, "no such cycle"),
        ("before-publication", PhaseError, "only be corrected once they are published"),
        ("already-pending", ConflictError, "already waiting for approval"),
    ],
)
def test_a_refused_correction_changes_nothing(published, make_user, make_cycle, snapshot, case, error, message):
    cycle, (olga, _, _), projects = published
    actor, cycle_id, reason, chosen = olga, cycle.id, "A cannot be built.", [projects["A"].id]
    if case == "resident":
        actor = make_user()
    elif case == "empty-reason":
        reason = "   "
    elif case == "long-reason":
        reason = "x" * 2001
    elif case == "nothing-chosen":
        chosen = []
    elif case == "unfunded":
        chosen = [projects["B"].id]
    elif case == "unknown-project":
        chosen = [999_999]
    elif case == "unknown-cycle":
        cycle_id = 999_999
    elif case == "before-publication":
        cycle_id = make_cycle(Phase.TALLYING).id
    elif case == "already-pending":
        revisions.propose_correction(olga, cycle.id, "C first.", [projects["C"].id])
    before = snapshot()
    with pytest.raises(error, match=message):
        revisions.propose_correction(actor, cycle_id, reason, chosen)
    assert snapshot() == before


@pytest.mark.parametrize("action", ["approve", "cancel"])
@pytest.mark.parametrize("case", ["resident", "unknown-number", "already-published"])
def test_refused_approvals_and_cancellations_change_nothing(published, make_user, snapshot, action, case):
    cycle, (olga, pieter, quinn), projects = published
    revisions.propose_correction(olga, cycle.id, "A cannot be built.", [projects["A"].id])
    actor, number = quinn, 2
    if case == "resident":
        actor = make_user()
    elif case == "unknown-number":
        number = 7
    elif case == "already-published":
        revisions.approve_correction(pieter, cycle.id, 2)
    before = snapshot()
    call = revisions.approve_correction if action == "approve" else revisions.cancel_correction
    expected = {"resident": PermissionDenied, "unknown-number": NotFound, "already-published": ConflictError}[case]
    with pytest.raises(expected):
        call(actor, cycle.id, number)
    assert snapshot() == before


def test_a_correction_that_no_longer_matches_its_recount_is_not_published(published, snapshot):
    cycle, (olga, pieter, _), projects = published
    revision = revisions.propose_correction(olga, cycle.id, "A cannot be built.", [projects["A"].id])
    revision.count_digest = "0" * 64  # as if the ballots had changed since the proposal
    db.session.commit()
    before = snapshot()
    with pytest.raises(ConflictError, match="different result from the proposed correction"):
        revisions.approve_correction(pieter, cycle.id, 2)
    assert snapshot() == before


def test_results_published_before_revisions_were_kept_get_revision_1_at_the_first_correction(published):
    cycle, (olga, pieter, _), projects = published
    db.session.execute(ResultRevision.__table__.delete())
    db.session.commit()
    assert revisions.current(cycle) is None
    revisions.propose_correction(olga, cycle.id, "A cannot be built.", [projects["A"].id])
    revisions.approve_correction(pieter, cycle.id, 2)
    assert [(r.number, r.status) for r in revisions.revisions(cycle)] == [(1, "published"), (2, "published")]
    assert {r["title"] for d in json.loads(revisions.published_revision(cycle, 1).snapshot)
            for r in d["results"] if r["is_funded"]} == {"A", "C", "S"}
    assert db.session.scalar(select(TallyRun).where(TallyRun.district_id == cycle.districts[0].id)) is not None
