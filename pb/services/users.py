"""Accounts: registering residents, logging in, and officials managing roles."""

import re

from sqlalchemy import func, select

from pb.domain.errors import PermissionDenied, ValidationError
from pb.extensions import db
from pb.models import Role, User
from pb.security import hash_password, password_matches
from pb.services import audit, load, use_case

MIN_PASSWORD_LENGTH = 10
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def normalise_email(email: str) -> str:
    return (email or "").strip().lower()


def find_by_email(email: str) -> User | None:
    return db.session.scalar(select(User).where(func.lower(User.email) == normalise_email(email)))


def _check_new_account(email: str, name: str, password: str) -> None:
    if not _EMAIL.match(email) or len(email) > 254:
        raise ValidationError("Enter a valid email address.")
    if not name.strip():
        raise ValidationError("Enter your name.")
    if len(password) < MIN_PASSWORD_LENGTH:
        raise ValidationError(f"Choose a password of at least {MIN_PASSWORD_LENGTH} characters.")
    if find_by_email(email) is not None:
        raise ValidationError("An account with this email address already exists; log in instead.")


@use_case
def register_resident(email: str, name: str, password: str) -> User:
    """A resident creates their own account; it starts unverified."""
    email = normalise_email(email)
    _check_new_account(email, name, password)
    user = User(email=email, name=name.strip(), password_hash=hash_password(password), role=Role.RESIDENT)
    db.session.add(user)
    db.session.flush()
    audit.record(user, "register", f"user:{user.id}", after={"email": email, "role": "resident"})
    return user


@use_case
def create_user(email: str, name: str, password: str, role: Role, actor: User | None = None) -> User:
    """An official (or the command line, with no actor) creates an account with any role."""
    if actor is not None and not actor.is_official:
        raise PermissionDenied("Only officials can create accounts.")
    email = normalise_email(email)
    _check_new_account(email, name, password)
    user = User(email=email, name=name.strip(), password_hash=hash_password(password), role=role)
    db.session.add(user)
    db.session.flush()
    audit.record(actor, "create-user", f"user:{user.id}", after={"email": email, "role": role.value})
    return user


def authenticate(email: str, password: str) -> User | None:
    """The enabled user with these credentials, or None (never says which part was wrong)."""
    user = find_by_email(email)
    if user is None:
        hash_password(password)  # spend the same time as a real check, so timing does not reveal accounts
        return None
    if not password_matches(user.password_hash, password) or not user.is_enabled:
        return None
    return user


@use_case
def change_role(actor: User, user_id: int, role: Role) -> User:
    """An official gives a user another role."""
    if not actor.is_official:
        raise PermissionDenied("Only officials can change roles.")
    user = load(User, user_id, "user")
    if user.id == actor.id and role is not Role.OFFICIAL:
        raise ValidationError("You cannot remove your own official role; ask another official.")
    before = user.role.value
    user.role = role
    audit.record(actor, "change-role", f"user:{user.id}", before={"role": before}, after={"role": role.value})
    return user


def list_users(search: str = "", limit: int = 200) -> list[User]:
    query = select(User).order_by(User.email).limit(limit)
    if search.strip():
        pattern = f"%{search.strip().lower()}%"
        query = query.where(func.lower(User.email).like(pattern) | func.lower(User.name).like(pattern))
    return list(db.session.scalars(query))
