"""The outbox: messages written in the sender's transaction, rendered in the recipient's language, delivered through
a real SMTP server with retries, and never sent to people who turned them off."""

import json
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from pb.domain import notifications
from pb.domain.errors import ValidationError
from pb.extensions import db
from pb.models import OutboxMessage, utcnow
from pb.services import mail, use_case
from tests.conftest import deliver_mail, html_of, links_in, text_of


def _outbox() -> list[OutboxMessage]:
    return list(db.session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)))


@use_case
def _notify(user_id, kind=notifications.RESULTS, template="test_message", **context):
    from pb.models import User

    return mail.notify(db.session.get(User, user_id), kind, template, where=context.get("where", "the tests"))


@use_case
def _notify_then_fail(user_id):
    _notify.__wrapped__(user_id)
    raise ValidationError("the change that caused the email was refused")


def test_a_message_is_written_with_the_change_and_not_when_the_change_is_refused(app, make_user):
    resident = make_user()
    with pytest.raises(ValidationError):
        _notify_then_fail(resident.id)
    assert _outbox() == []
    _notify(resident.id)
    [message] = _outbox()
    assert (message.recipient, message.kind, message.status, message.attempts) == (resident.email, "results",
                                                                                   "pending", 0)


def test_a_delivered_message_reaches_the_smtp_server_with_its_id_text_html_and_one_click_unsubscribe(app, smtp,
                                                                                                    make_user):
    resident = make_user()
    _notify(resident.id)
    report = deliver_mail()
    assert (report.sent, report.failed, report.retrying) == (1, 0, 0)
    received = smtp.last_to(resident.email)
    [stored] = _outbox()
    assert received["Message-ID"] == stored.message_id
    assert received["Subject"] == "pb can send email"
    assert received["Auto-Submitted"] == "auto-generated"
    assert "check that email works" in text_of(received)
    assert "check that email works" in html_of(received) and html_of(received).startswith("<!doctype html>")
    assert received["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert received["List-Unsubscribe"].strip().startswith("<http://pb.test/unsubscribe/")
    assert (stored.status, stored.attempts) == ("sent", 1) and stored.sent_at is not None
    assert deliver_mail().sent == 0  # nothing is sent twice


def test_a_security_message_has_no_unsubscribe_and_ignores_the_persons_choices(app, smtp, make_user):
    resident = make_user(muted_notifications="results proposals")
    _notify(resident.id, kind=notifications.SECURITY)
    _notify(resident.id, kind=notifications.RESULTS)
    deliver_mail()
    [received] = smtp.to(resident.email)
    assert received["List-Unsubscribe"] is None
    assert "sent whatever your email choices are" in text_of(received)


def test_no_mail_but_security_mail_reaches_an_unconfirmed_disabled_or_deleted_account(app, make_user):
    unconfirmed = make_user(email_confirmed_at=None)
    disabled = make_user(is_enabled=False)
    deleted = make_user(deleted_at=utcnow())
    for user in (unconfirmed, disabled, deleted):
        _notify(user.id)
    assert _outbox() == []
    _notify(unconfirmed.id, kind=notifications.SECURITY)
    _notify(deleted.id, kind=notifications.SECURITY)
    assert [message.recipient for message in _outbox()] == [unconfirmed.email]


@pytest.mark.parametrize(("locale", "greeting"), [("es", "Hola:"), ("pl", "Dzień dobry,"), (None, "Hello,")])
def test_a_message_is_written_in_the_recipients_language(app, make_user, locale, greeting):
    resident = make_user(locale=locale)
    _notify(resident.id)
    [message] = _outbox()
    assert message.locale == (locale or "en")
    assert json.loads(message.headers)["Content-Language"] == (locale or "en")
    assert greeting in message.body_text
    assert f'<html lang="{locale or "en"}">' in message.body_html


def test_the_unsubscribe_link_in_a_message_turns_that_kind_off(app, smtp, client, make_user):
    resident = make_user()
    _notify(resident.id, kind=notifications.VOTING_REMINDER)
    deliver_mail()
    [link] = [link for link in links_in(smtp.last_to(resident.email)) if link.startswith("/unsubscribe/")]
    page = client.get(link)
    assert page.status_code == 200 and "Stop these emails" in page.get_data(as_text=True)
    assert db.session.get(type(resident), resident.id).muted_notifications == ""  # opening the link changes nothing
    response = client.submit(link)
    assert response.status_code == 200 and "will no longer email you" in response.get_data(as_text=True)
    assert db.session.get(type(resident), resident.id).muted_notifications == "voting_reminder"
    _notify(resident.id, kind=notifications.VOTING_REMINDER)
    assert [m.kind for m in _outbox()] == ["voting_reminder"]  # only the first, from before


def test_one_click_unsubscribe_by_a_mail_client_needs_no_page_and_no_csrf_token(app, client, make_user):
    resident = make_user(muted_notifications="results")
    _notify(resident.id, kind=notifications.VOTING_OPENS)
    [message] = _outbox()
    url = json.loads(message.headers)["List-Unsubscribe"].strip("<>").replace("http://pb.test", "")
    response = client.post(url, data={"List-Unsubscribe": "One-Click"})
    assert response.status_code == 204
    assert db.session.get(type(resident), resident.id).muted_notifications == "voting_opens results"


@pytest.mark.parametrize("token", ["nonsense", "eyJ1c2VyIjoxLCJraW5kIjoic2VjdXJpdHkifQ.forged"])
def test_a_forged_or_broken_unsubscribe_link_changes_nothing(app, client, make_user, token):
    resident = make_user()
    assert client.get(f"/unsubscribe/{token}").status_code == 400
    assert client.post(f"/unsubscribe/{token}", data={"List-Unsubscribe": "One-Click"}).status_code == 400
    response = client.submit(f"/unsubscribe/{token}")
    assert response.status_code == 400 and "not valid" in response.get_data(as_text=True)
    assert db.session.get(type(resident), resident.id).muted_notifications == ""


def test_security_mail_cannot_be_unsubscribed_even_with_a_correctly_signed_token(app, client, make_user):
    resident = make_user()
    token = mail.unsubscribe_token(resident.id, notifications.SECURITY)
    assert client.post(f"/unsubscribe/{token}", data={"List-Unsubscribe": "One-Click"}).status_code == 400
    assert db.session.get(type(resident), resident.id).muted_notifications == ""


def test_the_button_on_the_unsubscribe_page_needs_its_csrf_token(app, client, make_user):
    resident = make_user()
    token = mail.unsubscribe_token(resident.id, notifications.RESULTS)
    response = client.post(f"/unsubscribe/{token}", data={})
    assert response.status_code == 400 and "The form has expired" in response.get_data(as_text=True)
    assert db.session.get(type(resident), resident.id).muted_notifications == ""


def test_an_smtp_outage_delays_mail_with_growing_waits_and_loses_nothing(app, smtp, make_user):
    resident = make_user()
    _notify(resident.id)
    _notify(resident.id)
    smtp.stop()
    report = deliver_mail()
    assert report.sent == 0 and report.stopped_by
    first, second = _outbox()
    assert (first.status, first.attempts) == ("pending", 1) and "Connection" in first.last_error
    assert first.next_attempt_at > utcnow() + timedelta(seconds=50)
    assert (second.attempts, second.claimed_until) == (0, None)  # not tried: the server had gone
    assert deliver_mail().sent == 0 or smtp.messages == []  # the first waits its turn
    smtp.start()
    later = utcnow() + timedelta(minutes=2)
    assert mail.deliver_due(later).sent == 2
    assert [m["Message-ID"] for m in smtp.messages] == [first.message_id, second.message_id]


def test_a_message_that_keeps_failing_is_marked_failed_after_the_last_attempt(app, smtp, make_user):
    app.config["MAIL_MAX_ATTEMPTS"] = 3
    resident = make_user()
    _notify(resident.id)
    smtp.stop()
    moment = utcnow()
    for _ in range(3):
        mail.deliver_due(moment)
        moment += timedelta(hours=2)
    [message] = _outbox()
    assert (message.status, message.attempts) == ("failed", 3)
    assert mail.counts_by_status() == {"pending": 0, "sent": 0, "failed": 1}
    smtp.start()
    assert mail.deliver_due(moment).sent == 0


def test_a_message_claimed_by_a_worker_that_died_is_sent_again_with_the_same_id_after_the_lease(app, smtp,
                                                                                                make_user):
    resident = make_user()
    _notify(resident.id)
    now = utcnow()
    assert mail._claim(now, 10, "deadworker") != []  # a worker claimed it, then died before sending
    assert mail.deliver_due(now).sent == 0
    lease_over = now + timedelta(seconds=app.config["MAIL_CLAIM_SECONDS"] + 1)
    assert mail.deliver_due(lease_over).sent == 1
    [message] = _outbox()
    assert smtp.last_to(resident.email)["Message-ID"] == message.message_id


def test_a_test_message_can_be_queued_for_any_valid_address_only(app):
    with pytest.raises(ValidationError):
        mail.queue_test_message("not an address", "here")
    mail.queue_test_message("someone@example.org", "here")
    assert db.session.scalar(select(func.count()).select_from(OutboxMessage)) == 1


def test_without_a_mail_server_development_mail_lands_in_a_mailbox_folder(app, tmp_path):
    from pb import mail as mail_server

    app.config.update(MAIL_BACKEND=None, MAIL_SERVER=None, MAIL_FILE_PATH=str(tmp_path / "mail"))
    mail_server.init_app(app)
    assert app.config["MAIL_BACKEND"] == "file"
    mail.queue_test_message("someone@example.org", "the tests")
    assert deliver_mail().sent == 1
    [saved] = (tmp_path / "mail").iterdir()
    assert "check that email works" in saved.read_text() and "To: someone@example.org" in saved.read_text()


def test_a_sending_limit_spaces_the_messages_out(app, smtp):
    import time

    app.config["MAIL_MAX_PER_SECOND"] = 10
    for number in range(5):
        mail.queue_test_message(f"person{number}@example.org", "the tests")
    started = time.monotonic()
    assert deliver_mail().sent == 5
    assert time.monotonic() - started >= 0.4  # five messages at ten a second: four gaps of a tenth


def test_a_message_is_signed_with_the_citys_name_and_contact_address_once_officials_set_them(app, smtp, make_user):
    from pb.models import SiteIdentity

    resident = make_user()
    _notify(resident.id)
    db.session.add(SiteIdentity(id=1, name="Riverside decides", contact_email="budget@riverside.example"))
    db.session.commit()
    _notify(resident.id)
    deliver_mail()
    before, after = smtp.to(resident.email)
    assert "pb, your city's participatory budget" in text_of(before) and "Riverside" not in text_of(before)
    for part in (text_of(after), html_of(after)):
        assert "Riverside decides" in part and "budget@riverside.example" in part
        assert "pb, your city's participatory budget" not in part
