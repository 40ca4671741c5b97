"""Email through the outbox: writing messages in the sender's transaction, and delivering them (the worker's step).

A use case that causes an email calls `notify` inside its own transaction, so the message is stored if and only if
the change is. The worker calls `deliver_due`, the only code that talks to the mail server (through pb/mail.py):
it claims a batch for a while (a lease, so several workers never send one message at the same time; on PostgreSQL
rows another worker holds are skipped), sends each, and marks each sent at once. A worker that dies mid-batch leaves
its claims to expire; the next worker sends those messages again with their own Message-ID, so a message is delivered
at least once and its duplicates are recognisable. A failed delivery is tried again later, waiting longer each time,
and after `MAIL_MAX_ATTEMPTS` it is marked failed for officials to see.
"""

import json
import re
import secrets
import smtplib
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask import current_app, render_template, url_for
from flask_babel import force_locale
from itsdangerous import BadSignature, URLSafeSerializer
from sqlalchemy import func, or_, select, update

from pb import mail as mail_server
from pb.domain import notifications
from pb.domain.errors import ValidationError
from pb.domain.messages import N_
from pb.extensions import db
from pb.i18n import DEFAULT_LANGUAGE, LANGUAGES
from pb.models import OutboxMessage, User, utcnow
from pb.services import use_case

_ADDRESS = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
PENDING, SENT, FAILED = "pending", "sent", "failed"
_UNSUBSCRIBE_SALT = "pb unsubscribe"


def language_of(user: User | None) -> str:
    locale = user.locale if user is not None else None
    return locale if locale in LANGUAGES else current_app.config.get("DEFAULT_LANGUAGE", DEFAULT_LANGUAGE)


def _serializer() -> URLSafeSerializer:
    return URLSafeSerializer(current_app.config["SECRET_KEY"], salt=_UNSUBSCRIBE_SALT)


def unsubscribe_token(user_id: int, kind: str) -> str:
    """A token that turns one kind of message off for one person; it never expires, as unsubscribe links must not."""
    return _serializer().dumps({"user": user_id, "kind": kind})


def _render(template: str, context: dict) -> tuple[str, str, str]:
    """Subject, plain text and HTML of a message; called inside `_write`'s request context and locale."""
    text_template = current_app.jinja_env.get_template(f"mail/{template}.txt")
    subject = "".join(text_template.blocks["subject"](text_template.new_context(dict(context)))).strip()
    text = render_template(f"mail/{template}.txt", **context)
    html = render_template(f"mail/{template}.html", subject=subject, **context)
    return " ".join(subject.split()), text, html


def _write(recipient: str, kind: str, template: str, locale: str, user: User | None, context: dict) -> OutboxMessage:
    message_id = f"<{secrets.token_hex(16)}@{current_app.config['MAIL_MESSAGE_ID_DOMAIN']}>"
    headers = {"Message-ID": message_id, "Auto-Submitted": "auto-generated", "Content-Language": locale}
    unsubscribe_url = None
    # One request context at PB_BASE_URL for the whole message, so every link in it works from outside.
    with current_app.test_request_context("/", base_url=current_app.config["BASE_URL"]), force_locale(locale):
        if kind != notifications.SECURITY and user is not None:
            unsubscribe_url = url_for("notifications.unsubscribe", token=unsubscribe_token(user.id, kind),
                                      _external=True)
            # RFC 8058: a mail client may unsubscribe with one POST to this address, without opening a page.
            headers["List-Unsubscribe"] = f"<{unsubscribe_url}>"
            headers["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
        subject, text, html = _render(template, {
            **context, "recipient": user, "unsubscribe_url": unsubscribe_url, "kind": kind,
        })
    message = OutboxMessage(
        message_id=message_id, user_id=user.id if user is not None else None, recipient=recipient, kind=kind,
        template=template, locale=locale, subject=subject[:300], body_text=text, body_html=html,
        headers=json.dumps(headers), status=PENDING, attempts=0, next_attempt_at=utcnow(), last_error="",
    )
    db.session.add(message)
    return message


def notify(user: User, kind: str, template: str, **context) -> OutboxMessage | None:
    """Write one message to `user` to the outbox, in the caller's transaction; None when they should not get it.

    Nobody gets mail once their account is deleted. Only security messages reach an address whose owner has not
    confirmed it, or an account that is disabled: anything else there could be mail to a stranger.
    """
    if not notifications.is_wanted(kind, user.muted_notifications):
        return None
    if user.deleted_at is not None:
        return None
    if kind != notifications.SECURITY and (not user.is_confirmed or not user.is_enabled):
        return None
    return _write(user.email, kind, template, language_of(user), user, context)


def send_to_address(address: str, template: str, locale: str | None = None, **context) -> OutboxMessage:
    """Write a security message to an address that may have no account (e.g. "someone tried to register")."""
    chosen = locale if locale in LANGUAGES else language_of(None)
    return _write(address, notifications.SECURITY, template, chosen, None, context)


@use_case
def queue_test_message(address: str, where: str) -> OutboxMessage:
    """A message that only proves mail works (`flask pb send-test-mail`)."""
    address = (address or "").strip()
    if not _ADDRESS.match(address) or len(address) > 254:
        raise ValidationError(N_("Enter a valid email address."))
    return send_to_address(address, "test_message", where=where)


@use_case
def unsubscribe(token: str) -> tuple[User, str]:
    """Turn off the kind of message a List-Unsubscribe link names, for the person it names."""
    try:
        data = _serializer().loads(token)
        user_id, kind = int(data["user"]), str(data["kind"])
    except (BadSignature, KeyError, TypeError, ValueError):
        raise ValidationError(N_("This unsubscribe link is not valid. Turn messages off on your profile page instead.")) from None
    user = db.session.get(User, user_id)
    if user is None or user.deleted_at is not None or not notifications.can_turn_off(kind):
        raise ValidationError(N_("This unsubscribe link is not valid. Turn messages off on your profile page instead."))
    muted = notifications.muted_kinds(user.muted_notifications) | {kind}
    user.muted_notifications = notifications.store_muted(muted)
    return user, kind


def read_unsubscribe_token(token: str) -> str | None:
    """The kind an unsubscribe link would turn off, or None if the link is not valid (for the confirmation page)."""
    try:
        kind = str(_serializer().loads(token)["kind"])
    except (BadSignature, KeyError, TypeError, ValueError):
        return None
    return kind if notifications.can_turn_off(kind) else None


# Delivery: the worker's step.

@dataclass
class DeliveryReport:
    sent: int = 0
    retrying: int = 0
    failed: int = 0
    stopped_by: str = ""  # why the batch stopped early (the mail server could not be reached), if it did
    claimed: int = 0  # messages this round claimed, of at most `limit`
    limit: int = 0
    released: int = 0  # claimed but given back unsent: the lease was running out, or the worker was asked to stop

    @property
    def has_more(self) -> bool:
        """Whether more mail may be due right now (a full batch, or claims given back), so the next batch need not wait."""
        return not self.stopped_by and (self.released > 0 or (self.claimed > 0 and self.claimed >= self.limit))


@use_case
def _claim(now: datetime, limit: int, worker: str) -> list[int]:
    lease = timedelta(seconds=current_app.config["MAIL_CLAIM_SECONDS"])
    query = (
        select(OutboxMessage.id)
        .where(OutboxMessage.status == PENDING, OutboxMessage.next_attempt_at <= now,
               or_(OutboxMessage.claimed_until.is_(None), OutboxMessage.claimed_until < now))
        .order_by(OutboxMessage.next_attempt_at, OutboxMessage.id)
        .limit(limit)
    )
    if db.session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)
    ids = list(db.session.scalars(query))
    if ids:
        db.session.execute(
            update(OutboxMessage).where(OutboxMessage.id.in_(ids))
            .values(claimed_until=now + lease, claimed_by=worker)
        )
    return ids


@use_case
def _mark_sent(message_id: int, worker: str) -> None:
    db.session.execute(
        update(OutboxMessage).where(OutboxMessage.id == message_id, OutboxMessage.claimed_by == worker)
        .values(status=SENT, sent_at=utcnow(), claimed_until=None, attempts=OutboxMessage.attempts + 1)
    )


@use_case
def _mark_failed(message_id: int, worker: str, error: str, now: datetime) -> str:
    message = db.session.get(OutboxMessage, message_id)
    if message is None or message.claimed_by != worker or message.status != PENDING:
        return ""
    message.attempts += 1
    message.last_error = error[:2000]
    message.claimed_until = None
    if message.attempts >= current_app.config["MAIL_MAX_ATTEMPTS"]:
        message.status = FAILED
        message.failed_at = now
        return FAILED
    delay = notifications.retry_delay_seconds(
        message.attempts, current_app.config["MAIL_RETRY_FIRST_SECONDS"], current_app.config["MAIL_RETRY_LONGEST_SECONDS"]
    )
    message.next_attempt_at = now + timedelta(seconds=delay)
    return PENDING


@use_case
def _release(message_ids: list[int], worker: str) -> None:
    """Give back claims this worker will not use now (the server went away), without counting an attempt."""
    if message_ids:
        db.session.execute(
            update(OutboxMessage).where(OutboxMessage.id.in_(message_ids), OutboxMessage.claimed_by == worker)
            .values(claimed_until=None)
        )


def _envelope(message: OutboxMessage) -> mail_server.Envelope:
    return mail_server.Envelope(message.recipient, message.subject, message.body_text, message.body_html,
                                json.loads(message.headers or "{}"))


# Errors that mean the server (not this one message) is unreachable: stop the batch and try later.
_SERVER_GONE = (OSError, smtplib.SMTPServerDisconnected, smtplib.SMTPConnectError, smtplib.SMTPHeloError,
                smtplib.SMTPAuthenticationError, smtplib.SMTPNotSupportedError)


def _sending_time(lease_seconds: float) -> float:
    """How long a worker may go on sending the messages it claimed: the lease, less the time one send may take.

    A worker that is still sending when its lease runs out would meet another worker sending the same messages; it
    stops early instead and gives the rest back.
    """
    return lease_seconds - min(float(current_app.config["MAIL_TIMEOUT"]), lease_seconds / 2)


def deliver_due(now: datetime | None = None, limit: int | None = None,
                should_stop: Callable[[], bool] | None = None) -> DeliveryReport:
    """Send the messages that are due, at most `limit` (default MAIL_BATCH_SIZE), and record how each went.

    `should_stop` is asked before each message (the worker was told to stop): the rest are given back unsent.
    """
    now = now or utcnow()
    limit = limit or current_app.config["MAIL_BATCH_SIZE"]
    worker = secrets.token_hex(8)
    deadline = time.monotonic() + _sending_time(float(current_app.config["MAIL_CLAIM_SECONDS"]))
    ids = _claim(now, limit, worker)
    report = DeliveryReport(claimed=len(ids), limit=limit)
    if not ids:
        return report
    remaining = list(ids)
    rate = float(current_app.config.get("MAIL_MAX_PER_SECOND") or 0)
    next_send = time.monotonic()
    try:
        with mail_server.connection() as connection:
            while remaining:
                if rate:  # the provider's sending limit, or leaving the CPU to voters while a big batch goes out
                    time.sleep(max(0.0, next_send - time.monotonic()))
                    next_send = max(next_send, time.monotonic() - 1) + 1 / rate
                if time.monotonic() > deadline or (should_stop is not None and should_stop()):
                    break
                message_id = remaining[0]
                message = db.session.get(OutboxMessage, message_id)
                try:
                    connection.send(_envelope(message))
                except _SERVER_GONE:
                    raise
                except (smtplib.SMTPException, ValueError, UnicodeError) as error:  # this message only
                    remaining.pop(0)
                    outcome = _mark_failed(message_id, worker, f"{type(error).__name__}: {error}", utcnow())
                    report.failed += outcome == FAILED
                    report.retrying += outcome == PENDING
                    continue
                remaining.pop(0)
                _mark_sent(message_id, worker)
                report.sent += 1
    except _SERVER_GONE as error:
        report.stopped_by = f"{type(error).__name__}: {error}"
        if remaining:
            # The message being sent when the server went away counts as an attempt; the rest wait for the next round.
            outcome = _mark_failed(remaining[0], worker, report.stopped_by, utcnow())
            report.failed += outcome == FAILED
            report.retrying += outcome == PENDING
            remaining.pop(0)
    if remaining:
        _release(remaining, worker)
        report.released = len(remaining)
    return report


def counts_by_status() -> dict[str, int]:
    rows = db.session.execute(select(OutboxMessage.status, func.count()).group_by(OutboxMessage.status)).all()
    return {PENDING: 0, SENT: 0, FAILED: 0, **{status: count for status, count in rows}}
