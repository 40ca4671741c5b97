"""Registering, logging in and out."""

from sqlalchemy import select

from pb.extensions import db
from pb.models import AuditEntry, Role, User

GOOD = {"name": "Nora Newcomer", "email": "Nora@Example.org", "password": "long-enough-pw", "confirm": "long-enough-pw"}


def test_register_creates_an_unverified_resident_and_logs_in(client):
    response = client.submit("/register", GOOD)
    assert response.status_code == 302 and response.location == "/"
    user = db.session.scalar(select(User))
    assert user.email == "nora@example.org" and user.role is Role.RESIDENT and user.password_hash != GOOD["password"]
    assert "Log out" in client.get("/").get_data(as_text=True)
    assert db.session.scalar(select(AuditEntry.action)) == "register"


def test_register_refuses_a_taken_email_whatever_its_case(client, make_user):
    make_user(email="nora@example.org")
    response = client.submit("/register", GOOD)
    assert response.status_code == 400
    assert "already exists" in response.get_data(as_text=True)
    assert len(db.session.scalars(select(User)).all()) == 1


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
