"""Registering, logging in and out, changing passwords, and sessions that end everywhere when they must."""

import time

import pytest
from sqlalchemy import select
from werkzeug.security import generate_password_hash

from pb.extensions import db
from pb.models import AuditEntry, Role, User
from pb.security import SESSION_SEEN, SESSION_STARTED

from tests.conftest import PASSWORD

GOOD = {"name": "Nora Newcomer", "email": "Nora@Example.org", "password": "long-enough-pw", "confirm": "long-enough-pw"}


def test_register_creates_an_unverified_unconfirmed_resident_and_asks_to_check_the_mail(client):
    response = client.submit("/register", GOOD)
    assert response.status_code == 200 and "We sent an email to nora@example.org" in response.get_data(as_text=True)
    user = db.session.scalar(select(User))
    assert user.email == "nora@example.org" and user.role is Role.RESIDENT and user.password_hash != GOOD["password"]
    assert user.email_confirmed_at is None
    assert "Log out" not in client.get("/").get_data(as_text=True)  # they log in after confirming (or before)
    assert db.session.scalar(select(AuditEntry.action)) == "register"


def test_register_with_a_taken_email_whatever_its_case_answers_as_for_a_new_one(client, make_user):
    make_user(email="nora@example.org")
    response = client.submit("/register", GOOD)
    assert response.status_code == 200
    assert "already exists" not in response.get_data(as_text=True)
    assert "We sent an email to nora@example.org" in response.get_data(as_text=True)
    assert len(db.session.scalars(select(User)).all()) == 1


@pytest.mark.parametrize(("password", "message"), [
    ("password1234", "This password is too easy to guess: it is one of the most common passwords"),
    ("nora@example.org", "Choose a password that is not your email address or your name."),
    ("nora newcomer", "Choose a password that is not your email address or your name."),
])
def test_register_refuses_a_common_password_or_ones_own_email_or_name_and_says_why(client, password, message):
    response = client.submit("/register", {**GOOD, "password": password, "confirm": password})
    assert response.status_code == 400 and message in response.get_data(as_text=True)
    assert db.session.scalar(select(User)) is None


def test_register_refuses_mismatched_or_short_passwords(client):
    assert client.submit("/register", {**GOOD, "confirm": "something-else"}).status_code == 400
    assert client.submit("/register", {**GOOD, "password": "short", "confirm": "short"}).status_code == 400
    assert db.session.scalar(select(User)) is None


def test_logout_needs_a_post_with_token_and_ends_the_session(client, make_user):
    client.login(make_user())
    assert client.get("/logout").status_code == 405
    assert client.post("/logout").status_code == 400  # no CSRF token: someone else's page cannot log you out
    assert "Log out" in client.get("/").get_data(as_text=True)
    assert client.submit("/logout").status_code == 302
    assert "Log out" not in client.get("/").get_data(as_text=True)
    assert client.get("/my/proposals").status_code == 302


def test_login_page_has_the_agreed_fields(client):
    page = client.get("/login").get_data(as_text=True)
    assert 'name="email"' in page and 'name="password"' in page and 'name="csrf_token"' in page


# --- sessions: fixation, logout, password change and disabled accounts void every copy of the cookie ---------------


def _session_cookie(client):
    cookie = client.get_cookie("session", domain="pb.test") or client.get_cookie("session")
    assert cookie is not None, "no session cookie"
    return cookie


def _replay(app, cookie):
    """Another browser holding a copy of this cookie (as a thief would)."""
    other = app.test_client()
    other.set_cookie("session", cookie.value, domain=cookie.domain)
    return other


def _is_logged_in(client) -> bool:
    return client.get("/my/proposals").status_code == 200


def test_login_starts_a_new_session_so_a_cookie_planted_before_it_stays_anonymous(app, client, make_user):
    user = make_user()
    client.get("/login")
    planted = _session_cookie(client)
    client.login(user)
    assert _session_cookie(client).value != planted.value
    assert _is_logged_in(client)
    assert not _is_logged_in(_replay(app, planted))


def test_session_cookie_is_http_only_and_same_site_lax(client, make_user):
    response = client.login(make_user())
    header = next(value for value in response.headers.getlist("Set-Cookie") if value.startswith("session="))
    assert "HttpOnly" in header and "SameSite=Lax" in header


def test_a_copied_cookie_is_refused_after_logout(app, client, make_user):
    user = make_user()
    client.login(user)
    copy = _session_cookie(client)
    assert _is_logged_in(_replay(app, copy))
    assert client.submit("/logout").status_code == 302
    assert not _is_logged_in(_replay(app, copy))
    assert db.session.get(User, user.id).session_version == 1


def test_logging_in_twice_keeps_both_sessions_until_one_logs_out(app, client, make_user):
    user = make_user()
    client.login(user)
    other = app.test_client()
    other.login(user)
    assert _is_logged_in(client) and _is_logged_in(other)
    other.submit("/logout")
    assert not _is_logged_in(client)


def test_a_copied_cookie_is_refused_once_the_account_is_disabled(app, client, make_user):
    user, official = make_user(), make_user(Role.OFFICIAL)
    client.login(user)
    copy = _session_cookie(client)
    admin = app.test_client()
    admin.login(official)
    response = admin.submit(f"/admin/users/{user.id}/disable")
    assert response.status_code == 302 and response.location.startswith("/admin/users")
    assert not db.session.get(User, user.id).is_enabled
    assert not _is_logged_in(client) and not _is_logged_in(_replay(app, copy))
    refused = client.submit("/login", {"email": user.email, "password": PASSWORD})
    assert refused.status_code == 400 and not _is_logged_in(client)
    assert admin.submit(f"/admin/users/{user.id}/enable").status_code == 302
    assert db.session.get(User, user.id).is_enabled
    client.login(user)
    assert _is_logged_in(client) and not _is_logged_in(_replay(app, copy))


def test_an_official_cannot_disable_themself(client, make_user):
    official = make_user(Role.OFFICIAL)
    client.login(official)
    response = client.submit(f"/admin/users/{official.id}/disable", follow_redirects=True)
    assert "You cannot disable your own account" in response.get_data(as_text=True)
    assert db.session.get(User, official.id).is_enabled and _is_logged_in(client)


def test_the_users_page_offers_disable_and_enable(client, make_user):
    official, active, disabled = make_user(Role.OFFICIAL), make_user(), make_user(is_enabled=False)
    client.login(official)
    page = client.get("/admin/users").get_data(as_text=True)
    assert f"/admin/users/{active.id}/disable" in page and f"/admin/users/{disabled.id}/enable" in page
    assert f"/admin/users/{official.id}/disable" not in page


NEW = {"current_password": PASSWORD, "new_password": "a-brand-new-password", "confirm": "a-brand-new-password"}


def test_changing_the_password_keeps_this_session_and_ends_every_other_copy(app, client, make_user):
    user = make_user()
    client.login(user)
    copy = _session_cookie(client)
    response = client.submit("/account/password", NEW)
    assert response.status_code == 302 and response.location == "/account/password"
    assert _is_logged_in(client)
    assert not _is_logged_in(_replay(app, copy))
    stored = db.session.get(User, user.id)
    assert stored.password_hash.startswith("$argon2id$")
    assert db.session.scalar(select(AuditEntry.action).order_by(AuditEntry.id.desc())) == "change-password"
    fresh = app.test_client()
    assert fresh.submit("/login", {"email": user.email, "password": PASSWORD}).status_code == 400
    fresh.login(user, password=NEW["new_password"])


@pytest.mark.parametrize(("overrides", "message"), [
    ({"current_password": "not-my-password"}, "Your current password is not right"),
    ({"confirm": "something-else"}, "The passwords do not match."),
    ({"new_password": "short", "confirm": "short"}, "Use 10 to 200 characters."),
    ({"new_password": PASSWORD, "confirm": PASSWORD}, "the same as the current one"),
    ({"current_password": ""}, "Enter your current password."),
    ({"new_password": "qwertyuiop123", "confirm": "qwertyuiop123"}, "This password is too easy to guess"),
])
def test_a_refused_password_change_says_why_and_changes_nothing(app, client, make_user, overrides, message):
    user = make_user()
    client.login(user)
    before = db.session.get(User, user.id)
    before = (before.password_hash, before.session_version)
    response = client.submit("/account/password", {**NEW, **overrides})
    assert response.status_code == 400
    assert message in response.get_data(as_text=True)
    after = db.session.get(User, user.id)
    assert (after.password_hash, after.session_version) == before and _is_logged_in(client)


def test_the_password_page_needs_a_login(client):
    response = client.get("/account/password")
    assert response.status_code == 302 and response.location.startswith("/login")


# --- passwords: argon2id, and older hashes upgraded at the next login -----------------------------------------------


def test_an_older_werkzeug_hash_still_logs_in_and_is_replaced_by_argon2id(client, make_user):
    user = make_user(password_hash=generate_password_hash(PASSWORD, method="pbkdf2:sha256:1000"))
    client.login(user)
    upgraded = db.session.get(User, user.id).password_hash
    assert upgraded.startswith("$argon2id$")
    client.submit("/logout")
    client.login(user)
    assert db.session.get(User, user.id).password_hash == upgraded  # current hashes are left alone


def test_a_wrong_password_does_not_touch_the_stored_hash(client, make_user):
    user = make_user()
    before = db.session.get(User, user.id).password_hash
    assert client.submit("/login", {"email": user.email, "password": "wrong-password"}).status_code == 400
    assert db.session.get(User, user.id).password_hash == before


def test_registering_stores_an_argon2id_hash(client):
    client.submit("/register", GOOD)
    assert db.session.scalar(select(User.password_hash)).startswith("$argon2id$")


# --- idle timeout and absolute lifetime (ASVS 3.3) ------------------------------------------------------------------


def _age_session(client, *, idle_minutes: float = 0, since_login_hours: float = 0) -> None:
    now = int(time.time())
    with client.session_transaction() as session:
        session[SESSION_SEEN] = now - int(idle_minutes * 60)
        session[SESSION_STARTED] = min(session[SESSION_SEEN], now - int(since_login_hours * 3600))


@pytest.mark.parametrize(("role", "idle_minutes", "since_login_hours", "is_still_in"), [
    (Role.OFFICIAL, 29, 0, True),
    (Role.OFFICIAL, 31, 0, False),
    (Role.OFFICIAL, 0, 11.9, True),
    (Role.OFFICIAL, 0, 12.1, False),  # active all day: the absolute lifetime still ends it
    (Role.MODERATOR, 31, 0, False),
    (Role.RESIDENT, 31, 0, True),
    (Role.RESIDENT, 119, 0, True),
    (Role.RESIDENT, 121, 0, False),
    (Role.RESIDENT, 0, 23.9, True),
    (Role.RESIDENT, 0, 24.1, False),
])
def test_sessions_end_after_the_idle_timeout_or_the_absolute_lifetime_of_the_role(
    client, make_user, role, idle_minutes, since_login_hours, is_still_in
):
    client.login(make_user(role))
    _age_session(client, idle_minutes=idle_minutes, since_login_hours=since_login_hours)
    response = client.get("/account/password")
    if is_still_in:
        assert response.status_code == 200
        return
    assert response.status_code == 302 and response.location == "/login?next=/account/password"
    page = client.get(response.location).get_data(as_text=True)
    assert "Your session expired, please log in again." in page
    assert not _is_logged_in(client)


def test_each_request_keeps_the_session_alive_but_a_copied_cookie_expires_on_schedule(app, client, make_user):
    client.login(make_user(Role.OFFICIAL))
    _age_session(client, idle_minutes=20)
    copy = _session_cookie(client)
    assert _is_logged_in(client)  # the request refreshes "last seen" in the signed cookie
    _age_session(client, idle_minutes=0)
    with client.session_transaction() as session:
        session[SESSION_SEEN] -= 15 * 60
    assert _is_logged_in(client)  # 15 minutes after the refresh: still fine
    thief = _replay(app, copy)
    with thief.session_transaction() as session:
        session[SESSION_SEEN] -= 11 * 60  # the copy was last seen 31 minutes ago
    assert not _is_logged_in(thief)


def test_a_form_sent_after_the_session_expired_changes_nothing_and_says_so(client, make_user):
    user = make_user()
    client.login(user)
    token = client.csrf_token()  # the form was shown before the resident walked away
    _age_session(client, idle_minutes=200)
    before = db.session.get(User, user.id).password_hash
    response = client.post("/account/password", data={"current_password": PASSWORD, "csrf_token": token,
                                                      "new_password": "tram-lines-at-dusk", "confirm": "tram-lines-at-dusk"})
    assert response.status_code == 302 and response.location == "/login"
    assert "your session expired, so what you sent was not saved" in client.get("/login").get_data(as_text=True).lower()
    db.session.expire_all()
    assert db.session.get(User, user.id).password_hash == before


def test_a_session_from_before_the_timers_must_log_in_again(client, make_user):
    client.login(make_user())
    with client.session_transaction() as session:
        del session[SESSION_STARTED], session[SESSION_SEEN]
    assert client.get("/account/password").status_code == 302 and not _is_logged_in(client)


def test_the_timeouts_are_settings(app, client, make_user):
    app.config["SESSION_IDLE_MINUTES_RESIDENTS"] = 5
    client.login(make_user())
    _age_session(client, idle_minutes=6)
    assert not _is_logged_in(client)
