"""Residents asking to be verified after a document check, and the moderators' queue of those requests.

A resident asks for one district of a cycle (with an optional note: when they can come in, which document they
have); a moderator checks the documents, then verifies them (the same in-person verification as the residents page)
or declines with a reason the resident reads. One open request per resident and cycle; the resident can cancel it.
"""

from sqlalchemy import func, select
from sqlalchemy.orm import joinedload

from pb.domain import cycle as cycle_rules
from pb.domain.errors import PermissionDenied, ValidationError
from pb.domain.messages import N_
from pb.extensions import db
from pb.models import Cycle, District, User, Verification, VerificationRequest, utcnow
from pb.pagination import Page, paginate
from pb.services import audit, load, use_case, voting

OPEN, VERIFIED, DECLINED, CANCELLED = "open", "verified", "declined", "cancelled"
MAX_NOTE_LENGTH = 500
STATUS_LABELS = {
    OPEN: N_("Waiting for a moderator"),
    VERIFIED: N_("Verified"),
    DECLINED: N_("Declined"),
    CANCELLED: N_("Cancelled"),
}


def _district_of(cycle: Cycle, district_id: object) -> District:
    district = next((d for d in cycle.districts if d.id == district_id), None)
    if district is None:
        raise ValidationError(N_("Choose one of the cycle's districts."))
    return district


def get_request(request_id: object) -> VerificationRequest:
    return load(VerificationRequest, request_id, "verification request")


def open_request(user: User, cycle: Cycle) -> VerificationRequest | None:
    return db.session.scalars(
        select(VerificationRequest).where(VerificationRequest.user_id == user.id,
                                          VerificationRequest.cycle_id == cycle.id, VerificationRequest.status == OPEN)
    ).first()


def latest_request(user: User, cycle: Cycle) -> VerificationRequest | None:
    """The resident's most recent request in the cycle, whatever became of it (what their page shows)."""
    return db.session.scalars(
        select(VerificationRequest).where(VerificationRequest.user_id == user.id, VerificationRequest.cycle_id == cycle.id)
        .order_by(VerificationRequest.created_at.desc(), VerificationRequest.id.desc()).limit(1)
    ).first()


def ask_blockers(user: User, cycle: Cycle) -> list[str]:
    """Why this resident cannot ask to be verified in this cycle now (empty: they can)."""
    if not cycle_rules.is_allowed("verify-resident", cycle.phase):
        return [N_("Residents can be verified from the opening of proposals until voting closes.")]
    if db.session.scalar(select(func.count()).select_from(Verification)
                         .where(Verification.user_id == user.id, Verification.cycle_id == cycle.id)):
        return [N_("You are already verified in this cycle.")]
    if open_request(user, cycle) is not None:
        return [N_("You have already asked; a moderator will answer your request. You can cancel it first.")]
    return []


@use_case
def ask(actor: User, cycle_id: int, district_id: int, note: str = "") -> VerificationRequest:
    """A resident asks a moderator to verify them in a district, after the moderator checks their documents."""
    cycle = load(Cycle, cycle_id, "cycle")
    # Lock the resident's row: two requests sent at once take turns (the partial unique index is the last word).
    load(User, actor.id, "user", for_update=True)
    district = _district_of(cycle, district_id)
    blockers = ask_blockers(actor, cycle)
    if blockers:
        raise ValidationError(blockers[0])
    note = (note or "").strip()
    if len(note) > MAX_NOTE_LENGTH:
        raise ValidationError(N_("The note can be at most {count} characters long.", count=MAX_NOTE_LENGTH))
    request = VerificationRequest(cycle_id=cycle.id, user_id=actor.id, district_id=district.id, note=note, status=OPEN,
                                  reason="")
    db.session.add(request)
    db.session.flush()
    audit.record(actor, "ask-verification", f"user:{actor.id}", cycle_id=cycle.id,
                 after={"district": district.name, "request": request.id})
    return request


def _open_request_for_update(request_id: object) -> VerificationRequest:
    request = load(VerificationRequest, request_id, "verification request", for_update=True)
    if request.status != OPEN:
        raise ValidationError(N_("This request has already been answered or cancelled: {status}.",
                                 status=STATUS_LABELS[request.status].lower()))
    return request


@use_case
def cancel(actor: User, request_id: int) -> VerificationRequest:
    """The resident takes back their open request."""
    request = _open_request_for_update(request_id)
    if request.user_id != actor.id:
        raise PermissionDenied("Only the resident who asked can cancel the request.")
    request.status, request.decided_at = CANCELLED, utcnow()
    audit.record(actor, "cancel-verification-request", f"user:{actor.id}", cycle_id=request.cycle_id,
                 before={"status": OPEN}, after={"status": CANCELLED, "request": request.id})
    return request


def _moderated(actor: User, request_id: object) -> VerificationRequest:
    if not actor.is_moderator:
        raise PermissionDenied("Only moderators and officials can answer verification requests.")
    request = _open_request_for_update(request_id)
    if request.user_id == actor.id:
        raise PermissionDenied("You cannot verify yourself; ask another moderator or official.")
    return request


@use_case
def verify(actor: User, request_id: int) -> Verification:
    """A moderator, having checked the documents, verifies the resident for the district they asked for."""
    request = _moderated(actor, request_id)
    # The same checks and record as verifying someone from the residents page, inside this one transaction.
    verification = voting.verify_resident.__wrapped__(actor, request.user_id, request.district_id)
    request.status, request.decided_at, request.decided_by_id = VERIFIED, utcnow(), actor.id
    audit.record(actor, "answer-verification-request", f"user:{request.user_id}", cycle_id=request.cycle_id,
                 before={"status": OPEN}, after={"status": VERIFIED, "request": request.id})
    return verification


@use_case
def decline(actor: User, request_id: int, reason: str) -> VerificationRequest:
    """A moderator declines the request with a reason the resident reads (say, the document did not show the address)."""
    request = _moderated(actor, request_id)
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError(N_("Give the resident a reason."), field="reason")
    if len(reason) > MAX_NOTE_LENGTH:
        raise ValidationError(N_("The reason can be at most {count} characters long.", count=MAX_NOTE_LENGTH),
                              field="reason")
    request.status, request.decided_at, request.decided_by_id, request.reason = DECLINED, utcnow(), actor.id, reason
    audit.record(actor, "answer-verification-request", f"user:{request.user_id}", cycle_id=request.cycle_id,
                 before={"status": OPEN}, after={"status": DECLINED, "request": request.id, "reason": reason})
    return request


def _queue_query(cycle: Cycle, district_id: int | None):
    query = (
        select(VerificationRequest)
        .where(VerificationRequest.cycle_id == cycle.id, VerificationRequest.status == OPEN)
        .options(joinedload(VerificationRequest.user), joinedload(VerificationRequest.district))
        .order_by(VerificationRequest.created_at, VerificationRequest.id)
    )
    if district_id is not None:
        query = query.where(VerificationRequest.district_id == district_id)
    return query


def queue_page(cycle: Cycle, district_id: int | None, number: int, size: int = 50) -> Page:
    """One page of the open requests, oldest first."""
    return paginate(_queue_query(cycle, district_id), number, size)


def open_count(cycle: Cycle, district_id: int | None = None) -> int:
    query = select(func.count()).select_from(VerificationRequest).where(
        VerificationRequest.cycle_id == cycle.id, VerificationRequest.status == OPEN)
    if district_id is not None:
        query = query.where(VerificationRequest.district_id == district_id)
    return db.session.scalar(query) or 0

