"""A person's own account: confirming the address, resetting the password, changing the address, the profile, the
download of everything pb holds about them, and deleting the account.

Every link pb emails is an itsdangerous token signed with SECRET_KEY under its own salt, carrying the time it was
signed; nothing about it is stored. A link is bound to what it is for: a confirmation to the address it was sent to,
a reset to a fingerprint of the password hash and session version (so it works once, and stops working when the
password changes any other way), an address change to the old and the new address.
"""

import hashlib
import hmac
import json
import secrets
import time
from datetime import UTC, datetime

from flask import current_app, url_for
from itsdangerous import BadData, TimestampSigner, URLSafeTimedSerializer
from sqlalchemy import delete, or_, select, update

from pb.domain import notifications
from pb.domain.cycle import Phase
from pb.domain.errors import PermissionDenied, ValidationError
from pb.domain.messages import N_
from pb.extensions import db
from pb.i18n import LANGUAGES
from pb.models import (
    AuditEntry,
    BallotChoice,
    Comment,
    CommentFlag,
    Follow,
    Implementation,
    ImplementationUpdate,
    OutboxMessage,
    PaperEntry,
    Participation,
    ProjectResult,
    Proposal,
    ProposalDocument,
    ProposalPhoto,
    ProposalStatus,
    RegisterEntry,
    RegisterUpload,
    ResultApproval,
    ResultRevision,
    RoleChange,
    SiteIdentity,
    SiteText,
    TallyRun,
    User,
    Support,
    Verification,
    VerificationAttempt,
    VerificationRequest,
    VotingCode,
    VotingCodeBatch,
    utcnow,
)
from pb.security import hash_password, password_matches
from pb.services import audit, load, mail, use_case, users

_CONFIRM_SALT = "pb confirm address"
_RESET_SALT = "pb reset password"
_CHANGE_SALT = "pb change address"
FORMER_RESIDENT = N_("a former resident")
BALLOT_CHOICES = N_(
    "Not included, because pb cannot know them: an online ballot is sealed without your name, and when voting closes "
    "the ballots are shuffled and stored with no link to any account. Only you hold your receipt code, which finds "
    "your ballot in the public list."
)
INVALID_LINK = N_("This link is not valid or has expired. Ask for a new one.")
_DELETABLE_PHASES = (Phase.RESULTS, Phase.CLOSED)


def _serializer(salt: str, signed_at: datetime | None = None) -> URLSafeTimedSerializer:
    if signed_at is None:
        return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=salt)
    moment = int(signed_at.replace(tzinfo=UTC).timestamp())

    class SignedThen(TimestampSigner):  # a link as if sent at `signed_at`: the tests pass time this way, not waiting
        def get_timestamp(self) -> int:
            return moment

    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=salt, signer=SignedThen)


def _read(salt: str, token: str, max_age_seconds: int) -> dict:
    try:
        data = _serializer(salt).loads(token or "", max_age=max_age_seconds)
    except BadData:
        raise ValidationError(INVALID_LINK) from None
    if not isinstance(data, dict):
        raise ValidationError(INVALID_LINK)
    return data


def _user_of(data: dict) -> User:
    user_id = data.get("u")
    user = db.session.get(User, user_id) if isinstance(user_id, int) and 0 < user_id < 2**31 else None
    if user is None or user.deleted_at is not None:
        raise ValidationError(INVALID_LINK)
    return user


def _link(endpoint: str, token: str) -> str:
    with current_app.test_request_context("/", base_url=current_app.config["BASE_URL"]):
        return url_for(endpoint, token=token, _external=True)


def _mask(address: str) -> str:
    """n…@example.org: enough for the owner to recognise an address, not enough to learn it."""
    local, _, domain = address.partition("@")
    return f"{local[:1]}…@{domain}"


# --- confirming the address ----------------------------------------------------------------------------------------


def confirmation_token(user: User, signed_at: datetime | None = None) -> str:
    return _serializer(_CONFIRM_SALT, signed_at).dumps({"u": user.id, "e": user.email})


def send_confirmation(user: User) -> None:
    """Email the link that confirms the account's address (inside the caller's use case)."""
    mail.notify(user, notifications.SECURITY, "confirm_email", name=user.name,
                link=_link("auth.confirm_email", confirmation_token(user)),
                hours=current_app.config["CONFIRM_LINK_HOURS"])


def tell_of_registration_attempt(user: User) -> None:
    mail.notify(user, notifications.SECURITY, "register_attempt", name=user.name)
    audit.record(None, "register-attempt", f"user:{user.id}")


@use_case
def resend_confirmation(actor: User) -> None:
    """The confirmation email again, for an account whose owner has not followed the first one."""
    user = load(User, actor.id, "user")
    if user.is_confirmed:
        raise ValidationError(N_("Your email address is already confirmed."))
    send_confirmation(user)


@use_case
def confirm_email(token: str) -> User:
    """Following the emailed link: the address is the owner's. A link for an address since changed does nothing."""
    data = _read(_CONFIRM_SALT, token, int(current_app.config["CONFIRM_LINK_HOURS"]) * 3600)
    user = _user_of(data)
    if data.get("e") != user.email:
        raise ValidationError(INVALID_LINK)
    if user.email_confirmed_at is None:
        user.email_confirmed_at = utcnow()
        audit.record(user, "confirm-email", f"user:{user.id}")
    return user


def require_confirmed(user: User) -> None:
    """Refuse what needs a confirmed address (proposing, verifying), saying why and what to do."""
    if not user.is_confirmed:
        raise PermissionDenied(N_(
            "Confirm your email address first: follow the link in the email pb sent you when you registered. "
            "No email? Use \"Send the confirmation email again\" at the top of the page."
        ))


# --- password reset ------------------------------------------------------------------------------------------------


def _fingerprint(user: User) -> str:
    key = str(current_app.config["SECRET_KEY"]).encode()
    text = f"{user.id}|{user.password_hash}|{user.session_version}".encode()
    return hmac.new(key, text, hashlib.sha256).hexdigest()[:24]


def reset_token(user: User, signed_at: datetime | None = None) -> str:
    return _serializer(_RESET_SALT, signed_at).dumps({"u": user.id, "f": _fingerprint(user)})


@use_case
def request_password_reset(email: str) -> None:
    """Email a reset link if the address has a usable account; the caller answers the same either way."""
    user = users.find_by_email(email)
    if user is None or user.deleted_at is not None or not user.is_enabled:
        return
    mail.notify(user, notifications.SECURITY, "password_reset", name=user.name,
                link=_link("auth.reset_password", reset_token(user)),
                minutes=current_app.config["RESET_LINK_MINUTES"])
    audit.record(None, "request-password-reset", f"user:{user.id}")


def _reset_user(token: str) -> User:
    data = _read(_RESET_SALT, token, int(current_app.config["RESET_LINK_MINUTES"]) * 60)
    user = _user_of(data)
    if not user.is_enabled or not hmac.compare_digest(str(data.get("f", "")), _fingerprint(user)):
        raise ValidationError(INVALID_LINK)  # used already, or the password changed since
    return user


def check_reset_link(token: str) -> User:
    """The account a reset link is for, while the link still works (to show the form)."""
    return _reset_user(token)


def reset_password(token: str, new_password: str) -> User:
    """Set a new password from a reset link: the link stops working, every session ends, the address is confirmed."""
    user = _reset_user(token)
    users._check_password(new_password, user.email, user.name)  # before hashing, so a refusal is quick
    return _store_reset(token, hash_password(new_password))


@use_case
def _store_reset(token: str, new_hash: str) -> User:
    user = _reset_user(token)  # again inside the transaction: two uses of one link at once, one lands
    user.password_hash = new_hash
    user.session_version += 1
    if user.email_confirmed_at is None:
        user.email_confirmed_at = utcnow()  # they read the mail sent to this address
    audit.record(user, "reset-password", f"user:{user.id}")
    mail.notify(user, notifications.SECURITY, "password_changed", name=user.name)
    return user


# --- changing the address ------------------------------------------------------------------------------------------


def address_change_token(user: User, new_email: str, signed_at: datetime | None = None) -> str:
    return _serializer(_CHANGE_SALT, signed_at).dumps({"u": user.id, "old": user.email, "new": new_email})


@use_case
def request_email_change(actor: User, new_email: str, password: str) -> str:
    """Send a confirmation link to the new address and tell the old one; nothing changes until the link is followed.

    If the new address belongs to another account, that address is told instead, and the answer here is the same:
    this page must not tell anyone which addresses have accounts.
    """
    user = load(User, actor.id, "user")
    if not password_matches(user.password_hash, password or ""):
        raise ValidationError(N_("Your current password is not right; nothing was changed."))
    new_email = users.normalise_email(new_email)
    users.check_email(new_email)
    if new_email == user.email:
        raise ValidationError(N_("This is already your address."))
    if users.find_by_email(new_email) is not None:
        mail.send_to_address(new_email, "email_taken", user.locale)
    else:
        mail.send_to_address(new_email, "confirm_new_email", user.locale, name=user.name,
                             link=_link("profile.confirm_email_change", address_change_token(user, new_email)),
                             hours=current_app.config["CONFIRM_LINK_HOURS"])
    mail.notify(user, notifications.SECURITY, "email_change_requested", name=user.name, masked=_mask(new_email))
    audit.record(user, "request-email-change", f"user:{user.id}")
    return new_email


@use_case
def confirm_email_change(token: str) -> User:
    data = _read(_CHANGE_SALT, token, int(current_app.config["CONFIRM_LINK_HOURS"]) * 3600)
    user = _user_of(data)
    old, new = data.get("old"), data.get("new")
    if old != user.email or not isinstance(new, str):
        raise ValidationError(INVALID_LINK)  # used already, or the address changed another way since
    if users.find_by_email(new) is not None:
        raise ValidationError(N_("Another account uses this address now, so your address was not changed."))
    user.email = new
    user.email_confirmed_at = utcnow()
    audit.record(user, "change-email", f"user:{user.id}")  # no addresses: the log cannot forget them later
    mail.send_to_address(old, "email_changed", user.locale, name=user.name, masked=_mask(new))
    return user


# --- the profile ---------------------------------------------------------------------------------------------------


def kinds_for(user: User) -> list[str]:
    """The notification kinds this person's profile shows: security (always on), then what their role receives."""
    hidden = set()
    if not user.is_official:
        hidden.add(notifications.OFFICIAL_ALERTS)
    if not user.is_moderator:
        hidden.add(notifications.MODERATION_DIGEST)
    return [kind for kind in notifications.KINDS if kind not in hidden]


@use_case
def update_profile(actor: User, name: str, locale: str | None, wanted: list[str]) -> User:
    """Name, language and which messages to get; kinds the profile does not show this person keep their setting."""
    user = load(User, actor.id, "user")
    name = " ".join((name or "").split())
    if not name:
        raise ValidationError(N_("Enter your name."))
    if len(name) > 120:
        raise ValidationError(N_("Keep your name under 120 characters."))
    locale = locale or None
    if locale is not None and locale not in LANGUAGES:
        raise ValidationError(N_("Choose one of the listed languages."))
    shown = {kind for kind in kinds_for(user) if notifications.can_turn_off(kind)}
    if not set(wanted or ()) <= set(notifications.KINDS):
        raise ValidationError(N_("Choose from the listed messages."))
    muted = (notifications.muted_kinds(user.muted_notifications) - shown) | (shown - set(wanted or ()))
    before = {"name": user.name, "locale": user.locale, "muted": user.muted_notifications}
    user.name, user.locale, user.muted_notifications = name, locale, notifications.store_muted(muted)
    after = {"name": user.name, "locale": user.locale, "muted": user.muted_notifications}
    if before != after:
        # Only what changed, and never the name: the log keeps it after the account is deleted.
        changed = sorted(key for key in before if before[key] != after[key])
        audit.record(user, "update-profile", f"user:{user.id}", after={"changed": changed})
    return user


# --- download my data ----------------------------------------------------------------------------------------------


def _when(value) -> str | None:
    return value.isoformat() if value is not None else None


def _audit_row(entry: AuditEntry) -> dict:
    def parsed(text: str):
        try:
            return json.loads(text) if text else None
        except ValueError:
            return text

    return {"at": _when(entry.at), "action": entry.action, "subject": entry.subject, "cycle_id": entry.cycle_id,
            "by_you": None, "before": parsed(entry.before), "after": parsed(entry.after)}


def personal_data(actor: User) -> dict:
    """Everything pb holds about this person, for them to download (GDPR article 15 and 20).

    Each table with a link to an account (every users.id foreign key in pb/models.py) is read here; other people's
    personal details are left out (a verifier is named by role, not by name or address).
    """
    user = db.session.get(User, actor.id)
    uid = user.id

    def rows(query):
        return list(db.session.scalars(query))

    proposals = rows(select(Proposal).where(Proposal.author_id == uid).order_by(Proposal.id))
    history_subjects = [f"proposal:{proposal.id}" for proposal in proposals]
    history: dict[str, list] = {subject: [] for subject in history_subjects}
    if history_subjects:
        for entry in rows(select(AuditEntry).where(AuditEntry.subject.in_(history_subjects))
                          .order_by(AuditEntry.sequence)):
            history[entry.subject].append({**_audit_row(entry), "by_you": entry.actor_id == uid})
    audit_rows = []
    for entry in rows(select(AuditEntry).where(or_(AuditEntry.actor_id == uid, AuditEntry.subject == f"user:{uid}"))
                      .order_by(AuditEntry.sequence)):
        audit_rows.append({**_audit_row(entry), "by_you": entry.actor_id == uid})

    def verifier_role(verifier_id: int) -> str:
        if verifier_id == uid:
            return "yourself"
        verifier = db.session.get(User, verifier_id)
        return verifier.role.value if verifier is not None else "unknown"

    return {
        "about": "Everything pb holds about your account, as of the time in 'exported_at' (UTC).",
        "exported_at": _when(utcnow()),
        "account": {
            "id": uid, "email": user.email, "name": user.name, "role": user.role.value,
            "is_enabled": user.is_enabled, "created_at": _when(user.created_at),
            "email_confirmed_at": _when(user.email_confirmed_at), "language": user.locale,
            "messages_turned_off": sorted(notifications.muted_kinds(user.muted_notifications)),
            "password": "stored only as a salted one-way hash, which is not included",
        },
        "ballot_choices": str(BALLOT_CHOICES),
        "verifications": [
            {"cycle": v.district.cycle.name, "district": v.district.name, "verified_at": _when(v.created_at),
             "method": v.method, "verified_by": verifier_role(v.verified_by_id)}
            for v in rows(select(Verification).where(Verification.user_id == uid).order_by(Verification.id))
        ],
        "verifications_you_made": [
            {"cycle": v.district.cycle.name, "district": v.district.name, "at": _when(v.created_at),
             "method": v.method}
            for v in rows(select(Verification).where(Verification.verified_by_id == uid,
                                                     Verification.user_id != uid).order_by(Verification.id))
        ],
        "failed_verification_attempts": [
            {"cycle_id": a.cycle_id, "method": a.method, "at": _when(a.at), "lifted_by_an_official": a.is_lifted}
            for a in rows(select(VerificationAttempt).where(VerificationAttempt.user_id == uid)
                          .order_by(VerificationAttempt.id))
        ],
        "register_entry_used": [
            {"cycle_id": e.cycle_id, "district": e.district.name, "used_at": _when(e.used_at),
             "stored_as": "a keyed hash of your document number, date of birth and postcode"}
            for e in rows(select(RegisterEntry).where(RegisterEntry.used_by_id == uid))
        ],
        "voting_code_used": [
            {"cycle_id": c.cycle_id, "district": c.district.name, "number": c.number, "used_at": _when(c.used_at)}
            for c in rows(select(VotingCode).where(VotingCode.used_by_id == uid))
        ],
        "voting_codes_you_generated_or_cancelled": [
            {"cycle_id": c.cycle_id, "district": c.district.name, "number": c.number,
             "generated_by_you": c.created_by_id == uid, "created_at": _when(c.created_at),
             "cancelled_by_you": c.voided_by_id == uid, "cancelled_at": _when(c.voided_at)}
            for c in rows(select(VotingCode).where(or_(VotingCode.created_by_id == uid, VotingCode.voided_by_id == uid))
                          .order_by(VotingCode.id))
        ],
        "paper_participation": [
            {"cycle_id": p.cycle_id, "district_id": p.district_id, "channel": p.channel, "voted_on": _when(p.voted_on)}
            for p in rows(select(Participation).where(Participation.user_id == uid))
        ],
        "supports": [
            {"proposal_id": s.proposal_id, "cycle_id": s.cycle_id, "district_id": s.district_id,
             "supported_at": _when(s.created_at)}
            for s in rows(select(Support).where(Support.user_id == uid).order_by(Support.id))
        ],
        "proposals": [
            {"id": p.id, "cycle": p.cycle.name, "district": p.district.name,
             "category": p.category.name if p.category else None, "title": p.title, "summary": p.summary,
             "description": p.description, "location": p.location, "latitude": p.latitude, "longitude": p.longitude,
             "estimated_cost": p.estimated_cost,
             "final_cost": p.final_cost, "currency": p.cycle.currency, "status": p.status.value,
             "moderator_note": p.moderator_note, "merged_into_id": p.merged_into_id, "version": p.version,
             "created_at": _when(p.created_at), "updated_at": _when(p.updated_at),
             "history": history[f"proposal:{p.id}"]}
            for p in proposals
        ],
        # Photos and documents: what pb stored (the photos without their metadata), not the files themselves.
        "photos_you_uploaded": [
            {"proposal_id": p.proposal_id, "alt_text": p.alt_text, "width": p.width, "height": p.height,
             "uploaded_at": _when(p.created_at)}
            for p in rows(select(ProposalPhoto).where(ProposalPhoto.uploaded_by_id == uid).order_by(ProposalPhoto.id))
        ],
        "documents_you_uploaded": [
            {"proposal_id": d.proposal_id, "title": d.title, "filename": d.filename, "bytes": d.byte_size,
             "uploaded_at": _when(d.created_at)}
            for d in rows(select(ProposalDocument).where(ProposalDocument.uploaded_by_id == uid)
                          .order_by(ProposalDocument.id))
        ],
        "implementation_updates_you_wrote": [
            {"project_id": u.project_id, "posted_on": _when(u.posted_on), "text": u.text,
             "created_at": _when(u.created_at)}
            for u in rows(select(ImplementationUpdate).where(ImplementationUpdate.author_id == uid))
        ],
        "implementations_you_last_updated": [
            {"project_id": i.project_id, "status": i.status.value, "updated_at": _when(i.updated_at)}
            for i in rows(select(Implementation).where(Implementation.updated_by_id == uid))
        ],
        "paper_entries_you_typed": [
            {"sheet_id": e.sheet_id, "choices": json.loads(e.choices or "[]"), "is_spoilt": e.is_spoilt,
             "created_at": _when(e.created_at)}
            for e in rows(select(PaperEntry).where(PaperEntry.entered_by_id == uid))
        ],
        "counts_you_ran": [
            {"cycle_id": t.cycle_id, "district": t.district.name, "rule": t.rule, "at": _when(t.created_at)}
            for t in rows(select(TallyRun).where(TallyRun.run_by_id == uid))
        ],
        "result_approvals": [
            {"cycle_id": a.cycle_id, "count_digest": a.count_digest, "approved_at": _when(a.approved_at)}
            for a in rows(select(ResultApproval).where(ResultApproval.official_id == uid))
        ],
        "result_corrections": [
            {"cycle_id": r.cycle_id, "number": r.number, "proposed_by_you": r.proposed_by_id == uid,
             "approved_by_you": r.approved_by_id == uid, "reason": r.reason, "proposed_at": _when(r.proposed_at),
             "published_at": _when(r.published_at)}
            for r in rows(select(ResultRevision).where(or_(ResultRevision.proposed_by_id == uid,
                                                           ResultRevision.approved_by_id == uid)))
        ],
        "register_uploads": [
            {"cycle_id": u.cycle_id, "filename": u.filename, "lines": u.line_count, "at": _when(u.created_at)}
            for u in rows(select(RegisterUpload).where(RegisterUpload.uploaded_by_id == uid))
        ],
        "role_changes": [
            {"about_you": c.user_id == uid, "requested_by_you": c.requested_by_id == uid,
             "decided_by_you": c.decided_by_id == uid, "role_before": c.role_before.value,
             "role_after": c.role_after.value, "reason": c.reason, "status": c.status,
             "requested_at": _when(c.requested_at), "decided_at": _when(c.decided_at)}
            for c in rows(select(RoleChange).where(or_(RoleChange.user_id == uid, RoleChange.requested_by_id == uid,
                                                       RoleChange.decided_by_id == uid)).order_by(RoleChange.id))
        ],
        "site_texts_you_edited": [
            {"key": t.key, "updated_at": _when(t.updated_at)}
            for t in rows(select(SiteText).where(SiteText.updated_by_id == uid))
        ],
        "city_identity_you_last_edited": [
            {"name": i.name, "updated_at": _when(i.updated_at)}
            for i in rows(select(SiteIdentity).where(SiteIdentity.updated_by_id == uid))
        ],
        "verification_requests": [
            {"cycle_id": r.cycle_id, "district": r.district.name, "note": r.note, "status": r.status,
             "asked_at": _when(r.created_at), "decided_at": _when(r.decided_at), "reason": r.reason or None}
            for r in rows(select(VerificationRequest).where(VerificationRequest.user_id == uid)
                          .order_by(VerificationRequest.id))
        ],
        "verification_requests_you_decided": [
            {"cycle_id": r.cycle_id, "district": r.district.name, "status": r.status, "at": _when(r.decided_at)}
            for r in rows(select(VerificationRequest).where(VerificationRequest.decided_by_id == uid,
                                                            VerificationRequest.user_id != uid)
                          .order_by(VerificationRequest.id))
        ],
        "voting_code_batches_you_generated": [
            {"cycle_id": b.cycle_id, "district": b.district.name, "numbers": f"{b.first_number}-{b.last_number}",
             "created_at": _when(b.created_at), "forgotten_at": _when(b.forgotten_at)}
            for b in rows(select(VotingCodeBatch).where(VotingCodeBatch.created_by_id == uid)
                          .order_by(VotingCodeBatch.id))
        ],
        "comments": [
            {"id": c.id, "proposal_id": c.proposal_id, "reply_to": c.parent_id, "text": c.body,
             "created_at": _when(c.created_at), "edited_at": _when(c.edited_at), "deleted_at": _when(c.deleted_at),
             "hidden_at": _when(c.hidden_at), "hidden_reason": c.hidden_reason or None}
            for c in rows(select(Comment).where(Comment.author_id == uid).order_by(Comment.id))
        ],
        "comments_you_hid": [
            {"comment_id": c.id, "proposal_id": c.proposal_id, "reason": c.hidden_reason, "at": _when(c.hidden_at)}
            for c in rows(select(Comment).where(Comment.hidden_by_id == uid).order_by(Comment.id))
        ],
        "comments_you_flagged": [
            {"comment_id": f.comment_id, "reason": f.reason, "at": _when(f.created_at),
             "resolved_at": _when(f.resolved_at)}
            for f in rows(select(CommentFlag).where(CommentFlag.user_id == uid).order_by(CommentFlag.id))
        ],
        "proposals_you_follow": [
            {"proposal_id": f.proposal_id, "since": _when(f.created_at)}
            for f in rows(select(Follow).where(Follow.user_id == uid).order_by(Follow.proposal_id))
        ],
        "emails": [
            {"to": m.recipient, "subject": m.subject, "kind": m.kind, "status": m.status,
             "written_at": _when(m.created_at), "sent_at": _when(m.sent_at)}
            for m in rows(select(OutboxMessage).where(or_(OutboxMessage.user_id == uid,
                                                          OutboxMessage.recipient == user.email))
                          .order_by(OutboxMessage.id))
        ],
        "audit_log": audit_rows,
    }


# --- deleting the account ------------------------------------------------------------------------------------------


def _is_needed(proposal: Proposal) -> bool:
    """Whether a cycle still needs this proposal, so it stays (credited to a former resident) when its author leaves.

    Everything that reached the ballot, everything in a cycle still running, and anything another row points to.
    Only withdrawn, rejected or not selected (too few supports) proposals of a cycle with published results go.
    """
    if proposal.status not in (ProposalStatus.WITHDRAWN, ProposalStatus.REJECTED, ProposalStatus.NOT_SELECTED):
        return True
    if proposal.cycle.phase not in _DELETABLE_PHASES:
        return True
    pointed_at = (
        select(Proposal.id).where(Proposal.merged_into_id == proposal.id),
        select(BallotChoice.ballot_id).where(BallotChoice.project_id == proposal.id),
        select(ProjectResult.id).where(ProjectResult.project_id == proposal.id),
        select(Implementation.id).where(Implementation.project_id == proposal.id),
        select(ImplementationUpdate.id).where(ImplementationUpdate.project_id == proposal.id),
    )
    return any(db.session.scalar(query.limit(1)) is not None for query in pointed_at)


def check_password_for(actor: User, password: str) -> None:
    if not password_matches(actor.password_hash, password or ""):
        raise ValidationError(N_("Your current password is not right; nothing was changed."))


@use_case
def delete_account(actor: User, password: str) -> dict[str, int]:
    """Remove the person from pb: their details go, what the record of a cycle needs stays under "a former resident".

    - account: name, address, password, language and choices are replaced; sessions end; it can never log in again,
      and the address may register anew;
    - proposals a cycle still needs stay, credited to a former resident (see _is_needed); proposals still waiting
      for review in a running cycle are withdrawn (nobody can answer a request for changes any more); withdrawn
      and rejected ones of finished cycles are deleted;
    - supports, verifications, paper participation and the register entry or code used stay, pointing to the anonymised
      account: turnout and "one person, one vote" need them; failed verification attempts are deleted;
    - photos and documents they added to proposals that stay, stay with them (part of the proposal, metadata
      already stripped); those of deleted proposals are deleted, files included;
    - their requests to be verified are deleted (with the note they wrote); failed attempts likewise;
    - every email to them in the outbox is deleted (sent ones held their address and name);
    - comments stay in their discussions without an author ("a former resident"), flags stay without the flagger,
      follows are deleted;
    - ballots are untouched: they are linked to no one;
    - the audit log stays (it is the record; see docs/threat-model.md).
    """
    user = load(User, actor.id, "user")
    check_password_for(user, password)
    if user.is_official:
        raise PermissionDenied(N_(
            "An official cannot delete their own account: ask another official to change your role first (a second "
            "official approves that change), then delete the account."
        ))
    old_email = user.email
    deleted = withdrawn = kept = 0
    for proposal in db.session.scalars(select(Proposal).where(Proposal.author_id == user.id)).all():
        if not _is_needed(proposal):
            from pb.services import media  # media uses proposals, which use this module

            media.forget_files_of(proposal.id)  # its photo and document rows go with it; the files after the commit
            db.session.delete(proposal)
            deleted += 1
            continue
        kept += 1
        if (proposal.status in (ProposalStatus.SUBMITTED, ProposalStatus.CHANGES_REQUESTED)
                and proposal.cycle.phase in (Phase.DRAFT, Phase.PROPOSALS, Phase.SUPPORTS, Phase.REVIEW)):
            proposal.status = ProposalStatus.WITHDRAWN
            proposal.version += 1
            withdrawn += 1
            audit.record(user, "withdraw-proposal", f"proposal:{proposal.id}", cycle_id=proposal.cycle_id,
                         after={"status": "withdrawn", "reason": "account deleted"})
    db.session.execute(delete(OutboxMessage).where(or_(OutboxMessage.user_id == user.id,
                                                       OutboxMessage.recipient == old_email)))
    db.session.execute(delete(VerificationAttempt).where(VerificationAttempt.user_id == user.id))
    # A request to be verified holds the resident's own note: it goes with them (a verification it led to stays).
    db.session.execute(delete(VerificationRequest).where(VerificationRequest.user_id == user.id))
    # Comments stay for the discussions they belong to, with no author (shown as "a former resident"); flags stay
    # for the moderators, from no one; follows go.
    anonymised = db.session.execute(
        update(Comment).where(Comment.author_id == user.id).values(author_id=None)).rowcount
    db.session.execute(update(CommentFlag).where(CommentFlag.user_id == user.id).values(user_id=None))
    db.session.execute(delete(Follow).where(Follow.user_id == user.id))
    user.name = str(FORMER_RESIDENT)
    user.email = f"deleted-{secrets.token_hex(12)}@invalid"
    user.password_hash = f"!deleted {secrets.token_hex(16)} {int(time.time())}"  # matches no password
    user.session_version += 1
    user.locale = None
    user.muted_notifications = ""
    user.email_confirmed_at = None
    user.is_enabled = False
    user.deleted_at = utcnow()
    audit.record(user, "delete-account", f"user:{user.id}",
                 after={"proposals_kept": kept, "proposals_deleted": deleted, "proposals_withdrawn": withdrawn,
                        "comments_anonymised": anonymised})
    return {"kept": kept, "deleted": deleted, "withdrawn": withdrawn}


def display_name(user: User | None) -> str:
    """The name pages show for a person; a deleted account is "a former resident" in the reader's language."""
    from pb.i18n import translate

    if user is None:
        return ""
    return translate(FORMER_RESIDENT) if user.deleted_at is not None else user.name

