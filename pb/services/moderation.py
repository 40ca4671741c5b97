"""Moderators vetting proposals during the review: accept with a final cost, reject, send back, merge.

Each decision tells the author by email (kind "proposals"), written in the decision's own transaction.
"""

from sqlalchemy import func, select
from sqlalchemy.orm import joinedload

from pb.domain import cycle as cycle_rules
from pb.domain import notifications
from pb.domain.errors import PermissionDenied, ValidationError
from pb.domain.messages import N_
from pb.domain.money import format_amount
from pb.extensions import db
from pb.models import Cycle, District, Proposal, ProposalStatus, User
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
    audit.record(
        actor, action, f"proposal:{proposal.id}", cycle_id=proposal.cycle_id,
        before=before, after={"status": status.value, **changes},
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
        raise ValidationError("The final cost must be more than zero.")
    if final_cost > proposal.district.budget:
        raise ValidationError(
            N_("The final cost is more than the district's whole budget ({budget}).",
               budget=format_amount(proposal.district.budget, proposal.cycle.currency))
        )
    if final_cost != proposal.estimated_cost and not note.strip():
        raise ValidationError("Explain in the public note why the final cost differs from the estimate.")
    _decide(actor, proposal, "accept-proposal", ProposalStatus.ACCEPTED, final_cost=final_cost,
            moderator_note=note.strip())
    _tell_author(proposal, "proposal_accepted")
    return proposal


@use_case
def reject(actor: User, proposal_id: int, reason: str, *, version: object) -> Proposal:
    """Turn the proposal down, with a reason the author will read."""
    proposal = _reviewable(actor, proposal_id, version)
    if not reason.strip():
        raise ValidationError("Give the author a reason for the rejection.")
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
        raise ValidationError("Tell the author what to change.")
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
