"""Residents proposing projects: submit, edit, revise after review, withdraw."""

import json
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import joinedload

from pb.domain import cycle as cycle_rules
from pb.domain import geometry
from pb.domain.errors import ConflictError, PermissionDenied, ValidationError
from pb.domain.messages import N_
from pb.extensions import db
from pb.models import AuditEntry, Cycle, Proposal, ProposalStatus, User
from pb.services import accounts, audit, following, load, use_case


@dataclass(frozen=True)
class ProposalDraft:
    title: str
    summary: str
    description: str
    estimated_cost: int
    district_id: int
    category_id: int | None = None
    location: str = ""
    latitude: float | None = None
    longitude: float | None = None


_EDITABLE = ("title", "summary", "description", "estimated_cost", "district_id", "category_id", "location",
             "latitude", "longitude")


def _check_draft(cycle: Cycle, draft: ProposalDraft) -> None:
    if not draft.title.strip() or not draft.summary.strip() or not draft.description.strip():
        raise ValidationError("A proposal needs a title, a summary and a description.")
    district = next((d for d in cycle.districts if d.id == draft.district_id), None)
    if district is None:
        raise ValidationError("Choose one of this cycle's districts.")
    if draft.category_id is not None and draft.category_id not in {c.id for c in cycle.categories}:
        raise ValidationError("Choose one of this cycle's categories.")
    if cycle.categories and draft.category_id is None:
        raise ValidationError("Choose a category.")
    if draft.estimated_cost <= 0:
        raise ValidationError("The estimated cost must be more than zero.")
    if (draft.latitude is None) != (draft.longitude is None):
        raise ValidationError(N_("Give both the latitude and the longitude, or neither."))
    if draft.latitude is not None:
        geometry.check_point(draft.latitude, draft.longitude)
    if draft.estimated_cost > district.budget:
        raise ValidationError(
            N_("The estimated cost is more than the whole budget of {district}; such a project could never be funded.",
               district=district.name)
        )


def _snapshot(proposal: Proposal) -> dict[str, object]:
    return {name: getattr(proposal, name) for name in (*_EDITABLE, "status")}


@use_case
def submit_proposal(actor: User, cycle_id: int, draft: ProposalDraft) -> Proposal:
    """A logged-in resident proposes a project while proposals are open."""
    accounts.require_confirmed(actor)
    cycle = load(Cycle, cycle_id, "cycle")
    cycle_rules.require_phase("submit-proposal", cycle.phase)
    _check_draft(cycle, draft)
    proposal = Proposal(cycle=cycle, author=actor, status=ProposalStatus.SUBMITTED)
    for name in _EDITABLE:
        value = getattr(draft, name)
        setattr(proposal, name, value.strip() if isinstance(value, str) else value)
    db.session.add(proposal)
    db.session.flush()
    audit.record(actor, "submit-proposal", f"proposal:{proposal.id}", cycle_id=cycle.id, after=_snapshot(proposal))
    following.start_following(actor, proposal)  # authors follow their own proposals (as in Decidim)
    return proposal


def _own(actor: User, proposal_id: int, *, for_update: bool = False) -> Proposal:
    proposal = load(Proposal, proposal_id, "proposal", for_update=for_update)
    if proposal.author_id != actor.id:
        raise PermissionDenied("Only the author can change a proposal.")
    return proposal


def check_editable(actor: User, proposal: Proposal) -> None:
    """Refuse, with the reason, unless the actor may edit this proposal now."""
    if proposal.author_id != actor.id:
        raise PermissionDenied("Only the author can change a proposal.")
    if proposal.status is ProposalStatus.CHANGES_REQUESTED:
        cycle_rules.require_phase("revise-proposal", proposal.cycle.phase)
    elif proposal.status is ProposalStatus.SUBMITTED:
        cycle_rules.require_phase("edit-proposal", proposal.cycle.phase)
    else:
        raise ValidationError(N_("This proposal can no longer be edited: {status}.", status=proposal.status.label.lower()))


# What a change since the page was read did, per audited action (each one raises the proposal's version by one).
_CHANGED_BY = {
    "edit-proposal": N_("Its author edited it."),
    "withdraw-proposal": N_("Its author withdrew it."),
    "accept-proposal": N_("A moderator accepted it."),
    "reject-proposal": N_("A moderator rejected it."),
    "request-changes": N_("A moderator sent it back to its author for changes."),
    "merge-proposal": N_("A moderator merged it into another proposal."),
}
_FIELD_CHANGED = {
    "summary": N_("The summary was changed."),
    "description": N_("The description was changed."),
    "estimated_cost": N_("The estimated cost was changed."),
    "district_id": N_("It was moved to another district."),
    "category_id": N_("The category was changed."),
    "location": N_("The location was changed."),
}


def changes_since(proposal: Proposal, seen: int) -> tuple[str, ...]:
    """What happened to the proposal after the version `seen`, in sentences, read from its audit entries."""
    missed = proposal.version - seen
    if not 0 < missed <= 50:
        return (N_("It has changed since."),)
    entries = db.session.execute(
        select(AuditEntry.action, AuditEntry.before, AuditEntry.after)
        .where(AuditEntry.subject == f"proposal:{proposal.id}", AuditEntry.action.in_(list(_CHANGED_BY)))
        .order_by(AuditEntry.sequence.desc()).limit(missed)
    ).all()
    sentences: list[str] = []
    for action, before_text, after_text in reversed(entries):
        sentences.append(_CHANGED_BY[action])
        if action != "edit-proposal":
            continue
        before, after = json.loads(before_text or "{}"), json.loads(after_text or "{}")
        if before.get("title") != after.get("title"):
            sentences.append(N_("The title was changed to “{title}”.", title=after.get("title", "")))
        sentences.extend(message for name, message in _FIELD_CHANGED.items() if before.get(name) != after.get(name))
    return tuple(sentences) or (N_("It has changed since."),)


def require_version(proposal: Proposal, seen: object, refusal: str) -> None:
    """Refuse, saying what changed, unless the proposal is still at the version the person's page showed.

    `refusal` is the message's frame, with {title} and {changes} to fill in.
    """
    if seen != proposal.version:
        changes = changes_since(proposal, seen) if isinstance(seen, int) else (N_("It has changed since."),)
        raise ConflictError(N_(refusal, title=proposal.title, changes=changes))


@use_case
def edit_proposal(actor: User, proposal_id: int, draft: ProposalDraft, version: int) -> Proposal:
    """The author edits while proposals are open, or revises one sent back for changes during the review.

    `version` is the proposal's version the form was filled in from: an edit made on an older one (another tab, a
    moderator's decision meanwhile) is refused, saying what changed, rather than silently overwriting it.
    """
    proposal = _own(actor, proposal_id, for_update=True)
    check_editable(actor, proposal)
    require_version(proposal, version, N_(
        "Your changes were not saved: this proposal changed after you opened the form. {changes} Reload the page "
        "to see it as it is now, then make your changes again."
    ))
    _check_draft(proposal.cycle, draft)
    before = _snapshot(proposal)
    for name in _EDITABLE:
        value = getattr(draft, name)
        setattr(proposal, name, value.strip() if isinstance(value, str) else value)
    proposal.status = ProposalStatus.SUBMITTED
    proposal.version += 1
    audit.record(
        actor, "edit-proposal", f"proposal:{proposal.id}", cycle_id=proposal.cycle_id,
        before=before, after=_snapshot(proposal),
    )
    return proposal


@use_case
def withdraw_proposal(actor: User, proposal_id: int) -> Proposal:
    """The author withdraws a proposal that is not decided yet."""
    proposal = _own(actor, proposal_id, for_update=True)
    cycle_rules.require_phase("withdraw-proposal", proposal.cycle.phase)
    if proposal.status not in (ProposalStatus.SUBMITTED, ProposalStatus.CHANGES_REQUESTED):
        raise ValidationError(N_("This proposal can no longer be withdrawn: {status}.", status=proposal.status.label.lower()))
    before = proposal.status.value
    proposal.status = ProposalStatus.WITHDRAWN
    proposal.version += 1
    audit.record(
        actor, "withdraw-proposal", f"proposal:{proposal.id}", cycle_id=proposal.cycle_id,
        before={"status": before}, after={"status": proposal.status.value},
    )
    return proposal


def proposals_by(actor: User, cycle_id: int | None = None) -> list[Proposal]:
    query = select(Proposal).where(Proposal.author_id == actor.id).order_by(Proposal.created_at.desc())
    if cycle_id is not None:
        query = query.where(Proposal.cycle_id == cycle_id)
    return list(db.session.scalars(query))


def get_proposal(proposal_id: int) -> Proposal:
    return load(Proposal, proposal_id, "proposal")


def public_proposals(cycle: Cycle, district_id: int | None = None) -> list[Proposal]:
    """What everyone may see: proposals once submitted, except withdrawn ones."""
    query = (
        select(Proposal)
        .where(Proposal.cycle_id == cycle.id, Proposal.status != ProposalStatus.WITHDRAWN)
        .order_by(Proposal.title)
    )
    if district_id is not None:
        query = query.where(Proposal.district_id == district_id)
    return list(db.session.scalars(query))


def projects_on_ballot(cycle_id: int, district_id: int) -> list[Proposal]:
    """The accepted projects of a district, with their categories in the same query (the ballot shows them)."""
    return list(
        db.session.scalars(
            select(Proposal)
            .options(joinedload(Proposal.category))
            .where(
                Proposal.cycle_id == cycle_id,
                Proposal.district_id == district_id,
                Proposal.status == ProposalStatus.ACCEPTED,
            )
            .order_by(Proposal.title, Proposal.id)
        )
    )


def project_costs(cycle_id: int, district_id: int) -> dict[int, int]:
    """What each project on a district's ballot costs, by id: all a submitted ballot is checked against."""
    rows = db.session.execute(
        select(Proposal.id, Proposal.final_cost, Proposal.estimated_cost).where(
            Proposal.cycle_id == cycle_id,
            Proposal.district_id == district_id,
            Proposal.status == ProposalStatus.ACCEPTED,
        )
    )
    # The same rule as Proposal.cost: the moderator's final cost once set, the author's estimate before.
    return {project_id: final if final is not None else estimate for project_id, final, estimate in rows}
