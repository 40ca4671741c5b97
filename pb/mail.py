"""The one module that talks to the mail server: Flask-Mailman over SMTP, or a folder of files in development.

Only the worker's delivery step (pb/services/mail.py, deliver_due) calls it. Everything else writes to the outbox.
"""

import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from flask import Flask, current_app
from flask_mailman import EmailMultiAlternatives, Mail

mailman = Mail()


@dataclass(frozen=True)
class Envelope:
    """A finished message as the outbox holds it."""

    recipient: str
    subject: str
    text: str
    html: str
    headers: dict[str, str] = field(default_factory=dict)


def init_app(app: Flask) -> None:
    """Use SMTP when a server is configured; otherwise (development) write each message to instance/mail/."""
    if not app.config.get("MAIL_BACKEND"):
        app.config["MAIL_BACKEND"] = "smtp" if app.config.get("MAIL_SERVER") else "file"
    app.config.setdefault("MAIL_FILE_PATH", os.path.join(app.instance_path, "mail"))
    mailman.init_app(app)


def describe() -> str:
    """Where mail goes, for people: the SMTP server or the development mailbox folder."""
    config = current_app.config
    if config["MAIL_BACKEND"] == "file":
        return f"the development mailbox {config['MAIL_FILE_PATH']}"
    return f"{config.get('MAIL_SERVER')}:{config.get('MAIL_PORT')}"


class Connection:
    """An open session with the mail server; `send` raises on any failure (the caller decides what to retry)."""

    def __init__(self, backend) -> None:
        self._backend = backend

    def send(self, envelope: Envelope) -> None:
        message = EmailMultiAlternatives(
            subject=envelope.subject, body=envelope.text, to=[envelope.recipient],
            from_email=current_app.config.get("MAIL_DEFAULT_SENDER"), headers=envelope.headers,
            connection=self._backend,
        )
        message.attach_alternative(envelope.html, "text/html")
        if self._backend.send_messages([message]) != 1:
            raise ConnectionError("the mail server did not take the message")


@contextmanager
def connection() -> Iterator[Connection]:
    """One session with the mail server for a batch of messages, closed afterwards whatever happens."""
    backend = mailman.get_connection(fail_silently=False)
    backend.open()
    try:
        yield Connection(backend)
    finally:
        try:
            backend.close()
        except Exception:  # noqa: BLE001  (closing a session that already broke must not hide why it broke)
            pass
