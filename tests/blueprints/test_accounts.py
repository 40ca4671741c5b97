"""Account mail through a real SMTP server: confirming the address, the registration that reveals nothing, password
reset links that expire and work once, and address changes confirmed by the new address and told to the old one."""

import re
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from pb.extensions import db
from pb.models import AuditEntry, OutboxMessage, Proposal, Role, User, utcnow
from pb.services import accounts
from tests.conftest import PASSWORD, deliver_mail, html_of, links_in, text_of

NEW = {"name": "Nora Newcomer", "email": "nora@example.org", "password": "long-enough-pw", "confirm": "long-enough-pw"}


def _user(email: str) -> User:
    db.session.expire_all()
    return db.session.scalar(select(User).where(User.email == email))


def _link(message, start: str) -> str:
    found = [link for link in links_in(message) if link.startswith(start)]
    assert found, (start, links_in(message))
    return found[0]


def _same_page(text: str, email: str) -> str:
    """The page without what legitimately differs between two answers: the address typed and the CSRF token."""
    text = text.replace(email, "EMAIL")
    return re.sub(r'name="csrf_token"[^>]*>', "", text)


# --- registration and confirmation ---------------------------------------------------------------------------------


def test_registering_sends_a_confirmation_whose_link_confirms_the_address(app, smtp, client):
    response = client.submit("/register", NEW)
    assert response.status_code == 200 and "We sent an email to nora@example.org" in response.get_data(as_text=True)
    assert _user("nora@example.org").email_confirmed_at is None
    deliver_mail()
    message = smtp.last_to("nora@example.org")
    assert message["Subject"] == "Confirm your email address for pb"
    assert message["List-Unsubscribe"] is None  # security mail
    assert "Nora Newcomer" in text_of(message) and '<html lang="en">' in html_of(message)
    link = _link(message, "/confirm/")
    assert client.get(link).status_code == 302
    assert _user("nora@example.org").email_confirmed_at is not None
    assert client.get(link).status_code == 302  # following it again is harmless


@pytest.mark.parametrize("language", ["es", "pl"])
def test_the_confirmation_is_written_in_the_language_the_page_was_read_in(app, smtp, client, language):
    client.set_cookie("pb_language", language, domain="pb.test")
    assert client.submit("/register", NEW).status_code == 200
    assert _user("nora@example.org").locale == language
    deliver_mail()
    message = smtp.last_to("nora@example.org")
    assert f'<html lang="{language}">' in html_of(message)
    assert db.session.scalar(select(OutboxMessage.locale)) == language


def test_registering_an_address_that_has_an_account_answers_the_same_and_tells_the_owner(app, smtp, client,
                                                                                         make_user):
    owner = make_user(email="owner@example.org", name="Olga Owner", locale="pl")
    new = client.submit("/register", NEW)
    again = app.test_client().submit("/register", {**NEW, "email": "OWNER@example.org"})
    assert new.status_code == again.status_code == 200
    assert _same_page(new.get_data(as_text=True), "nora@example.org") == \
        _same_page(again.get_data(as_text=True), "owner@example.org")
    assert db.session.scalar(select(func.count()).select_from(User)) == 2
    assert _user("owner@example.org").password_hash == owner.password_hash  # nothing about the account changed
    deliver_mail()
    message = smtp.last_to("owner@example.org")
    assert message["Subject"] == "Someone tried to register with your address on pb"
    assert '<html lang="pl">' in html_of(message)
    for link in (_link(message, "/login"), _link(message, "/forgot-password")):
        assert client.get(link).status_code == 200
    assert [m["To"] for m in smtp.messages].count("owner@example.org") == 1


def test_a_broken_forged_or_expired_confirmation_link_changes_nothing(app, client, make_user):
    user = make_user(email_confirmed_at=None)
    old = accounts.confirmation_token(user, signed_at=utcnow() - timedelta(hours=49))
    for token in ("nonsense", old, accounts.confirmation_token(user) + "x"):
        response = client.get(f"/confirm/{token}")
        assert response.status_code == 400 and "does not work" in response.get_data(as_text=True)
    assert _user(user.email).email_confirmed_at is None


def test_a_confirmation_link_for_an_address_since_changed_does_nothing(app, client, make_user):
    user = make_user(email_confirmed_at=None)
    token = accounts.confirmation_token(user)
    db.session.get(User, user.id).email = "elsewhere@example.org"
    db.session.commit()
    assert client.get(f"/confirm/{token}").status_code == 400
    assert _user("elsewhere@example.org").email_confirmed_at is None


def test_an_unconfirmed_account_can_log_in_but_not_propose_and_can_have_the_email_sent_again(
        app, smtp, client, make_user, make_cycle):
    from pb.domain.cycle import Phase

    cycle = make_cycle(Phase.PROPOSALS)
    user = make_user(email_confirmed_at=None)
    client.login(user)
    page = client.get("/").get_data(as_text=True)
    assert "Send the confirmation email again" in page
    form = {"title": "A bench", "summary": "Somewhere to sit.", "description": "A bench by the river.",
            "estimated_cost": "500", "district_id": str(cycle.districts[0].id),
            "category_id": str(cycle.categories[0].id)}
    response = client.submit(f"/cycles/{cycle.id}/proposals/new", form, follow_redirects=True)
    assert "Confirm your email address first" in response.get_data(as_text=True)
    assert "Send the confirmation email again" in response.get_data(as_text=True)
    assert db.session.scalar(select(func.count()).select_from(Proposal)) == 0
    response = client.submit("/account/confirm/resend", {"next": "/"})
    assert response.status_code == 302
    deliver_mail()
    assert client.get(_link(smtp.last_to(user.email), "/confirm/")).status_code == 302
    response = client.submit(f"/cycles/{cycle.id}/proposals/new", form)
    assert response.status_code == 302
    assert db.session.scalar(select(func.count()).select_from(Proposal)) == 1


def test_sending_the_confirmation_again_is_throttled(app, client, make_user):
    app.config["ACCOUNT_MAIL_LIMIT_PER_ACCOUNT"] = "2 per hour"
    user = make_user(email_confirmed_at=None)
    client.login(user)
    statuses = [client.submit("/account/confirm/resend").status_code for _ in range(3)]
    assert statuses == [302, 302, 429]
    assert db.session.scalar(select(func.count()).select_from(OutboxMessage)) == 2


def test_an_account_made_on_the_command_line_is_confirmed_and_one_made_by_an_official_is_not(app, make_user):
    from pb.services import users

    by_operator = users.create_user("op@example.org", "Op", "a-long-password", Role.MODERATOR)
    by_official = users.create_user("mo@example.org", "Mo", "a-long-password", Role.MODERATOR,
                                    actor=make_user(Role.OFFICIAL))
    assert by_operator.email_confirmed_at is not None and by_official.email_confirmed_at is None
    assert db.session.scalar(select(OutboxMessage.recipient)) == "mo@example.org"


def test_the_demo_accounts_are_confirmed(app):
    from pb.services import demo

    demo.load_demo()
    assert db.session.scalar(select(func.count()).select_from(User).where(User.email_confirmed_at.is_(None))) == 0


# --- password reset ------------------------------------------------------------------------------------------------


def test_forgot_password_sends_a_link_that_sets_a_new_password_once_and_ends_every_session(app, smtp, client,
                                                                                          make_user):
    user = make_user(locale="es", email_confirmed_at=None)
    other_device = app.test_client()
    other_device.login(user)
    assert client.get("/login").status_code == 200 and "Forgot your password?" in client.get("/login").get_data(as_text=True)
    response = client.submit("/forgot-password", {"email": user.email.upper()})
    assert response.status_code == 200 and "If" in response.get_data(as_text=True)
    deliver_mail()
    message = smtp.last_to(user.email)
    assert message["Subject"] and '<html lang="es">' in html_of(message)
    link = _link(message, "/reset-password/")
    assert client.get(link).status_code == 200
    refused = client.submit(link, {"new_password": "password1234", "confirm": "password1234"})
    assert refused.status_code == 400 and "too easy to guess" in refused.get_data(as_text=True)
    response = client.submit(link, {"new_password": "a-brand-new-secret", "confirm": "a-brand-new-secret"})
    assert response.status_code == 302 and response.location.endswith("/login")
    stored = _user(user.email)
    assert stored.email_confirmed_at is not None  # they read the mail sent to the address
    assert other_device.get("/profile").status_code == 302  # the other session ended
    assert client.get(link).status_code == 400  # the link worked once
    assert client.submit(link, {"new_password": "another-new-secret", "confirm": "another-new-secret"}).status_code == 400
    client.login(stored, "a-brand-new-secret")
    deliver_mail()
    changed = smtp.last_to(user.email)
    assert "password" in changed["Subject"].lower() and '<html lang="es">' in html_of(changed)
    assert db.session.scalar(select(AuditEntry.action).where(AuditEntry.action == "reset-password"))


def test_a_reset_link_expires_and_stops_working_when_the_password_changes_another_way(app, client, make_user):
    user = make_user()
    expired = accounts.reset_token(user, signed_at=utcnow() - timedelta(minutes=61))
    assert client.get(f"/reset-password/{expired}").status_code == 400
    fresh = accounts.reset_token(user, signed_at=utcnow() - timedelta(minutes=59))
    assert client.get(f"/reset-password/{fresh}").status_code == 200
    client.login(user)
    assert client.submit("/account/password", {"current_password": PASSWORD, "new_password": "a-brand-new-secret",
                                               "confirm": "a-brand-new-secret"}).status_code == 302
    assert app.test_client().get(f"/reset-password/{fresh}").status_code == 400
    response = app.test_client().submit(f"/reset-password/{fresh}",
                                        {"new_password": "yet-another-secret", "confirm": "yet-another-secret"})
    assert response.status_code == 400
    assert _user(user.email).password_hash == db.session.get(User, user.id).password_hash


def test_forgot_password_answers_the_same_for_any_address_and_mails_only_usable_accounts(app, smtp, client,
                                                                                         make_user):
    make_user(email="known@example.org")
    make_user(email="off@example.org", is_enabled=False)
    pages = {}
    for address in ("known@example.org", "nobody@example.org", "off@example.org"):
        response = app.test_client().submit("/forgot-password", {"email": address})
        assert response.status_code == 200
        pages[address] = _same_page(response.get_data(as_text=True), address)
    assert len(set(pages.values())) == 1
    deliver_mail()
    assert [str(m["To"]) for m in smtp.messages] == ["known@example.org"]


def test_the_changed_password_is_told_after_an_ordinary_change_too(app, smtp, client, make_user):
    user = make_user()
    client.login(user)
    client.submit("/account/password", {"current_password": PASSWORD, "new_password": "a-brand-new-secret",
                                        "confirm": "a-brand-new-secret"})
    deliver_mail()
    assert smtp.last_to(user.email)["Subject"] == "Your pb password was changed"


def test_password_reset_requests_are_throttled_per_address_typed(app, client):
    app.config["ACCOUNT_MAIL_LIMIT_PER_ACCOUNT"] = "2 per hour"
    statuses = [client.submit("/forgot-password", {"email": "x@example.org"}).status_code for _ in range(3)]
    assert statuses == [200, 200, 429]


@pytest.mark.parametrize("path", ["/confirm/%00", "/reset-password/" + "a" * 5000, "/profile/email/confirm/x.y.z",
                                  "/reset-password/eyJ1IjoxfQ.forged.sig", "/confirm/eyJ1IjoiYSJ9.x.y"])
def test_broken_links_never_fail_with_a_server_error(client, path):
    assert client.get(path).status_code in (400, 404)


@pytest.mark.parametrize("data", [{}, {"email": ""}, {"email": "x" * 300}, {"email": ["a@b.c", "d@e.f"]}])
def test_forgot_password_bad_input_is_refused_without_a_server_error(client, data):
    assert client.submit("/forgot-password", data).status_code in (200, 400)


# --- changing the address ------------------------------------------------------------------------------------------


def test_changing_the_address_confirms_the_new_one_and_tells_the_old_one_before_and_after(app, smtp, client,
                                                                                        make_user):
    user = make_user(email="old@example.org", locale="pl")
    client.login(user)
    response = client.submit("/profile/email", {"new_email": "New@Example.org", "password": PASSWORD})
    assert response.status_code == 302
    assert _user("old@example.org") is not None  # nothing changes before the link is followed
    deliver_mail()
    told = smtp.last_to("old@example.org")
    assert "n…@example.org" in text_of(told) and "new@example.org" not in text_of(told)
    confirm = smtp.last_to("new@example.org")
    assert '<html lang="pl">' in html_of(confirm)
    link = _link(confirm, "/profile/email/confirm/")
    assert app.test_client().get(link).status_code == 302  # works from any browser: the link is the proof
    stored = db.session.get(User, user.id)
    db.session.refresh(stored)
    assert stored.email == "new@example.org" and stored.email_confirmed_at is not None
    assert client.get(link).status_code == 400  # once
    deliver_mail()
    after = smtp.last_to("old@example.org")
    assert after["Subject"] == "Your pb email address was changed"
    entries = db.session.scalars(select(AuditEntry.after).where(AuditEntry.action.in_(
        ["request-email-change", "change-email"]))).all()
    assert len(entries) == 2 and not any("example.org" in entry for entry in entries)


def test_changing_to_an_address_another_account_has_reveals_nothing_and_tells_that_address(app, smtp, client,
                                                                                           make_user):
    user = make_user(email="me@example.org")
    make_user(email="taken@example.org")
    client.login(user)
    free = client.submit("/profile/email", {"new_email": "free@example.org", "password": PASSWORD},
                         follow_redirects=True)
    taken = client.submit("/profile/email", {"new_email": "taken@example.org", "password": PASSWORD},
                          follow_redirects=True)
    assert free.status_code == taken.status_code == 200
    assert _same_page(free.get_data(as_text=True), "free@example.org") == \
        _same_page(taken.get_data(as_text=True), "taken@example.org")
    deliver_mail()
    warning = smtp.last_to("taken@example.org")
    assert warning["Subject"] == "A pb account already uses this address"
    assert not [link for link in links_in(warning) if "/profile/email/confirm/" in link]
    assert _user("me@example.org") is not None


def test_a_change_link_stops_working_if_the_new_address_was_taken_meanwhile(app, client, make_user):
    user = make_user(email="me@example.org")
    token = accounts.address_change_token(user, "late@example.org")
    make_user(email="late@example.org")
    response = client.get(f"/profile/email/confirm/{token}")
    assert response.status_code == 400 and "Another account uses this address" in response.get_data(as_text=True)
    assert _user("me@example.org") is not None


@pytest.mark.parametrize(("data", "message"), [
    ({"new_email": "new@example.org", "password": "wrong-password"}, "current password is not right"),
    ({"new_email": "not an address", "password": PASSWORD}, "valid email"),
    ({"new_email": "", "password": PASSWORD}, "Enter your email address"),
    ({"new_email": "ME@example.org", "password": PASSWORD}, "already your address"),
])
def test_a_refused_address_change_says_why_and_sends_nothing(app, client, make_user, data, message):
    user = make_user(email="me@example.org")
    client.login(user)
    response = client.submit("/profile/email", data)
    assert response.status_code == 400 and message in response.get_data(as_text=True)
    assert db.session.scalar(select(func.count()).select_from(OutboxMessage)) == 0


def test_an_expired_change_link_changes_nothing(app, client, make_user):
    user = make_user(email="me@example.org")
    token = accounts.address_change_token(user, "new@example.org", signed_at=utcnow() - timedelta(hours=49))
    assert client.get(f"/profile/email/confirm/{token}").status_code == 400
    assert _user("me@example.org") is not None

