"""Moderators vetting proposals during the review: accept with a final cost, reject, send back, merge.

Each decision tells the author by email (kind "proposals"), written in the decision's own transaction.
"""

import json
import re

from flask import current_app, url_for
from sqlalchemy import func, select
from sqlalchemy.orm import joinedload

from pb.domain import cycle as cycle_rules
from pb.domain import notifications
from pb.domain.errors import PermissionDenied, ValidationError
from pb.domain.messages import N_
from pb.domain.money import format_amount
from pb.extensions import db
from pb.models import AuditEntry, CommentFlag, Cycle, District, OutboxMessage, Proposal, ProposalStatus, User, utcnow
from pb.pagination import Page, paginate
from pb.services import audit, following, is_plausible_id, load, mail, proposals, use_case

_OPEN = (ProposalStatus.SUBMITTED, ProposalStatus.CHANGES_REQUESTED)


_STALE = N_(
    "Nothing was decided: “{title}” changed after you opened this page. {changes} Reload the page to see the "
    "proposal as it is now, then decide again."
)
_STALE_TARGET = N_(
    "Nothing was merged: the proposal to merge into, now “{title}”, changed after you opened this page. {changes} "
    "Reload the page to see it as it is now, then decide again."
)


def _reviewable(actor: User, proposal_id: int, version: object) -> Proposal:
    """The proposal, locked, if the actor may decide on it now and it is still as the moderator's page showed it."""
    if not actor.is_moderator:
        raise PermissionDenied("Only moderators and officials can review proposals.")
    proposal = load(Proposal, proposal_id, "proposal", for_update=True)
    cycle_rules.require_phase("moderate", proposal.cycle.phase)
    if proposal.author_id == actor.id:
        raise PermissionDenied("You cannot review your own proposal; another moderator must do it.")
    if proposal.status not in _OPEN:
        raise ValidationError(N_("This proposal has already been decided: {status}.", status=proposal.status.label.lower()))
    proposals.require_version(proposal, version, _STALE)
    return proposal


def _decide(actor: User, proposal: Proposal, action: str, status: ProposalStatus, **changes: object) -> Proposal:
    before = {"status": proposal.status.value, **{name: getattr(proposal, name) for name in changes}}
    proposal.status = status
    for name, value in changes.items():
        setattr(proposal, name, value)
    proposal.version += 1
    # The version the decision left the proposal at: an undo is refused once anything changed it after that.
    audit.record(
        actor, action, f"proposal:{proposal.id}", cycle_id=proposal.cycle_id,
        before=before, after={"status": status.value, **changes, "version": proposal.version},
    )
    return proposal


def _tell_author(proposal: Proposal, template: str, **context: object) -> None:
    """Email the author about the decision (unless they turned such messages off), and the proposal's followers."""
    mail.notify(proposal.author, notifications.PROPOSALS, template, proposal=proposal, cycle=proposal.cycle, **context)
    following.decision_made(proposal, template.removeprefix("proposal_"), **context)


@use_case
def accept(actor: User, proposal_id: int, final_cost: int, note: str = "", *, version: object) -> Proposal:
    """Put the proposal on the ballot at the cost the moderator fixes, with a public note.

    `version` is the proposal's version the moderator's page showed (so with every decision below): if its author
    changed it since, nothing is decided and the refusal says what changed.
    """
    proposal = _reviewable(actor, proposal_id, version)
    if final_cost <= 0:
        raise ValidationError("The final cost must be more than zero.", field="final_cost")
    if final_cost > proposal.district.budget:
        raise ValidationError(
            N_("The final cost is more than the district's whole budget ({budget}).",
               budget=format_amount(proposal.district.budget, proposal.cycle.currency)),
            field="final_cost",
        )
    if final_cost != proposal.estimated_cost and not note.strip():
        raise ValidationError("Explain in the public note why the final cost differs from the estimate.", field="note")
    _decide(actor, proposal, "accept-proposal", ProposalStatus.ACCEPTED, final_cost=final_cost,
            moderator_note=note.strip())
    _tell_author(proposal, "proposal_accepted")
    return proposal


@use_case
def reject(actor: User, proposal_id: int, reason: str, *, version: object) -> Proposal:
    """Turn the proposal down, with a reason the author will read."""
    proposal = _reviewable(actor, proposal_id, version)
    if not reason.strip():
        raise ValidationError("Give the author a reason for the rejection.", field="note")
    _decide(actor, proposal, "reject-proposal", ProposalStatus.REJECTED, moderator_note=reason.strip())
    _tell_author(proposal, "proposal_rejected")
    return proposal


@use_case
def request_changes(actor: User, proposal_id: int, note: str, *, version: object) -> Proposal:
    """Send the proposal back to its author, saying what to change."""
    proposal = _reviewable(actor, proposal_id, version)
    if proposal.status is ProposalStatus.CHANGES_REQUESTED:
        raise ValidationError("Changes have already been requested; wait for the author.")
    if not note.strip():
        raise ValidationError("Tell the author what to change.", field="note")
    _decide(actor, proposal, "request-changes", ProposalStatus.CHANGES_REQUESTED, moderator_note=note.strip())
    _tell_author(proposal, "proposal_changes_requested")
    return proposal


@use_case
def merge(actor: User, proposal_id: int, into_id: int, note: str = "", *, version: object, into_version: object) -> Proposal:
    """Fold a duplicate into another proposal of the same district, both as the moderator's page showed them."""
    if actor.is_moderator and is_plausible_id(proposal_id) and is_plausible_id(into_id):
        # Both rows are locked in id order, so two merges of the same pair made at once cannot wait on each other.
        db.session.execute(
            select(Proposal.id).where(Proposal.id.in_(sorted({proposal_id, into_id}))).order_by(Proposal.id)
            .with_for_update()
        )
    proposal = _reviewable(actor, proposal_id, version)
    target = load(Proposal, into_id, "proposal", for_update=True)
    if target.id == proposal.id:
        raise ValidationError("A proposal cannot be merged into itself.")
    if target.cycle_id != proposal.cycle_id or target.district_id != proposal.district_id:
        raise ValidationError("Only proposals in the same district of the same cycle can be merged.")
    if target.status not in (*_OPEN, ProposalStatus.ACCEPTED):
        raise ValidationError(N_("The other proposal cannot take a merge: {status}.", status=target.status.label.lower()))
    proposals.require_version(target, into_version, _STALE_TARGET)
    given = note.strip()
    note = given or f"Merged into “{target.title}” (a duplicate)."
    _decide(actor, proposal, "merge-proposal", ProposalStatus.MERGED, merged_into_id=target.id, moderator_note=note)
    _tell_author(proposal, "proposal_merged", target=target, note=given)  # the email names the target itself
    return proposal


def _queue_query(cycle: Cycle, district_id: int | None):
    query = (
        select(Proposal)
        .where(Proposal.cycle_id == cycle.id, Proposal.status.in_(_OPEN))
        .options(joinedload(Proposal.district))
        .order_by(Proposal.created_at, Proposal.id)
    )
    if district_id is not None:
        query = query.where(Proposal.district_id == district_id)
    return query


def queue(cycle: Cycle, district_id: int | None = None) -> list[Proposal]:
    """Proposals waiting for a decision, oldest first."""
    return list(db.session.scalars(_queue_query(cycle, district_id)))


def queue_page(cycle: Cycle, district_id: int | None, number: int, size: int = 50) -> Page:
    """One page of the proposals waiting for a decision, oldest first."""
    return paginate(_queue_query(cycle, district_id), number, size)


def queue_sizes(cycle: Cycle) -> dict[int, int]:
    rows = db.session.execute(
        select(District.id, func.count(Proposal.id))
        .join(Proposal, (Proposal.district_id == District.id) & Proposal.status.in_(_OPEN), isouter=True)
        .where(District.cycle_id == cycle.id)
        .group_by(District.id)
    ).all()
    return dict(rows)


def flagged_comment_count() -> int:
    """Comments with at least one open flag: the third kind of work waiting for moderators."""
    return db.session.scalar(
        select(func.count(func.distinct(CommentFlag.comment_id))).where(CommentFlag.resolved_at.is_(None))
    ) or 0


# ---- Undoing a decision while the review lasts -------------------------------------------------------------------

# The decisions that can be taken back, and the email each one wrote to the author. A merge cannot: the duplicate's
# supporters and comments are now read through the other proposal, and undoing it would be a new decision.
_UNDOABLE = {
    "accept-proposal": "proposal_accepted",
    "reject-proposal": "proposal_rejected",
    "request-changes": "proposal_changes_requested",
}
_FOLLOWER_TEMPLATE = "followed_decision"
_STALE_UNDO = N_(
    "Nothing was undone: “{title}” changed after you opened this page. {changes} Reload the page and look again."
)


def _last_entry(proposal: Proposal) -> AuditEntry | None:
    return db.session.scalars(
        select(AuditEntry).where(AuditEntry.subject == f"proposal:{proposal.id}")
        .order_by(AuditEntry.sequence.desc()).limit(1)
    ).first()


def undo_blockers(proposal: Proposal) -> list[str]:
    """Why the last decision on this proposal cannot be taken back now (empty: it can).

    The rule: only an acceptance, a rejection or a request for changes; only while the cycle is in its review; only
    if that decision is still the last thing that happened to the proposal (no edit by the author, no second
    decision, nothing merged into it since). After that, others may have acted on the decision.
    """
    if proposal.status not in (ProposalStatus.ACCEPTED, ProposalStatus.REJECTED, ProposalStatus.CHANGES_REQUESTED):
        return [N_("Only an acceptance, a rejection or a request for changes can be undone.")]
    if not cycle_rules.is_allowed("moderate", proposal.cycle.phase):
        return [N_("Decisions can be undone only while the review lasts.")]
    blockers = []
    entry = _last_entry(proposal)
    after = json.loads(entry.after) if entry is not None and entry.after else {}
    if entry is None or entry.action not in _UNDOABLE or after.get("version", proposal.version) != proposal.version:
        blockers.append(N_("The proposal changed after the decision (for example its author edited it), so the "
                           "decision can no longer be undone."))
    if db.session.scalar(select(func.count()).select_from(Proposal).where(Proposal.merged_into_id == proposal.id)):
        blockers.append(N_("Another proposal was merged into this one, so the decision can no longer be undone."))
    return blockers


def _proposal_link(proposal: Proposal) -> re.Pattern:
    """The proposal's address as the emails about it spell it (and not a longer id that starts the same)."""
    with current_app.test_request_context("/", base_url=current_app.config["BASE_URL"]):
        address = url_for("public.proposal", proposal_id=proposal.id, _external=True)
    return re.compile(re.escape(address) + r"(?![0-9])")


def _withdraw_decision_mail(proposal: Proposal, entry: AuditEntry) -> dict[str, int]:
    """Take back the emails the decision wrote; how many were withdrawn unsent and how many corrections were written.

    Why: an email still waiting in the outbox (or failed for good) never reached anyone, so it is simply removed and
    its reader hears nothing: the decision never happened for them. One that may have arrived (sent, or being sent
    by a worker right now) cannot be recalled, so its reader gets a short correction saying the decision was
    withdrawn and the proposal waits for review again; otherwise they would go on believing a decision that no
    longer stands.
    """
    template, decision = _UNDOABLE[entry.action], entry.action
    link = _proposal_link(proposal)
    now = utcnow()
    # Written in the decision's transaction, after its audit entry: older emails about earlier decisions stay.
    found = db.session.scalars(
        select(OutboxMessage).where(OutboxMessage.template.in_((template, _FOLLOWER_TEMPLATE)),
                                    OutboxMessage.created_at >= entry.at)
        .order_by(OutboxMessage.id)
    )
    counts = {"withdrawn": 0, "corrected": 0}
    corrected: set[int] = set()
    for message in found:
        if not link.search(message.body_text):
            continue
        is_unsent = message.status == mail.FAILED or (
            message.status == mail.PENDING and (message.claimed_until is None or message.claimed_until < now)
        )
        if is_unsent:
            db.session.delete(message)
            counts["withdrawn"] += 1
        elif message.user_id is not None and message.user_id not in corrected:
            reader = db.session.get(User, message.user_id)
            kind = notifications.PROPOSALS if message.template == template else notifications.FOLLOWED_PROPOSALS
            if reader is not None and mail.notify(reader, kind, "proposal_decision_withdrawn", proposal=proposal,
                                                   cycle=proposal.cycle, decision=decision) is not None:
                counts["corrected"] += 1
            corrected.add(message.user_id)
    return counts


@use_case
def undo_decision(actor: User, proposal_id: int, *, version: object) -> Proposal:
    """Take back the last decision on a proposal: it waits for review again, as it was before the decision."""
    if not actor.is_moderator:
        raise PermissionDenied("Only moderators and officials can review proposals.")
    proposal = load(Proposal, proposal_id, "proposal", for_update=True)
    cycle_rules.require_phase("moderate", proposal.cycle.phase)
    if proposal.author_id == actor.id:
        raise PermissionDenied("You cannot review your own proposal; another moderator must do it.")
    proposals.require_version(proposal, version, _STALE_UNDO)
    blockers = undo_blockers(proposal)
    if blockers:
        raise ValidationError(blockers[0], problems=blockers)
    entry = _last_entry(proposal)
    restored = json.loads(entry.before)
    before = {"status": proposal.status.value, "final_cost": proposal.final_cost, "moderator_note": proposal.moderator_note}
    proposal.status = ProposalStatus(restored["status"])
    for name in ("final_cost", "moderator_note"):  # only what the decision changed is in its `before`
        if name in restored:
            setattr(proposal, name, restored[name])
    proposal.version += 1
    counts = _withdraw_decision_mail(proposal, entry)
    audit.record(
        actor, "undo-decision", f"proposal:{proposal.id}", cycle_id=proposal.cycle_id, before=before,
        after={"status": proposal.status.value, "final_cost": proposal.final_cost,
               "moderator_note": proposal.moderator_note, "undone": entry.action,
               "emails_withdrawn": counts["withdrawn"], "corrections_sent": counts["corrected"]},
    )
    return proposal
