"""Accounts: registering residents, logging in and out, passwords, and officials managing roles and access."""

import re
from collections.abc import Sequence

from sqlalchemy import func, select

from pb.domain import notifications
from pb.domain.errors import ConflictError, PermissionDenied, ValidationError
from pb.domain.messages import N_
from pb.domain.passwords import password_problem
from pb.extensions import db
from pb.i18n import LANGUAGES
from pb.models import Cycle, District, Role, RoleChange, User, Verification, utcnow
from pb.pagination import Page, paginate
from pb.security import hash_password, needs_new_hash, password_matches
from pb.services import audit, load, mail, roles, use_case

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def normalise_email(email: str) -> str:
    return (email or "").strip().lower()


def find_by_email(email: str) -> User | None:
    return db.session.scalar(select(User).where(func.lower(User.email) == normalise_email(email)))


def check_email(email: str) -> None:
    if not _EMAIL.match(email) or len(email) > 254:
        raise ValidationError("Enter a valid email address.")


def _check_new_account(email: str, name: str, password: str, *, may_tell_taken: bool = True) -> None:
    check_email(email)
    if not name.strip():
        raise ValidationError("Enter your name.")
    if len(name.strip()) > 120:
        raise ValidationError(N_("Keep your name under 120 characters."))
    _check_password(password, email, name)
    # Only someone who may know who has an account (an official) is told; registration never says (see below).
    if may_tell_taken and find_by_email(email) is not None:
        raise ValidationError("An account with this email address already exists; log in instead.")


def _check_password(password: str, email: str, name: str) -> None:
    problem = password_problem(password, email, name)
    if problem is not None:
        raise ValidationError(problem)


def register_resident(email: str, name: str, password: str, locale: str | None = None) -> User | None:
    """A resident creates their own account; it starts unverified and unconfirmed, and pb emails a confirmation link.

    The answer never tells whether the address already had an account: then nothing is created, the owner is told by
    email that someone tried to register with it, and the caller gets None, after the same slow password hashing (so
    the time taken does not tell either). The page shown is the same: "we sent you an email". `locale` is the
    language the page was read in: pb writes to the new account in it.
    """
    email = normalise_email(email)
    _check_new_account(email, name, password, may_tell_taken=False)
    # Hashing is slow on purpose: do it before the transaction, so no write lock waits for it.
    return _register(email, name.strip(), hash_password(password), locale if locale in LANGUAGES else None)


@use_case
def _register(email: str, name: str, password_hash: str, locale: str | None) -> User | None:
    from pb.services import accounts

    existing = find_by_email(email)
    if existing is not None:
        accounts.tell_of_registration_attempt(existing)
        return None
    user = User(email=email, name=name, password_hash=password_hash, role=Role.RESIDENT, locale=locale)
    db.session.add(user)
    db.session.flush()
    # No address in the log: entries cannot be changed, and the address must go when the account is deleted.
    audit.record(user, "register", f"user:{user.id}", after={"role": "resident"})
    accounts.send_confirmation(user)
    return user


@use_case
def create_user(email: str, name: str, password: str, role: Role, actor: User | None = None) -> User:
    """An official (or the command line, with no actor) creates an account with any role."""
    if actor is not None and not actor.is_official:
        raise PermissionDenied("Only officials can create accounts.")
    if actor is not None and role is Role.OFFICIAL:
        raise PermissionDenied(
            "An official cannot create another official alone: create the account, then request the official role "
            "for it; a second official approves."
        )
    email = normalise_email(email)
    _check_new_account(email, name, password)
    # An operator on the command line vouches for the address; an official may have mistyped it, so its owner confirms.
    user = User(email=email, name=name.strip(), password_hash=hash_password(password), role=role,
                email_confirmed_at=utcnow() if actor is None else None)
    db.session.add(user)
    db.session.flush()
    # Without an actor, the account was made by a server operator on the command line: say so in the log.
    audit.record(actor, "create-user", f"user:{user.id}",
                 after={"email": email, "role": role.value, **({} if actor else {"via": "command line"})})
    if actor is not None:
        from pb.services import accounts

        accounts.send_confirmation(user)
    return user


def authenticate(email: str, password: str) -> User | None:
    """The enabled user with these credentials, or None (never says which part was wrong).

    A password stored with an older method or cost is hashed again with the current one while we hold it.
    """
    user = find_by_email(email)
    if user is None:
        hash_password(password)  # spend the same time as a real check, so timing does not reveal accounts
        return None
    if not password_matches(user.password_hash, password) or not user.is_enabled or user.deleted_at is not None:
        return None
    if needs_new_hash(user.password_hash):
        # Hashing is slow on purpose: do it before the transaction, so no write lock waits for it.
        _store_new_hash(user.id, user.password_hash, hash_password(password))
    return user


@use_case
def _store_new_hash(user_id: int, old_hash: str, new_hash: str) -> None:
    user = load(User, user_id, "user")
    if user.password_hash == old_hash:  # unless the password changed meanwhile
        user.password_hash = new_hash


def _end_sessions(user: User) -> None:
    user.session_version += 1


@use_case
def log_out(user_id: int) -> None:
    """End every session of this user, on every device: copies of the session cookie stop working."""
    _end_sessions(load(User, user_id, "user"))


@use_case
def change_password(actor: User, current_password: str, new_password: str) -> User:
    """A user sets a new password; every other session of theirs ends."""
    user = load(User, actor.id, "user")
    if not password_matches(user.password_hash, current_password or ""):
        raise ValidationError("Your current password is not right; nothing was changed.")
    _check_password(new_password, user.email, user.name)
    if new_password == current_password:
        raise ValidationError("The new password is the same as the current one.")
    user.password_hash = hash_password(new_password)
    _end_sessions(user)
    audit.record(user, "change-password", f"user:{user.id}")
    mail.notify(user, notifications.SECURITY, "password_changed")
    return user


@use_case
def set_enabled(actor: User, user_id: int, is_enabled: bool) -> User:
    """An official disables an account (its sessions end at once and it cannot log in) or enables it again."""
    if not actor.is_official:
        raise PermissionDenied("Only officials can disable or enable accounts.")
    user = load(User, user_id, "user")
    if user.id == actor.id:
        raise ValidationError("You cannot disable your own account; ask another official.")
    if user.is_official:
        # Disabling an official removes an official, and enabling one brings an official back: both need two officials.
        raise ConflictError(
            N_("{name} is an official. Disabling an official, like removing the role, needs a second official: request "
               "the change of role first; once it is approved, the account can be disabled.", name=user.name)
            if not is_enabled else
            N_("{name}'s account has the official role. Request a change of role to resident first (a second official "
               "approves it), then enable the account and, if needed, propose them as an official again.", name=user.name)
        )
    if user.is_enabled == is_enabled:
        raise ValidationError(N_("{name}'s account is already enabled.", name=user.name) if is_enabled
                              else N_("{name}'s account is already disabled.", name=user.name))
    user.is_enabled = is_enabled
    if not is_enabled:
        _end_sessions(user)
    audit.record(
        actor, "enable-user" if is_enabled else "disable-user", f"user:{user.id}",
        before={"is_enabled": not is_enabled}, after={"is_enabled": is_enabled},
    )
    return user


@use_case
def change_role(actor: User, user_id: int, role: Role, reason: str = "") -> User | RoleChange:
    """An official gives a user another role; granting or removing the official role is only requested.

    The moderator role changes at once (a moderator can do nothing an official cannot do alone, and the change is in
    the audit log); the official role waits for a second official's approval (pb.services.roles), so the result is
    then the pending RoleChange, and the user's role is unchanged.
    """
    if not actor.is_official:
        raise PermissionDenied("Only officials can change roles.")
    user = load(User, user_id, "user")
    if user.id == actor.id and role is not Role.OFFICIAL:
        raise ValidationError("You cannot remove your own official role; ask another official.")
    if roles.needs_second_official(user.role, role):
        return roles.request_change(actor, user, role, reason)
    before = user.role.value
    user.role = role
    reason = " ".join((reason or "").split())[:roles.MAX_REASON_LENGTH]
    audit.record(actor, "change-role", f"user:{user.id}", before={"role": before},
                 after={"role": role.value, **({"reason": reason} if reason else {})})
    return user


def users_page(search: str, number: int, size: int = 50, role: Role | None = None) -> Page:
    """One page of the users whose email or name contains `search` (and who have `role`, when given), by email
    (then id, so pages never overlap)."""
    query = select(User).order_by(User.email, User.id)
    if search.strip():
        pattern = f"%{search.strip().lower()}%"
        query = query.where(func.lower(User.email).like(pattern) | func.lower(User.name).like(pattern))
    if role is not None:
        query = query.where(User.role == role)
    return paginate(query, number, size)


def verifications_of(user_ids: Sequence[int]) -> dict[int, list[tuple[str, str]]]:
    """Where each of these users is verified to vote, as (cycle name, district name), newest cycle first; one query."""
    if not user_ids:
        return {}
    rows = db.session.execute(
        select(Verification.user_id, Cycle.name, District.name)
        .join(District, District.id == Verification.district_id).join(Cycle, Cycle.id == Verification.cycle_id)
        .where(Verification.user_id.in_(user_ids)).order_by(Verification.user_id, Cycle.id.desc())
    )
    found: dict[int, list[tuple[str, str]]] = {}
    for user_id, cycle_name, district_name in rows:
        found.setdefault(user_id, []).append((cycle_name, district_name))
    return found


def list_users(search: str = "", limit: int = 200) -> list[User]:
    query = select(User).order_by(User.email).limit(limit)
    if search.strip():
        pattern = f"%{search.strip().lower()}%"
        query = query.where(func.lower(User.email).like(pattern) | func.lower(User.name).like(pattern))
    return list(db.session.scalars(query))
