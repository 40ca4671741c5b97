"""Moderators deciding on proposals during the review: accept, reject, request changes, merge."""

import pytest
from sqlalchemy import select

from pb.domain.cycle import Phase
from pb.domain.errors import ConflictError, NotFound, PermissionDenied, PhaseError, ValidationError
from pb.extensions import db
from pb.models import Proposal, ProposalStatus, Role
from pb.services import moderation, proposals
from pb.services.proposals import ProposalDraft


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
    moderation.accept(moderator, proposal.id, final_cost, note, version=1)
    stored = _stored(proposal.id)
    assert (stored.status, stored.final_cost, stored.cost, stored.moderator_note, stored.version) == (
        ProposalStatus.ACCEPTED, final_cost, final_cost, note.strip(), 2)
    assert audit_log() == [(
        moderator.id, "accept-proposal", f"proposal:{proposal.id}",
        {"status": "submitted", "final_cost": None, "moderator_note": ""},
        {"status": "accepted", "final_cost": final_cost, "moderator_note": note.strip(), "version": 2},
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
        moderation.accept(actor, 10_000 if case == "unknown" else proposal.id, final_cost, note, version=1)
    assert snapshot() == before


def test_an_official_may_review_too(make_user, cycle, make_proposal):
    proposal = make_proposal(cycle)
    assert moderation.accept(make_user(Role.OFFICIAL), proposal.id, proposal.estimated_cost, version=1).status is ProposalStatus.ACCEPTED


@pytest.mark.parametrize(
    ("decide", "status", "action"),
    [(moderation.reject, ProposalStatus.REJECTED, "reject-proposal"),
     (moderation.request_changes, ProposalStatus.CHANGES_REQUESTED, "request-changes")],
)
def test_reject_and_request_changes_store_the_note_for_the_author(moderator, cycle, make_proposal, audit_log, decide, status, action):
    proposal = make_proposal(cycle)
    decide(moderator, proposal.id, "  Please add a map. ", version=1)
    assert (_stored(proposal.id).status, _stored(proposal.id).moderator_note) == (status, "Please add a map.")
    assert audit_log() == [(
        moderator.id, action, f"proposal:{proposal.id}",
        {"status": "submitted", "moderator_note": ""}, {"status": status.value, "moderator_note": "Please add a map.", "version": 2},
    )]


def test_a_proposal_sent_back_for_changes_can_still_be_rejected(moderator, cycle, make_proposal):
    proposal = make_proposal(cycle, status=ProposalStatus.CHANGES_REQUESTED)
    moderation.reject(moderator, proposal.id, "Out of scope.", version=1)
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
        decide(moderator, proposal.id, note, version=1)
    assert snapshot() == before


@pytest.mark.parametrize("target_status", [ProposalStatus.SUBMITTED, ProposalStatus.CHANGES_REQUESTED, ProposalStatus.ACCEPTED])
def test_merge_folds_a_duplicate_into_another_proposal_of_the_district(moderator, cycle, make_proposal, audit_log, target_status):
    target = make_proposal(cycle, title="Shade trees", status=target_status)
    duplicate = make_proposal(cycle)
    moderation.merge(moderator, duplicate.id, target.id, version=1, into_version=1)
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
        moderation.merge(moderator, duplicate.id, target_id, "Same idea.", version=1, into_version=1)
    assert snapshot() == before


def test_queue_lists_undecided_proposals_oldest_first_and_counts_them_per_district(cycle, make_proposal):
    north, south = cycle.districts
    first = make_proposal(cycle, north)
    make_proposal(cycle, north, status=ProposalStatus.ACCEPTED)
    second = make_proposal(cycle, north, status=ProposalStatus.CHANGES_REQUESTED)
    assert moderation.queue(cycle) == [first, second]
    assert moderation.queue(cycle, south.id) == []
    assert moderation.queue_sizes(cycle) == {north.id: 2, south.id: 0}


# -- Decisions are made on what the moderator saw: the proposal's version travels with every decision. -----------

SWAPPED = "SWAPPED: vote for my company"


def _swap_title(proposal) -> None:
    """The author renames the proposal after the moderator opened it (the attack of issue 16)."""
    draft = ProposalDraft(title=SWAPPED, summary=proposal.summary, description=proposal.description,
                          estimated_cost=proposal.estimated_cost, district_id=proposal.district_id,
                          category_id=proposal.category_id, location=proposal.location)
    proposals.edit_proposal(proposal.author, proposal.id, draft, version=1)


@pytest.mark.parametrize(
    "decide",
    [lambda actor, proposal_id, seen: moderation.accept(actor, proposal_id, 10_000, version=seen),
     lambda actor, proposal_id, seen: moderation.reject(actor, proposal_id, "Out of scope.", version=seen),
     lambda actor, proposal_id, seen: moderation.request_changes(actor, proposal_id, "Add a map.", version=seen)],
    ids=["accept", "reject", "request-changes"],
)
def test_a_decision_on_a_proposal_changed_since_the_page_was_read_is_refused_saying_what_changed(
    moderator, make_cycle, make_proposal, snapshot, decide
):
    cycle = make_cycle(Phase.PROPOSALS)
    proposal = make_proposal(cycle, title="Shade trees", estimated_cost=10_000)
    _swap_title(proposal)  # after the moderator's page showed version 1
    cycle.phase = Phase.REVIEW
    db.session.commit()
    before = snapshot()
    with pytest.raises(ConflictError) as refused:
        decide(moderator, proposal.id, 1)
    assert snapshot() == before
    message = refused.value.message
    assert message.startswith(f"Nothing was decided: “{SWAPPED}” changed after you opened this page.")
    assert f"Its author edited it. The title was changed to “{SWAPPED}”." in message
    assert "Reload the page to see the proposal as it is now" in message
    # Read afresh, the page carries version 2 and the same decision goes through.
    assert decide(moderator, proposal.id, 2).version == 3


@pytest.mark.parametrize("seen", [None, 0, 7, "1"])
def test_a_decision_without_the_version_read_is_refused(moderator, cycle, make_proposal, snapshot, seen):
    proposal = make_proposal(cycle)
    before = snapshot()
    with pytest.raises(ConflictError, match="Reload the page"):
        moderation.accept(moderator, proposal.id, proposal.estimated_cost, version=seen)
    assert snapshot() == before


@pytest.mark.parametrize("stale", ["duplicate", "target"])
def test_a_merge_is_refused_when_either_proposal_changed_since_the_page_was_read(
    moderator, make_cycle, make_proposal, snapshot, stale
):
    cycle = make_cycle(Phase.PROPOSALS)
    target, duplicate = make_proposal(cycle, title="Shade trees"), make_proposal(cycle, title="More trees")
    _swap_title(target if stale == "target" else duplicate)
    cycle.phase = Phase.REVIEW
    db.session.commit()
    before = snapshot()
    with pytest.raises(ConflictError) as refused:
        moderation.merge(moderator, duplicate.id, target.id, version=1, into_version=1)
    assert snapshot() == before
    expected = "Nothing was merged: the proposal to merge into" if stale == "target" else "Nothing was decided"
    assert refused.value.message.startswith(expected) and f"changed to “{SWAPPED}”" in refused.value.message
    versions = {"version": 2 if stale == "duplicate" else 1, "into_version": 2 if stale == "target" else 1}
    assert moderation.merge(moderator, duplicate.id, target.id, **versions).status is ProposalStatus.MERGED


# -- Undoing a decision while the review lasts. ------------------------------------------------------------------

def _outbox(template: str | None = None) -> list:
    from pb.models import OutboxMessage

    db.session.expire_all()
    query = select(OutboxMessage).order_by(OutboxMessage.id)
    if template is not None:
        query = query.where(OutboxMessage.template == template)
    return list(db.session.scalars(query))


@pytest.mark.parametrize(
    ("decide", "template"),
    [(lambda actor, proposal: moderation.accept(actor, proposal.id, 12_000, "Includes signs.", version=1),
      "proposal_accepted"),
     (lambda actor, proposal: moderation.reject(actor, proposal.id, "Out of scope.", version=1), "proposal_rejected"),
     (lambda actor, proposal: moderation.request_changes(actor, proposal.id, "Add a map.", version=1),
      "proposal_changes_requested")],
    ids=["accept", "reject", "request-changes"],
)
def test_undo_puts_the_proposal_back_as_it_was_and_withdraws_the_unsent_email(
    moderator, cycle, make_proposal, audit_log, decide, template
):
    proposal = make_proposal(cycle, estimated_cost=10_000, moderator_note="")
    decide(moderator, proposal)
    assert len(_outbox(template)) == 1
    moderation.undo_decision(moderator, proposal.id, version=2)
    stored = _stored(proposal.id)
    assert (stored.status, stored.final_cost, stored.moderator_note, stored.version) == (
        ProposalStatus.SUBMITTED, None, "", 3)
    # The email never left the outbox: it is withdrawn and the author hears nothing, no correction either.
    assert _outbox() == []
    (entry,) = audit_log("undo-decision")
    assert entry[0] == moderator.id and entry[2] == f"proposal:{proposal.id}"
    assert entry[4]["status"] == "submitted" and entry[4]["emails_withdrawn"] == 1 and entry[4]["corrections_sent"] == 0
    # The proposal waits in the queue again, and can be decided anew.
    assert moderation.queue(cycle) == [stored]
    moderation.accept(moderator, proposal.id, 10_000, version=3)
    assert _stored(proposal.id).status is ProposalStatus.ACCEPTED


def test_undo_after_the_email_went_out_sends_the_author_a_short_correction(moderator, cycle, make_proposal, smtp):
    from pb.services import mail

    proposal = make_proposal(cycle, title="Shade trees")
    moderation.accept(moderator, proposal.id, 10_000, version=1)
    assert mail.deliver_due().sent == 1
    moderation.undo_decision(moderator, proposal.id, version=2)
    (sent, correction) = _outbox()
    assert sent.status == "sent" and correction.template == "proposal_decision_withdrawn"
    assert correction.user_id == proposal.author_id and correction.status == "pending"
    assert mail.deliver_due().sent == 1
    received = smtp.last_to(proposal.author.email)
    assert "Correction" in received["Subject"] and "Shade trees" in received["Subject"]
    assert "waiting for review again" in received.get_body(("plain",)).get_content()


def test_undo_withdraws_a_followers_unsent_email_but_keeps_emails_about_other_proposals(
    moderator, cycle, make_proposal, make_user
):
    from pb.services import following

    follower = make_user()
    proposal = make_proposal(cycle)
    other = make_proposal(cycle, author=proposal.author)
    following.follow(follower, proposal.id)
    moderation.accept(moderator, other.id, 10_000, version=1)
    moderation.accept(moderator, proposal.id, 10_000, version=1)
    assert {m.template for m in _outbox()} == {"proposal_accepted", "followed_decision"}
    moderation.undo_decision(moderator, proposal.id, version=2)
    (kept,) = _outbox()
    assert kept.template == "proposal_accepted" and f"/proposals/{other.id}" in kept.body_text


def test_undo_is_refused_once_the_author_revised_the_proposal(moderator, cycle, make_proposal):
    proposal = make_proposal(cycle)
    moderation.request_changes(moderator, proposal.id, "Add a map.", version=1)
    draft = ProposalDraft(title="Revised", summary=proposal.summary, description=proposal.description,
                          estimated_cost=proposal.estimated_cost, district_id=proposal.district_id,
                          category_id=proposal.category_id, location="Park Road")
    proposals.edit_proposal(proposal.author, proposal.id, draft, version=2)
    assert moderation.undo_blockers(_stored(proposal.id))
    with pytest.raises(ValidationError):
        moderation.undo_decision(moderator, proposal.id, version=3)
    assert _stored(proposal.id).title == "Revised"


def test_undo_is_refused_when_the_proposal_changed_after_the_decision(moderator, cycle, make_proposal):
    proposal = make_proposal(cycle)
    moderation.accept(moderator, proposal.id, 10_000, version=1)
    stored = _stored(proposal.id)
    stored.version += 1  # changed by something other than the decision after it was taken
    db.session.commit()
    assert moderation.undo_blockers(_stored(proposal.id)) == [
        "The proposal changed after the decision (for example its author edited it), so the decision can no longer be "
        "undone."]
    with pytest.raises(ValidationError):
        moderation.undo_decision(moderator, proposal.id, version=3)


def test_undo_is_refused_once_another_proposal_was_merged_into_it(moderator, cycle, make_proposal):
    target = make_proposal(cycle)
    duplicate = make_proposal(cycle)
    moderation.accept(moderator, target.id, 10_000, version=1)
    moderation.merge(moderator, duplicate.id, target.id, version=1, into_version=2)
    with pytest.raises(ValidationError, match="merged into this one"):
        moderation.undo_decision(moderator, target.id, version=2)
    # A merge itself is not undone either: the duplicate's supporters now read through the other proposal.
    with pytest.raises(ValidationError, match="Only an acceptance"):
        moderation.undo_decision(moderator, duplicate.id, version=2)
    assert _stored(target.id).status is ProposalStatus.ACCEPTED


@pytest.mark.parametrize("phase", [Phase.VOTING, Phase.SUPPORTS, Phase.RESULTS])
def test_undo_is_refused_once_the_review_is_over(moderator, make_cycle, make_proposal, phase):
    cycle = make_cycle(Phase.REVIEW)
    proposal = make_proposal(cycle)
    moderation.accept(moderator, proposal.id, 10_000, version=1)
    cycle.phase = phase
    db.session.commit()
    with pytest.raises(PhaseError):
        moderation.undo_decision(moderator, proposal.id, version=2)
    assert _stored(proposal.id).status is ProposalStatus.ACCEPTED


def test_undo_is_refused_to_residents_to_the_author_and_on_a_stale_page(moderator, cycle, make_proposal, make_user):
    author = make_user(Role.MODERATOR)
    proposal = make_proposal(cycle, author=author)
    moderation.accept(moderator, proposal.id, 10_000, version=1)
    with pytest.raises(PermissionDenied):
        moderation.undo_decision(make_user(), proposal.id, version=2)
    with pytest.raises(PermissionDenied):
        moderation.undo_decision(author, proposal.id, version=2)
    with pytest.raises(ConflictError):
        moderation.undo_decision(moderator, proposal.id, version=1)
    with pytest.raises(NotFound):
        moderation.undo_decision(moderator, 999_999, version=1)
    assert _stored(proposal.id).status is ProposalStatus.ACCEPTED


def test_undo_of_a_proposal_never_decided_is_refused(moderator, cycle, make_proposal):
    proposal = make_proposal(cycle)
    with pytest.raises(ValidationError, match="Only an acceptance"):
        moderation.undo_decision(moderator, proposal.id, version=1)
