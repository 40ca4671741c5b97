"""Moderators deciding on proposals during the review: accept, reject, request changes, merge."""

import pytest
from sqlalchemy import select

from pb.domain.cycle import Phase
from pb.domain.errors import NotFound, PermissionDenied, PhaseError, ValidationError
from pb.extensions import db
from pb.models import Proposal, ProposalStatus, Role
from pb.services import moderation


@pytest.fixture
def moderator(make_user):
    return make_user(Role.MODERATOR)


@pytest.fixture
def cycle(make_cycle):
    return make_cycle(Phase.REVIEW)


def _stored(proposal_id: int) -> Proposal:
    db.session.expire_all()
    return db.session.scalar(select(Proposal).where(Proposal.id == proposal_id))


@pytest.mark.parametrize(("final_cost", "note"), [(10_000, ""), (12_500, " Includes the foundations. ")])
def test_accept_puts_the_proposal_on_the_ballot_at_the_final_cost(moderator, cycle, make_proposal, audit_log, final_cost, note):
    proposal = make_proposal(cycle, estimated_cost=10_000)
    moderation.accept(moderator, proposal.id, final_cost, note)
    stored = _stored(proposal.id)
    assert (stored.status, stored.final_cost, stored.cost, stored.moderator_note, stored.version) == (
        ProposalStatus.ACCEPTED, final_cost, final_cost, note.strip(), 2)
    assert audit_log() == [(
        moderator.id, "accept-proposal", f"proposal:{proposal.id}",
        {"status": "submitted", "final_cost": None, "moderator_note": ""},
        {"status": "accepted", "final_cost": final_cost, "moderator_note": note.strip()},
    )]


@pytest.mark.parametrize(
    ("case", "final_cost", "note", "error", "message"),
    [
        ("resident", 10_000, "", PermissionDenied, "Only moderators and officials"),
        ("own-proposal", 10_000, "", PermissionDenied, "cannot review your own proposal"),
        ("voting", 10_000, "", PhaseError, "only be reviewed during the review phase"),
        ("proposals", 10_000, "", PhaseError, "only be reviewed during the review phase"),
        ("rejected", 10_000, "", ValidationError, "already been decided: rejected"),
        ("unknown", 10_000, "", NotFound, "no such proposal"),
        ("moderator", 0, "Free.", ValidationError, "must be more than zero"),
        ("moderator", 12_000, " ", ValidationError, "why the final cost differs"),
        ("moderator", 100_002, "Dearer.", ValidationError, r"whole budget \(1,000.01 EUR\)"),
    ],
)
def test_accept_refusals_change_nothing(moderator, make_user, make_cycle, make_proposal, snapshot, case, final_cost, note, error, message):
    cycle = make_cycle(Phase(case) if case in ("voting", "proposals") else Phase.REVIEW, districts=(("North", 100_001),))
    actor = {"resident": make_user(), "own-proposal": moderator}.get(case, moderator)
    status = ProposalStatus.REJECTED if case == "rejected" else ProposalStatus.SUBMITTED
    author = moderator if case == "own-proposal" else make_user()
    proposal = make_proposal(cycle, estimated_cost=10_000, status=status, author=author)
    before = snapshot()
    with pytest.raises(error, match=message):
        moderation.accept(actor, 10_000 if case == "unknown" else proposal.id, final_cost, note)
    assert snapshot() == before


def test_an_official_may_review_too(make_user, cycle, make_proposal):
    proposal = make_proposal(cycle)
    assert moderation.accept(make_user(Role.OFFICIAL), proposal.id, proposal.estimated_cost).status is ProposalStatus.ACCEPTED


@pytest.mark.parametrize(
    ("decide", "status", "action"),
    [(moderation.reject, ProposalStatus.REJECTED, "reject-proposal"),
     (moderation.request_changes, ProposalStatus.CHANGES_REQUESTED, "request-changes")],
)
def test_reject_and_request_changes_store_the_note_for_the_author(moderator, cycle, make_proposal, audit_log, decide, status, action):
    proposal = make_proposal(cycle)
    decide(moderator, proposal.id, "  Please add a map. ")
    assert (_stored(proposal.id).status, _stored(proposal.id).moderator_note) == (status, "Please add a map.")
    assert audit_log() == [(
        moderator.id, action, f"proposal:{proposal.id}",
        {"status": "submitted", "moderator_note": ""}, {"status": status.value, "moderator_note": "Please add a map."},
    )]


def test_a_proposal_sent_back_for_changes_can_still_be_rejected(moderator, cycle, make_proposal):
    proposal = make_proposal(cycle, status=ProposalStatus.CHANGES_REQUESTED)
    moderation.reject(moderator, proposal.id, "Out of scope.")
    assert _stored(proposal.id).status is ProposalStatus.REJECTED


@pytest.mark.parametrize(
    ("decide", "status", "note", "message"),
    [
        (moderation.reject, ProposalStatus.SUBMITTED, " ", "Give the author a reason"),
        (moderation.request_changes, ProposalStatus.SUBMITTED, "", "Tell the author what to change"),
        (moderation.request_changes, ProposalStatus.CHANGES_REQUESTED, "Again.", "already been requested"),
        (moderation.reject, ProposalStatus.ACCEPTED, "Too late.", "already been decided"),
    ],
)
def test_reject_and_request_changes_refusals_change_nothing(moderator, cycle, make_proposal, snapshot, decide, status, note, message):
    proposal = make_proposal(cycle, status=status)
    before = snapshot()
    with pytest.raises(ValidationError, match=message):
        decide(moderator, proposal.id, note)
    assert snapshot() == before


@pytest.mark.parametrize("target_status", [ProposalStatus.SUBMITTED, ProposalStatus.CHANGES_REQUESTED, ProposalStatus.ACCEPTED])
def test_merge_folds_a_duplicate_into_another_proposal_of_the_district(moderator, cycle, make_proposal, audit_log, target_status):
    target = make_proposal(cycle, title="Shade trees", status=target_status)
    duplicate = make_proposal(cycle)
    moderation.merge(moderator, duplicate.id, target.id)
    stored = _stored(duplicate.id)
    assert (stored.status, stored.merged_into_id, stored.moderator_note) == (
        ProposalStatus.MERGED, target.id, "Merged into “Shade trees” (a duplicate).")
    assert _stored(target.id).status is target_status
    [(actor_id, action, _, before, after)] = audit_log()
    assert (actor_id, action, before["merged_into_id"], after["merged_into_id"], after["status"]) == (
        moderator.id, "merge-proposal", None, target.id, "merged")


@pytest.mark.parametrize(
    ("target_case", "error", "message"),
    [
        ("itself", ValidationError, "cannot be merged into itself"),
        ("other-district", ValidationError, "same district of the same cycle"),
        ("other-cycle", ValidationError, "same district of the same cycle"),
        ("rejected", ValidationError, "cannot take a merge: rejected"),
        ("withdrawn", ValidationError, "cannot take a merge: withdrawn"),
        ("merged", ValidationError, "cannot take a merge: merged"),
        ("unknown", NotFound, "no such proposal"),
    ],
)
def test_merge_refusals_change_nothing(moderator, cycle, make_cycle, make_proposal, snapshot, target_case, error, message):
    duplicate = make_proposal(cycle)
    north, south = cycle.districts
    other_cycle = make_cycle(Phase.REVIEW)
    targets = {
        "other-district": lambda: make_proposal(cycle, south).id,
        "other-cycle": lambda: make_proposal(other_cycle, other_cycle.districts[0]).id,
        "itself": lambda: duplicate.id,
        "unknown": lambda: 10_000,
    }
    target_id = targets.get(target_case, lambda: make_proposal(cycle, north, status=ProposalStatus(target_case)).id)()
    before = snapshot()
    with pytest.raises(error, match=message):
        moderation.merge(moderator, duplicate.id, target_id, "Same idea.")
    assert snapshot() == before


def test_queue_lists_undecided_proposals_oldest_first_and_counts_them_per_district(cycle, make_proposal):
    north, south = cycle.districts
    first = make_proposal(cycle, north)
    make_proposal(cycle, north, status=ProposalStatus.ACCEPTED)
    second = make_proposal(cycle, north, status=ProposalStatus.CHANGES_REQUESTED)
    assert moderation.queue(cycle) == [first, second]
    assert moderation.queue(cycle, south.id) == []
    assert moderation.queue_sizes(cycle) == {north.id: 2, south.id: 0}
