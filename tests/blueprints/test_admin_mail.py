"""The officials' view of email delivery: the page, its warnings on the administration index, and trying again."""

from datetime import timedelta

from sqlalchemy import update

from pb.extensions import db
from pb.models import AuditEntry, OutboxMessage, Role, utcnow
from pb.services import mail


def _message(**values) -> int:
    message_id = mail.queue_test_message("someone@example.org", "the tests").id
    if values:
        db.session.execute(update(OutboxMessage).where(OutboxMessage.id == message_id).values(**values))
        db.session.commit()
    return message_id


def _failed() -> int:
    return _message(status="failed", attempts=10, last_error="SMTPRecipientsRefused: 550 mailbox unknown",
                    failed_at=utcnow())


def test_the_page_shows_counts_the_oldest_message_and_the_failures_with_their_errors(client, make_user):
    client.login(make_user(Role.OFFICIAL))
    _failed()
    _message(attempts=2, last_error="ConnectionRefusedError: [Errno 111]", next_attempt_at=utcnow() + timedelta(minutes=3),
             created_at=utcnow() - timedelta(minutes=50))
    page = client.get("/admin/mail").get_data(as_text=True)
    assert "SMTPRecipientsRefused: 550 mailbox unknown" in page and "ConnectionRefusedError" in page
    assert "someone@example.org" in page and "pb can send email" in page
    assert "50 minutes ago" in page and "Try again now" in page and "Try every failed message again now" in page
    assert "may itself not get through while the mail server is down" in page


def test_the_administration_index_warns_when_mail_failed_or_waits_too_long(client, make_user):
    client.login(make_user(Role.OFFICIAL))
    index = client.get("/admin/").get_data(as_text=True)
    assert "could not be delivered" not in index and 'href="/admin/mail"' in index
    [waiting] = [_message(created_at=utcnow() - timedelta(minutes=40))]
    assert "Email has been waiting to go out for 40 minutes." in client.get("/admin/").get_data(as_text=True)
    db.session.execute(update(OutboxMessage).where(OutboxMessage.id == waiting).values(created_at=utcnow()))
    db.session.commit()
    _failed()
    index = client.get("/admin/").get_data(as_text=True)
    assert "1 email could not be delivered." in index and "waiting to go out" not in index


def test_an_official_tries_a_failed_message_again_and_it_is_audited(client, make_user):
    official = make_user(Role.OFFICIAL)
    client.login(official)
    message_id = _failed()
    response = client.submit(f"/admin/mail/{message_id}/retry")
    assert response.status_code == 302 and response.location.endswith("/admin/mail")
    message = db.session.get(OutboxMessage, message_id)
    assert (message.status, message.attempts) == ("pending", 0)
    assert db.session.query(AuditEntry).filter_by(action="retry-mail", actor_id=official.id).count() == 1
    again = client.submit(f"/admin/mail/{message_id}/retry", follow_redirects=True)
    assert "has not failed" in again.get_data(as_text=True)


def test_trying_every_failed_message_again(client, make_user):
    client.login(make_user(Role.OFFICIAL))
    ids = [_failed(), _failed()]
    page = client.submit("/admin/mail/retry-failed", follow_redirects=True).get_data(as_text=True)
    assert "2 messages will be sent again shortly." in page
    assert {db.session.get(OutboxMessage, i).status for i in ids} == {"pending"}


def test_trying_again_needs_the_csrf_token_and_an_official(client, make_user):
    message_id = _failed()
    client.login(make_user(Role.OFFICIAL))
    assert client.post(f"/admin/mail/{message_id}/retry", data={}).status_code in (302, 400)
    assert client.post("/admin/mail/retry-failed", data={}).status_code in (302, 400)
    assert db.session.get(OutboxMessage, message_id).status == "failed"
    client.get("/logout")
    client.login(make_user(Role.MODERATOR))
    assert client.submit(f"/admin/mail/{message_id}/retry").status_code in (302, 403)
    assert db.session.get(OutboxMessage, message_id).status == "failed"


def test_the_list_pages_through_the_database_and_survives_odd_page_numbers(client, make_user):
    client.login(make_user(Role.OFFICIAL))
    for _ in range(55):
        _failed()
    first = client.get("/admin/mail").get_data(as_text=True)
    assert "Page 1 of 2" in first and "Older →" in first
    second = client.get("/admin/mail?page=2").get_data(as_text=True)
    assert second.count("Try again now") == 5 and "← Newer" in second
    for odd in ("abc", "-3", "0", "99999999999999999999"):
        assert client.get(f"/admin/mail?page={odd}").status_code == 200
