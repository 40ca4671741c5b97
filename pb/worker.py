"""The worker: the process beside gunicorn that does pb's background work, round after round, until it is stopped.

Each round runs every job in JOBS once, each in its own app context and transactions, so one failing job (the mail
server is down, a cycle cannot move) is logged and the others still run. SIGTERM or SIGINT ends the worker after
the current job; a worker killed outright loses nothing, since every job keeps its state in the database.
"""

import logging
import signal
import threading
import time
from collections.abc import Callable
from datetime import datetime

from flask import Flask

from pb.extensions import db
from pb.models import utcnow
from pb.services import announcements, digest, mail, mail_health, schedule

log = logging.getLogger("pb.worker")

# Set by SIGTERM/SIGINT: jobs that loop look at it between steps, so the worker stops within one message.
stopping = threading.Event()

# A big batch (voting opens for 10,000 residents) goes out batch after batch without waiting for the next round, but
# the other jobs get their turn at least this often, so a phase is never moved much later than its time.
MAIL_SECONDS_PER_ROUND = 30


def deliver_mail(now: datetime) -> str:
    sent = retrying = failed = 0
    started = time.monotonic()
    while True:
        report = mail.deliver_due(now, should_stop=stopping.is_set)
        sent, retrying, failed = sent + report.sent, retrying + report.retrying, failed + report.failed
        if (report.stopped_by or not report.has_more or stopping.is_set()
                or time.monotonic() - started > MAIL_SECONDS_PER_ROUND):
            break
    if report.stopped_by:
        return f"mail: {sent} sent, stopped: {report.stopped_by}"
    return f"mail: {sent} sent, {retrying} to retry, {failed} failed" if any((sent, retrying, failed)) else ""


def alert_officials_about_mail(now: datetime) -> str:
    alert = mail_health.alert_officials(now)
    return f"mail: alert written to {alert.recipients} official(s): deliveries keep failing" if alert else ""


def at_most_every(seconds: float, job: Callable[[datetime], str]) -> Callable[[datetime], str]:
    """A job that this worker runs again only after `seconds` (a cheap check each round is not worth it)."""
    last_run: list[float] = []

    def run_now(now: datetime) -> str:
        if last_run and time.monotonic() - last_run[0] < seconds:
            return ""
        line = job(now)
        last_run[:] = [time.monotonic()]
        return line

    return run_now


def forget_old_mail(now: datetime) -> str:
    count = mail_health.forget_old_mail(now)
    return f"mail: deleted {count} message(s) delivered or failed over the kept days" if count else ""


def keep_timetable(now: datetime) -> str:
    return "\n".join(schedule.run_due(now))


def remind_voters(now: datetime) -> str:
    return "\n".join(announcements.remind_due(now))


# (name, job): each job takes the time of the round and returns a line for the log ("" when it had nothing to do).
# One entry per line, so that jobs added side by side merge cleanly.
JOBS: list[tuple[str, Callable[[datetime], str]]] = [
    # The timetable first, so the mail its moves write goes out in the same round.
    ("keep the timetable", keep_timetable),
    ("remind voters", remind_voters),
    ("moderation digest", digest.daily_job),  # before delivery, so the digest goes out in the same round
    ("deliver mail", deliver_mail),
    ("alert officials about failing mail", alert_officials_about_mail),
    ("forget old mail", at_most_every(3600, forget_old_mail)),
]


def run_round(app: Flask, now: datetime | None = None) -> list[str]:
    """Run every job once; returns what they did (and what failed), for the log and for tests."""
    lines = []
    for name, job in JOBS:
        with app.app_context():
            try:
                line = job(now or utcnow())
            except Exception as error:  # noqa: BLE001  (one job's failure must not stop the others or the worker)
                db.session.rollback()
                log.exception("%s failed", name)
                line = f"{name} failed: {type(error).__name__}: {error}"
            finally:
                db.session.remove()
        if line:
            lines.append(line)
    return lines


def run(app: Flask, interval: float, *, once: bool = False, echo: Callable[[str], None] = print) -> None:
    """Run rounds every `interval` seconds until SIGTERM/SIGINT (or one round with `once`)."""
    stopping.clear()

    def stop(_signum, _frame) -> None:
        stopping.set()

    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, stop)
        signal.signal(signal.SIGINT, stop)
    echo(f"pb worker started: delivering mail to {_describe(app)}, every {interval:g} s.")
    while not stopping.is_set():
        for line in run_round(app):
            echo(line)
        if once:
            break
        stopping.wait(interval)
    echo("pb worker stopped.")


def _describe(app: Flask) -> str:
    from pb import mail as mail_server

    with app.app_context():
        return mail_server.describe()
