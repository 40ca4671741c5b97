"""What officials learn about mail that does not get through: the counts, the failed and retrying messages a page at
a time, trying again, one alert email however many workers run, and old mail deleted after MAIL_KEEP_DAYS."""

import threading
from datetime import timedelta

import pytest
from sqlalchemy import func, select, update

from pb.domain import notifications
from pb.domain.errors import NotFound, ValidationError
from pb.extensions import db
from pb.models import MailAlert, OutboxMessage, Role, utcnow
from pb.services import mail, mail_health
from tests.conftest import deliver_mail, links_in, text_of


def _queue(count: int = 1, **values) -> list[int]:
    """Queue test messages and set their columns (status, attempts, times...) as delivery would have left them."""
    ids = [mail.queue_test_message(f"person{number}@example.org", "the tests").id for number in range(count)]
    if values:
        db.session.execute(update(OutboxMessage).where(OutboxMessage.id.in_(ids)).values(**values))
        db.session.commit()
    return ids


def _failed(count: int = 1, at=None) -> list[int]:
    return _queue(count, status="failed", attempts=10, last_error="SMTPRecipientsRefused: 550 no such user",
                  failed_at=at or utcnow())


def test_the_summary_counts_by_status_and_ages_the_oldest_waiting_message(app):
    now = utcnow()
    _queue(2, created_at=now - timedelta(minutes=45))
    _queue(1, attempts=2, last_error="ConnectionRefusedError", next_attempt_at=now + timedelta(minutes=4))
    _queue(3, status="sent", sent_at=now)
    _failed(1)
    health = mail_health.summary(now)
    assert (health.pending, health.retrying, health.sent, health.failed) == (3, 1, 3, 1)
    assert health.oldest_pending_minutes == 45 and health.is_late and health.needs_attention


def test_nothing_needs_attention_when_mail_flows(app):
    _queue(2, status="sent", sent_at=utcnow())
    _queue(1)
    health = mail_health.summary()
    assert not health.needs_attention and health.oldest_pending_minutes == 0


def test_failed_and_retrying_messages_are_paged_failed_first(app):
    retrying = _queue(3, attempts=1, last_error="timeout")
    failed = _failed(60)
    _queue(5, status="sent", sent_at=utcnow())
    first = mail_health.problems(1, per_page=50)
    assert first.total == 63 and first.has_next and not first.has_previous
    assert [m.id for m in first.messages] == sorted(failed, reverse=True)[:50]
    last = mail_health.problems(2, per_page=50)
    assert [m.id for m in last.messages] == sorted(failed, reverse=True)[50:] + sorted(retrying, reverse=True)
    assert not last.has_next


def test_trying_a_failed_message_again_resets_its_attempts_and_is_audited_without_the_address(app, make_user,
                                                                                               audit_log):
    official = make_user(Role.OFFICIAL)
    [message_id] = _failed()
    mail_health.retry(official, message_id)
    message = db.session.get(OutboxMessage, message_id)
    assert (message.status, message.attempts, message.failed_at) == ("pending", 0, None)
    assert message.next_attempt_at <= utcnow()
    [entry] = audit_log("retry-mail")
    assert entry[:3] == (official.id, "retry-mail", f"outbox:{message_id}")
    assert "example.org" not in repr(entry)  # the audit log is kept for good; addresses are not


def test_only_a_failed_message_can_be_tried_again(app, make_user, snapshot):
    official = make_user(Role.OFFICIAL)
    [waiting] = _queue()
    before = snapshot()
    with pytest.raises(ValidationError):
        mail_health.retry(official, waiting)
    with pytest.raises(NotFound):
        mail_health.retry(official, 999_999)
    with pytest.raises(ValidationError):
        mail_health.retry_all_failed(official)
    assert snapshot() == before


def test_every_failed_message_can_be_tried_again_at_once_and_is_then_delivered(app, smtp, make_user, audit_log):
    official = make_user(Role.OFFICIAL)
    failed = _failed(3)
    assert mail_health.retry_all_failed(official) == 3
    assert [entry[3] for entry in audit_log("retry-all-mail")] == [{"failed": 3}]
    assert deliver_mail().sent == 3
    assert sorted(str(m["Message-ID"]) for m in smtp.messages) == sorted(
        db.session.scalars(select(OutboxMessage.message_id).where(OutboxMessage.id.in_(failed))))


def test_officials_are_emailed_once_when_deliveries_keep_failing_with_a_link_to_the_page(app, smtp, client,
                                                                                          make_user):
    officials = [make_user(Role.OFFICIAL), make_user(Role.OFFICIAL)]
    resident = make_user()
    make_user(Role.OFFICIAL, muted_notifications="official_alerts")
    now = utcnow()
    assert mail_health.alert_officials(now) is None  # nothing wrong: nobody is bothered
    _failed(2, at=now)
    alert = mail_health.alert_officials(now + timedelta(seconds=1))
    assert alert.recipients == 2 and alert.failed_count == 2
    assert mail_health.alert_officials(now + timedelta(hours=1)) is None  # at most once per MAIL_ALERT_EVERY_HOURS
    deliver_mail()
    assert {str(m["To"]) for m in smtp.messages} == {official.email for official in officials}
    assert not smtp.to(resident.email)
    received = smtp.last_to(officials[0].email)
    assert received["Subject"] == "pb: email deliveries keep failing"
    assert "2 messages could not be delivered" in text_of(received)
    [page] = [link for link in links_in(received) if link.startswith("/admin/mail")]
    client.login(officials[0])
    assert "SMTPRecipientsRefused" in client.get(page).get_data(as_text=True)
    outbox_kinds = set(db.session.scalars(select(OutboxMessage.kind).where(OutboxMessage.status == "sent")))
    assert outbox_kinds == {notifications.OFFICIAL_ALERTS}


def _deliver_alerts(at) -> None:
    db.session.execute(update(OutboxMessage).where(OutboxMessage.kind == notifications.OFFICIAL_ALERTS)
                       .values(status="sent", sent_at=at))
    db.session.commit()


def test_a_later_alert_needs_a_new_failure_or_mail_stuck_for_an_hour(app, make_user):
    make_user(Role.OFFICIAL)
    now = utcnow()
    _failed(1, at=now)
    assert mail_health.alert_officials(now) is not None
    _deliver_alerts(now)
    later = now + timedelta(hours=7)
    assert mail_health.alert_officials(later) is None  # the same failure is not reported twice
    _failed(1, at=later)
    assert mail_health.alert_officials(later + timedelta(seconds=1)) is not None
    _deliver_alerts(later)
    much_later = later + timedelta(hours=7)
    _queue(1, created_at=much_later - timedelta(minutes=61))
    stuck = mail_health.alert_officials(much_later)
    assert stuck is not None and stuck.oldest_pending_minutes == 61


def test_two_workers_deciding_at_once_write_one_alert(app, make_user):
    officials = [make_user(Role.OFFICIAL) for _ in range(3)]
    _failed(1)
    db.session.remove()
    barrier, results = threading.Barrier(4), []

    def decide():
        with app.app_context():
            barrier.wait()
            try:
                results.append(mail_health.alert_officials())
            finally:
                db.session.remove()

    threads = [threading.Thread(target=decide) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert len([result for result in results if result is not None]) == 1
    assert db.session.scalar(select(func.count()).select_from(MailAlert)) == 1
    alerts = db.session.scalar(select(func.count()).select_from(OutboxMessage)
                               .where(OutboxMessage.kind == notifications.OFFICIAL_ALERTS))
    assert alerts == len(officials)


def test_mail_delivered_or_failed_over_the_kept_days_is_deleted_and_waiting_mail_is_kept(app):
    now = utcnow()
    old, recent = now - timedelta(days=31), now - timedelta(days=29)
    [old_sent] = _queue(1, status="sent", sent_at=old)
    [recent_sent] = _queue(1, status="sent", sent_at=recent)
    [old_failed] = _failed(1, at=old)
    [old_waiting] = _queue(1, created_at=old)
    assert mail_health.forget_old_mail(now) == 2
    kept = set(db.session.scalars(select(OutboxMessage.id)))
    assert kept == {recent_sent, old_waiting} and not kept & {old_sent, old_failed}
    app.config["MAIL_KEEP_DAYS"] = 7
    assert mail_health.forget_old_mail(now) == 1
