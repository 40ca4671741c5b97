"""Whether mail is getting through: what officials see and can retry, the alert when deliveries keep failing, and
forgetting delivered mail after a while (it holds people's addresses)."""

from dataclasses import dataclass
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import delete, func, or_, select, text

from pb.domain import notifications
from pb.domain.errors import ValidationError
from pb.domain.messages import N_
from pb.extensions import db
from pb.models import MailAlert, OutboxMessage, Role, User, utcnow
from pb.services import audit, load, mail, use_case
from pb.services.mail import FAILED, PENDING, SENT

PER_PAGE = 50
_ALERT_LOCK = 0x70620A1E  # PostgreSQL advisory lock: one worker at a time decides whether to alert


@dataclass(frozen=True)
class MailHealth:
    pending: int
    sent: int
    failed: int
    retrying: int  # pending messages that failed at least once and wait for their next attempt
    oldest_pending_at: datetime | None
    oldest_pending_minutes: int
    warn_after_minutes: int
    last_alert: MailAlert | None

    @property
    def is_late(self) -> bool:
        return self.pending > 0 and self.oldest_pending_minutes >= self.warn_after_minutes

    @property
    def needs_attention(self) -> bool:
        return self.failed > 0 or self.is_late


@dataclass(frozen=True)
class ProblemPage:
    messages: list[OutboxMessage]
    page: int
    per_page: int
    total: int

    @property
    def has_next(self) -> bool:
        return self.page * self.per_page < self.total

    @property
    def has_previous(self) -> bool:
        return self.page > 1


def _minutes_since(moment: datetime | None, now: datetime) -> int:
    return max(0, int((now - moment).total_seconds() // 60)) if moment is not None else 0


def summary(now: datetime | None = None) -> MailHealth:
    """Counts by status, the oldest message still waiting, and the last alert sent to officials."""
    now = now or utcnow()
    counts = mail.counts_by_status()
    retrying = db.session.scalar(select(func.count()).select_from(OutboxMessage)
                                 .where(OutboxMessage.status == PENDING, OutboxMessage.attempts > 0))
    oldest = db.session.scalar(select(func.min(OutboxMessage.created_at)).where(OutboxMessage.status == PENDING))
    last_alert = db.session.scalars(select(MailAlert).order_by(MailAlert.sent_at.desc(), MailAlert.id.desc())
                                    .limit(1)).first()
    return MailHealth(
        pending=counts[PENDING], sent=counts[SENT], failed=counts[FAILED], retrying=retrying or 0,
        oldest_pending_at=oldest, oldest_pending_minutes=_minutes_since(oldest, now),
        warn_after_minutes=int(current_app.config["MAIL_WARN_PENDING_MINUTES"]), last_alert=last_alert,
    )


def problems(page: int = 1, per_page: int = PER_PAGE) -> ProblemPage:
    """The messages that failed for good, then those waiting to be tried again, a page at a time (newest first)."""
    page = max(1, page)
    condition = or_(OutboxMessage.status == FAILED, (OutboxMessage.status == PENDING) & (OutboxMessage.attempts > 0))
    total = db.session.scalar(select(func.count()).select_from(OutboxMessage).where(condition)) or 0
    is_failed = (OutboxMessage.status == FAILED).desc()
    messages = list(db.session.scalars(
        select(OutboxMessage).where(condition).order_by(is_failed, OutboxMessage.id.desc())
        .offset((page - 1) * per_page).limit(per_page)
    ))
    return ProblemPage(messages, page, per_page, total)


def _try_again(message: OutboxMessage, now: datetime) -> None:
    message.status = PENDING
    message.attempts = 0  # a full round of attempts, with the waits between them starting short again
    message.next_attempt_at = now
    message.claimed_until = None
    message.failed_at = None


@use_case
def retry(actor: User, message_id: int) -> OutboxMessage:
    """Send a message that failed for good again at the worker's next round."""
    message = load(OutboxMessage, message_id, "message")
    if message.status != FAILED:
        raise ValidationError(N_("This message has not failed; the worker sends it without being asked."))
    attempts = message.attempts
    _try_again(message, utcnow())
    # The audit log is kept for good: it names the message, never the address it goes to.
    audit.record(actor, "retry-mail", f"outbox:{message.id}",
                 before={"status": FAILED, "attempts": attempts, "kind": message.kind}, after={"status": PENDING})
    return message


@use_case
def retry_all_failed(actor: User) -> int:
    """Send every message that failed for good again at the worker's next round; how many there were."""
    failed = list(db.session.scalars(select(OutboxMessage).where(OutboxMessage.status == FAILED)))
    if not failed:
        raise ValidationError(N_("No message has failed; there is nothing to try again."))
    now = utcnow()
    for message in failed:
        _try_again(message, now)
    audit.record(actor, "retry-all-mail", "outbox", before={"failed": len(failed)}, after={"status": PENDING})
    return len(failed)


def _hold_the_alert_lock() -> None:
    """Make a second worker deciding at the same moment wait, then see the alert this one wrote (SQLite's writers
    already take turns: every use case holds the write lock from its start)."""
    if db.session.connection().dialect.name == "postgresql":
        db.session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _ALERT_LOCK})


@use_case
def alert_officials(now: datetime | None = None) -> MailAlert | None:
    """Tell every official by email that deliveries keep failing, at most once per MAIL_ALERT_EVERY_HOURS.

    Due when a message failed for good since the last alert, or mail has waited longer than
    MAIL_ALERT_PENDING_MINUTES. The alert may itself not get through while the mail server is down: the
    administration page shows the same and is where officials should look.
    """
    now = now or utcnow()
    config = current_app.config
    _hold_the_alert_lock()
    last = db.session.scalars(select(MailAlert).order_by(MailAlert.sent_at.desc(), MailAlert.id.desc()).limit(1)).first()
    if last is not None and last.sent_at > now - timedelta(hours=float(config["MAIL_ALERT_EVERY_HOURS"])):
        return None
    newly_failed = select(func.count()).select_from(OutboxMessage).where(OutboxMessage.status == FAILED)
    if last is not None:
        newly_failed = newly_failed.where(OutboxMessage.failed_at > last.sent_at)
    failed_since = db.session.scalar(newly_failed) or 0
    health = summary(now)
    is_stuck = health.pending > 0 and health.oldest_pending_minutes >= int(config["MAIL_ALERT_PENDING_MINUTES"])
    if not failed_since and not is_stuck:
        return None
    officials = db.session.scalars(select(User).where(User.role == Role.OFFICIAL).order_by(User.id))
    written = sum(
        mail.notify(official, notifications.OFFICIAL_ALERTS, "mail_failing", failed=health.failed,
                    failed_since=failed_since, pending=health.pending,
                    oldest_pending_minutes=health.oldest_pending_minutes if is_stuck else 0) is not None
        for official in officials
    )
    alert = MailAlert(sent_at=now, failed_count=health.failed,
                      oldest_pending_minutes=health.oldest_pending_minutes, recipients=written)
    db.session.add(alert)
    return alert


@use_case
def forget_old_mail(now: datetime | None = None) -> int:
    """Delete messages delivered (or failed for good) more than MAIL_KEEP_DAYS ago: they hold people's addresses
    and what pb told them, which nobody needs any more. Messages still waiting are kept whatever their age."""
    cutoff = (now or utcnow()) - timedelta(days=float(current_app.config["MAIL_KEEP_DAYS"]))
    result = db.session.execute(
        delete(OutboxMessage).where(or_((OutboxMessage.status == SENT) & (OutboxMessage.sent_at < cutoff),
                                        (OutboxMessage.status == FAILED) & (OutboxMessage.failed_at < cutoff)))
        .execution_options(synchronize_session=False)
    )
    return result.rowcount or 0

