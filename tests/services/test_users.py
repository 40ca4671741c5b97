"""Accounts: registration, accounts created by officials or the command line, logging in, changing roles."""

import pytest
from sqlalchemy import select

from pb.domain.errors import NotFound, PermissionDenied, ValidationError
from pb.extensions import db
from pb.models import Role, User
from pb.security import password_matches
from pb.services import users

GOOD = {"email": "rita@example.org", "name": "Rita", "password": "a-long-password"}


def test_register_resident_stores_an_unverified_resident_with_a_hashed_password(app, audit_log):
    user = users.register_resident("  Rita@Example.ORG ", " Rita ", "a-long-password")
    stored = db.session.scalar(select(User).where(User.id == user.id))
    assert (stored.email, stored.name, stored.role, stored.is_enabled) == ("rita@example.org", "Rita", Role.RESIDENT, True)
    assert stored.password_hash != "a-long-password" and password_matches(stored.password_hash, "a-long-password")
    # No address in the log: its entries cannot be changed, and the address must be forgotten when the account goes.
    assert audit_log() == [(user.id, "register", f"user:{user.id}", {}, {"role": "resident"})]
    assert stored.email_confirmed_at is None


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"email": "not-an-email"}, "Enter a valid email address."),
        ({"email": "a@b"}, "Enter a valid email address."),
        ({"email": "x" * 250 + "@example.org"}, "Enter a valid email address."),
        ({"name": "   "}, "Enter your name."),
        ({"password": "short"}, "Choose a password of at least 10 characters."),
    ],
)
def test_register_resident_refuses_bad_values_and_changes_nothing(make_user, snapshot, overrides, message):
    make_user(email="taken@example.org")
    before = snapshot()
    with pytest.raises(ValidationError, match=message):
        users.register_resident(**{**GOOD, **overrides})
    assert snapshot() == before


def test_registering_a_taken_address_creates_nothing_and_tells_its_owner_not_the_caller(make_user):
    owner = make_user(email="taken@example.org")
    assert users.register_resident(**{**GOOD, "email": "TAKEN@example.org"}) is None
    assert db.session.scalars(select(User)).all() == [owner]
    from pb.models import OutboxMessage

    [message] = db.session.scalars(select(OutboxMessage)).all()
    assert (message.recipient, message.template, message.kind) == ("taken@example.org", "register_attempt", "security")


@pytest.mark.parametrize("actor_role", [None, Role.OFFICIAL])
def test_create_user_gives_any_role_for_an_official_or_the_command_line(make_user, audit_log, actor_role):
    actor = make_user(actor_role) if actor_role else None
    user = users.create_user("mo@example.org", "Mo", "a-long-password", Role.MODERATOR, actor=actor)
    assert db.session.get(User, user.id).role is Role.MODERATOR
    assert audit_log("create-user") == [
        (actor.id if actor else None, "create-user", f"user:{user.id}", {},
         {"email": "mo@example.org", "role": "moderator", **({} if actor else {"via": "command line"})})
    ]


@pytest.mark.parametrize("actor_role", [Role.RESIDENT, Role.MODERATOR])
def test_create_user_refuses_anyone_but_an_official(make_user, snapshot, actor_role):
    actor = make_user(actor_role)
    before = snapshot()
    with pytest.raises(PermissionDenied):
        users.create_user("mo@example.org", "Mo", "a-long-password", Role.OFFICIAL, actor=actor)
    assert snapshot() == before


def test_create_user_refuses_an_email_already_taken_in_another_case(make_user, snapshot):
    make_user(email="mo@example.org")
    before = snapshot()
    with pytest.raises(ValidationError, match="already exists"):
        users.create_user("MO@example.org", "Mo", "a-long-password", Role.RESIDENT)
    assert snapshot() == before


@pytest.mark.parametrize(
    ("email", "password", "is_enabled", "is_accepted"),
    [
        ("mo@example.org", "correct-horse-battery", True, True),
        (" MO@Example.org ", "correct-horse-battery", True, True),
        ("mo@example.org", "wrong-password", True, False),
        ("nobody@example.org", "correct-horse-battery", True, False),
        ("mo@example.org", "correct-horse-battery", False, False),
    ],
)
def test_authenticate_returns_the_user_only_for_enabled_matching_credentials(make_user, email, password, is_enabled, is_accepted):
    user = make_user(email="mo@example.org", is_enabled=is_enabled)
    assert users.authenticate(email, password) == (user if is_accepted else None)


def test_change_role_stores_the_role_and_audits_before_and_after(make_user, audit_log):
    official, resident = make_user(Role.OFFICIAL), make_user()
    users.change_role(official, resident.id, Role.MODERATOR)
    db.session.expire_all()
    assert db.session.get(User, resident.id).role is Role.MODERATOR
    assert audit_log() == [
        (official.id, "change-role", f"user:{resident.id}", {"role": "resident"}, {"role": "moderator"})
    ]


@pytest.mark.parametrize(
    ("actor_role", "target", "role", "error"),
    [
        (Role.MODERATOR, "other", Role.MODERATOR, PermissionDenied),
        (Role.RESIDENT, "self", Role.OFFICIAL, PermissionDenied),
        (Role.OFFICIAL, "self", Role.RESIDENT, ValidationError),
        (Role.OFFICIAL, "missing", Role.MODERATOR, NotFound),
        (Role.OFFICIAL, "huge-id", Role.MODERATOR, NotFound),
        (Role.OFFICIAL, "text-id", Role.MODERATOR, NotFound),
    ],
)
def test_change_role_refusals_change_nothing(make_user, snapshot, actor_role, target, role, error):
    actor, other = make_user(actor_role), make_user()
    user_id = {"other": other.id, "self": actor.id, "missing": 10_000, "huge-id": 2**63, "text-id": str(other.id)}[target]
    before = snapshot()
    with pytest.raises(error):
        users.change_role(actor, user_id, role)
    assert snapshot() == before


def test_an_official_may_keep_their_own_official_role(make_user):
    official = make_user(Role.OFFICIAL)
    assert users.change_role(official, official.id, Role.OFFICIAL).role is Role.OFFICIAL


def test_list_users_searches_email_and_name_without_case(make_user):
    make_user(email="anna@example.org", name="Anna"), make_user(email="bob@example.org", name="Bob Annan")
    make_user(email="carl@example.org", name="Carl")
    assert [u.email for u in users.list_users("ANN")] == ["anna@example.org", "bob@example.org"]
    assert len(users.list_users()) == 3


def test_authenticate_replaces_an_older_hash_and_a_refused_login_changes_nothing(make_user, snapshot, monkeypatch):
    from pb import security

    monkeypatch.undo()  # real (test-cost) argon2id here, not the suite's cheap stand-in
    user = make_user(email="mo@example.org")
    before = snapshot()
    assert users.authenticate("mo@example.org", "wrong-password") is None
    assert snapshot() == before
    assert users.authenticate("mo@example.org", "correct-horse-battery") == user
    db.session.expire_all()
    upgraded = db.session.get(User, user.id).password_hash
    assert upgraded.startswith("$argon2id$") and not security.needs_new_hash(upgraded)
    assert users.authenticate("mo@example.org", "correct-horse-battery") == user
    db.session.expire_all()
    assert db.session.get(User, user.id).password_hash == upgraded


def test_log_out_raises_the_session_version(make_user):
    user = make_user()
    users.log_out(user.id)
    db.session.expire_all()
    assert db.session.get(User, user.id).session_version == 1


def test_change_password_stores_a_new_hash_ends_other_sessions_and_audits(make_user, audit_log):
    user = make_user()
    users.change_password(user, "correct-horse-battery", "a-brand-new-password")
    db.session.expire_all()
    stored = db.session.get(User, user.id)
    assert password_matches(stored.password_hash, "a-brand-new-password")
    assert not password_matches(stored.password_hash, "correct-horse-battery")
    assert stored.session_version == 1
    assert audit_log("change-password") == [(user.id, "change-password", f"user:{user.id}", {}, {})]


@pytest.mark.parametrize(("current", "new", "message"), [
    ("wrong-password", "a-brand-new-password", "current password is not right"),
    ("", "a-brand-new-password", "current password is not right"),
    ("correct-horse-battery", "short", "at least 10 characters"),
    ("correct-horse-battery", "correct-horse-battery", "the same as the current one"),
])
def test_change_password_refusals_change_nothing(make_user, snapshot, current, new, message):
    user = make_user()
    before = snapshot()
    with pytest.raises(ValidationError, match=message):
        users.change_password(user, current, new)
    assert snapshot() == before


def test_disabling_an_account_ends_its_sessions_and_enabling_lets_it_log_in(make_user, audit_log):
    official, resident = make_user(Role.OFFICIAL), make_user(email="mo@example.org")
    users.set_enabled(official, resident.id, False)
    db.session.expire_all()
    stored = db.session.get(User, resident.id)
    assert (stored.is_enabled, stored.session_version) == (False, 1)
    assert users.authenticate("mo@example.org", "correct-horse-battery") is None
    users.set_enabled(official, resident.id, True)
    assert users.authenticate("mo@example.org", "correct-horse-battery") is not None
    assert [(a, action, before, after) for a, action, _, before, after in audit_log()] == [
        (official.id, "disable-user", {"is_enabled": True}, {"is_enabled": False}),
        (official.id, "enable-user", {"is_enabled": False}, {"is_enabled": True}),
    ]


@pytest.mark.parametrize(
    ("actor_role", "target", "is_enabled", "error"),
    [
        (Role.MODERATOR, "other", False, PermissionDenied),
        (Role.RESIDENT, "other", False, PermissionDenied),
        (Role.OFFICIAL, "self", False, ValidationError),
        (Role.OFFICIAL, "other", True, ValidationError),  # already enabled
        (Role.OFFICIAL, "missing", False, NotFound),
        (Role.OFFICIAL, "huge-id", False, NotFound),
    ],
)
def test_set_enabled_refusals_change_nothing(make_user, snapshot, actor_role, target, is_enabled, error):
    actor, other = make_user(actor_role), make_user()
    user_id = {"other": other.id, "self": actor.id, "missing": 10_000, "huge-id": 2**63}[target]
    before = snapshot()
    with pytest.raises(error):
        users.set_enabled(actor, user_id, is_enabled)
    assert snapshot() == before


# The officials' list of users: search, role, pages read in the database, where each is verified ---------------


def test_the_user_list_searches_names_and_emails_filters_by_role_and_pages(make_user):
    make_user(Role.RESIDENT, name="Zoë Adams", email="zoe@example.org")
    make_user(Role.MODERATOR, name="Ann Moderator", email="ann@city.example")
    for number in range(3):
        make_user(Role.RESIDENT, name=f"Someone {number}", email=f"someone{number}@example.org")
    assert [u.email for u in users.users_page("ZOË", 1).items] == ["zoe@example.org"]
    assert [u.email for u in users.users_page("city.example", 1).items] == ["ann@city.example"]
    assert [u.email for u in users.users_page("", 1, role=Role.MODERATOR).items] == ["ann@city.example"]
    pages = [users.users_page("someone", number, size=2) for number in (1, 2, 99)]
    assert [[u.email for u in page.items] for page in pages] == [
        ["someone0@example.org", "someone1@example.org"], ["someone2@example.org"], ["someone2@example.org"]]
    assert (pages[0].total, pages[0].last, pages[2].number) == (3, 2, 2)


def test_verifications_of_names_the_district_and_cycle_of_each_user(make_user, make_cycle, verify):
    cycle = make_cycle(name="Budget 2027")
    verified, other = make_user(), make_user()
    verify(verified, cycle.districts[1])
    assert users.verifications_of([verified.id, other.id]) == {verified.id: [("Budget 2027", "South")]}
    assert users.verifications_of([]) == {}
