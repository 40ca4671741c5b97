"""Four eyes on the official role: one official requests a grant or removal with a reason, a different one approves.

Officials count the votes, type in paper sheets and approve results, each of them two at a time. That guarantee is
worth nothing if one official can make a second official account of their own, or remove the others; so the official
role changes only once two officials agree:

- one official requests the change, with a written reason; until a different official approves it nothing changes,
  and either of them (or any other official) may cancel it. An official may agree to their own removal (so that a
  city with two officials can let one go), never to their own promotion (they are not an official yet);
- no change is requested or approved while a cycle is being counted or a correction of published results waits
  for approval: the officials who count are fixed before the count starts;
- the last enabled official cannot be removed (nor disabled: `pb.services.users.set_enabled` asks for a removal
  first);
- two officials are not independent when one of them requested the other's promotion to official: such a pair is
  never accepted as the "second pair of eyes" for each other (counts, corrections, paper sheets, role changes).

The moderator role is granted and removed by one official at once, in the audit log as `change-role`: a moderator
can do nothing an official cannot already do alone (review proposals, verify residents, both in the audit log), so a
second approval would add paperwork, not protection. The command line (`flask pb create-user --role official`) is for
a server operator, who can change the database anyway; it is audited with no actor and `"via": "command line"`.
"""

from collections.abc import Iterable

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from pb.domain.cycle import Phase
from pb.domain.errors import ConflictError, NotFound, PermissionDenied, ValidationError
from pb.domain.messages import N_
from pb.extensions import db
from pb.models import Cycle, ResultRevision, Role, RoleChange, User, utcnow
from pb.services import audit, load, use_case

PENDING, APPROVED, CANCELLED = "pending", "approved", "cancelled"
MAX_REASON_LENGTH = 500


def needs_second_official(before: Role, after: Role) -> bool:
    """Whether a change of role grants or removes the official role (and so waits for a second official)."""
    return before is not after and Role.OFFICIAL in (before, after)


def _require_official(actor: User) -> None:
    if not actor.is_official or not actor.is_enabled:
        raise PermissionDenied("Only officials can change who is an official.")


def _checked_reason(reason: str) -> str:
    reason = " ".join((reason or "").split())
    if not reason:
        raise ValidationError(
            "Say why this person should gain or lose the official role; the reason is kept in the audit log and "
            "shown to the official who approves it. Nothing was changed."
        )
    if len(reason) > MAX_REASON_LENGTH:
        raise ValidationError(N_("Keep the reason under {most} characters. Nothing was changed.", most=MAX_REASON_LENGTH))
    return reason


def refuse_during_count() -> None:
    """Refuse while a cycle is being counted or a correction of its results waits for approval."""
    counting = db.session.scalars(select(Cycle.name).where(Cycle.phase == Phase.TALLYING).order_by(Cycle.name)).all()
    if counting:
        raise ConflictError(
            N_("Officials cannot be added or removed while votes are being counted ({cycles}): the officials who "
               "count and approve are fixed until the results are published. Nothing was changed.",
               cycles=", ".join(counting))
        )
    correcting = db.session.scalars(
        select(Cycle.name).join(ResultRevision, ResultRevision.cycle_id == Cycle.id)
        .where(ResultRevision.published_at.is_(None), ResultRevision.cancelled_at.is_(None)).order_by(Cycle.name)
    ).all()
    if correcting:
        raise ConflictError(
            N_("Officials cannot be added or removed while a correction of published results waits for approval "
               "({cycles}). Approve or cancel it first. Nothing was changed.", cycles=", ".join(correcting))
        )


def enabled_officials() -> int:
    return db.session.scalar(
        select(func.count()).select_from(User).where(User.role == Role.OFFICIAL, User.is_enabled.is_(True))
    )


def refuse_removing_the_last_official(user: User) -> None:
    """Refuse to take away the last enabled official: nobody could then count, approve or make a new official."""
    if user.is_official and user.is_enabled and enabled_officials() <= 1:
        raise ConflictError(
            N_("{name} is the last official; there must always be at least one. Nothing was changed.", name=user.name)
        )


def sponsor_pairs(user_ids: Iterable[int]) -> set[frozenset[int]]:
    """Every pair among these users where one requested (and got) the other's promotion to official."""
    ids = set(user_ids)
    if len(ids) < 2:
        return set()
    rows = db.session.execute(
        select(RoleChange.user_id, RoleChange.requested_by_id).where(
            RoleChange.status == APPROVED, RoleChange.role_after == Role.OFFICIAL,
            RoleChange.user_id.in_(ids), RoleChange.requested_by_id.in_(ids),
        )
    ).all()
    return {frozenset(row) for row in rows if row[0] != row[1]}


def are_independent(first_id: int, second_id: int) -> bool:
    """Whether two officials may be each other's second pair of eyes: neither requested the other's promotion."""
    return first_id != second_id and not sponsor_pairs([first_id, second_id])


def require_independent(actor: User, other_ids: Iterable[int], what: str) -> None:
    """Refuse when the actor and one of the other officials are one sponsor and the official they proposed."""
    for other_id in set(other_ids) - {actor.id}:
        if not are_independent(actor.id, other_id):
            other = db.session.get(User, other_id)
            raise ConflictError(
                N_("{what} needs two independent officials, and you and {name} are not: one of you proposed the "
                   "other as an official. Ask a third official. Nothing was changed.",
                   what=(what,), name=other.name if other else "?")
            )


def _pending_for(user: User) -> RoleChange | None:
    return db.session.scalar(select(RoleChange).where(RoleChange.pending_user_id == user.id))


def request_change(actor: User, user: User, role: Role, reason: str) -> RoleChange:
    """Inside a use case: record a request to grant or remove the official role; the role itself does not change."""
    _require_official(actor)
    reason = _checked_reason(reason)
    if not needs_second_official(user.role, role):
        raise ValidationError("Only granting or removing the official role waits for a second official.")
    if user.id == actor.id:
        raise ValidationError("You cannot change your own official role; ask another official.")
    if role is Role.OFFICIAL and not user.is_enabled:
        raise ValidationError(N_("{name}'s account is disabled; enable it before proposing them as an official.",
                                 name=user.name))
    refuse_during_count()
    if user.role is Role.OFFICIAL:
        refuse_removing_the_last_official(user)
    if _pending_for(user) is not None:
        raise ConflictError(
            N_("A change of {name}'s role already waits for approval; approve or cancel it first.", name=user.name)
        )
    change = RoleChange(user_id=user.id, role_before=user.role, role_after=role, reason=reason,
                        requested_by_id=actor.id, pending_user_id=user.id, status=PENDING)
    db.session.add(change)
    try:
        db.session.flush()
    except IntegrityError:
        raise ConflictError(
            N_("Someone requested a change of {name}'s role at the same moment; reload the page.", name=user.name)
        ) from None
    audit.record(actor, "request-role-change", f"user:{user.id}", before={"role": user.role.value},
                 after={"role": role.value, "reason": reason, "request": change.id})
    return change


def _locked_pending(change_id: int) -> RoleChange:
    found = db.session.scalar(
        select(RoleChange).where(RoleChange.id == change_id).with_for_update()
        .execution_options(populate_existing=True)
    ) if isinstance(change_id, int) and 0 < change_id < 2**31 else None
    if found is None:
        raise NotFound("There is no such role change.")
    if found.status == APPROVED:
        raise ConflictError("This role change was already approved; reload the page.")
    if found.status != PENDING:
        raise ConflictError("This role change was cancelled; reload the page.")
    return found


@use_case
def approve_change(actor: User, change_id: int) -> RoleChange:
    """A second official approves a requested role change; only now does the role change."""
    _require_official(actor)
    change = _locked_pending(change_id)
    if change.requested_by_id == actor.id:
        raise ConflictError("You requested this change; a different official must approve it.")
    require_independent(actor, [change.requested_by_id], N_("Changing who is an official"))
    user = load(User, change.user_id, "user")
    db.session.refresh(user, with_for_update=True)
    if user.role is not change.role_before:
        raise ConflictError(
            N_("{name}'s role changed since this was requested; cancel the request and make a new one.", name=user.name)
        )
    refuse_during_count()
    if change.role_before is Role.OFFICIAL:
        refuse_removing_the_last_official(user)
    if change.role_after is Role.OFFICIAL and not user.is_enabled:
        raise ConflictError(N_("{name}'s account is disabled; it cannot become an official.", name=user.name))
    user.role = change.role_after
    if change.role_before is Role.OFFICIAL:
        user.session_version += 1  # a removed official's open sessions end now, not at their next login
    change.status, change.decided_by_id, change.decided_at, change.pending_user_id = APPROVED, actor.id, utcnow(), None
    audit.record(actor, "approve-role-change", f"user:{user.id}", before={"role": change.role_before.value},
                 after={"role": change.role_after.value, "request": change.id, "requested_by": change.requested_by_id,
                        "reason": change.reason})
    return change


@use_case
def cancel_change(actor: User, change_id: int) -> RoleChange:
    """An official (the one who asked, or any other) cancels a requested role change; nothing changes."""
    _require_official(actor)
    change = _locked_pending(change_id)
    change.status, change.decided_by_id, change.decided_at, change.pending_user_id = CANCELLED, actor.id, utcnow(), None
    audit.record(actor, "cancel-role-change", f"user:{change.user_id}", before={"role": change.role_before.value},
                 after={"role": change.role_before.value, "request": change.id, "requested": change.role_after.value,
                        "requested_by": change.requested_by_id})
    return change


def pending_changes() -> list[RoleChange]:
    """Role changes waiting for a second official, oldest first."""
    return list(db.session.scalars(
        select(RoleChange).where(RoleChange.status == PENDING).order_by(RoleChange.requested_at, RoleChange.id)
    ))


def recent_changes(limit: int = 20) -> list[RoleChange]:
    """The latest decided role changes, newest first."""
    return list(db.session.scalars(
        select(RoleChange).where(RoleChange.status != PENDING)
        .order_by(RoleChange.decided_at.desc(), RoleChange.id.desc()).limit(limit)
    ))

