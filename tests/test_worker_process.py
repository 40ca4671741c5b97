"""The worker as it runs in production: `flask --app app pb worker` processes against a real SMTP server, killed
outright mid-delivery, meeting a mail server that goes away mid-session, and several at once on one outbox.

Nothing is lost in any of these, and every message reaches its recipient exactly once once duplicates are dropped by
Message-ID: delivery is at least once, and the id fixed in the outbox makes a second copy recognisable. Several
workers at once never send the same message twice (claims are leases; PostgreSQL skips rows another worker holds,
SQLite lets one writer claim at a time).
"""

import asyncio
import json
import os
import pathlib
import re
import signal
import subprocess
import sys
import time
from collections import Counter
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from pb.extensions import db
from pb.models import OutboxMessage
from pb.services import mail
from tests.conftest import SmtpServer

ROOT = pathlib.Path(__file__).resolve().parents[1]
MESSAGES = 200
DEADLINE = 180  # seconds: generous, the machine may be shared and slow


class SlowSmtpServer(SmtpServer):
    """The tests' SMTP server, taking a while over each message as a real one under load does."""

    def __init__(self, seconds_per_message: float) -> None:
        super().__init__()
        self.seconds_per_message = seconds_per_message

    async def handle_DATA(self, server, session, envelope):  # noqa: N802  (aiosmtpd's hook name)
        await asyncio.sleep(self.seconds_per_message)  # a server stopped meanwhile never takes the message
        return await super().handle_DATA(server, session, envelope)

    def message_ids(self) -> list[str]:
        return [str(message["Message-ID"]) for message in list(self.messages)]


@pytest.fixture
def slow_smtp():
    server = SlowSmtpServer(seconds_per_message=0.02)
    server.start()
    yield server
    server.stop()


class Workers:
    """Worker processes started as an operator would, on the test's database, each with its own log."""

    def __init__(self, app, folder: pathlib.Path, smtp_port: int, **settings) -> None:
        self.environment = {
            **os.environ,
            "PYTHONUNBUFFERED": "1",
            "PB_DATABASE_URL": app.config["DATABASE_URL"],
            "PB_SQLALCHEMY_ENGINE_OPTIONS": json.dumps(app.config["SQLALCHEMY_ENGINE_OPTIONS"]),
            "PB_SECRET_KEY": app.config["SECRET_KEY"],
            "PB_BASE_URL": "http://pb.test",
            "PB_MAIL_SERVER": "127.0.0.1",
            "PB_MAIL_PORT": str(smtp_port),
            "PB_MAIL_TIMEOUT": "10",
            "PB_WORKER_INTERVAL_SECONDS": "0.2",
            **{f"PB_{name}": str(value) for name, value in settings.items()},
        }
        self.folder = folder
        self.processes: list[tuple[subprocess.Popen, pathlib.Path]] = []

    def start(self) -> subprocess.Popen:
        log = self.folder / f"worker-{len(self.processes)}.log"
        with log.open("w") as output:
            process = subprocess.Popen([sys.executable, "-m", "flask", "--app", "app", "pb", "worker"], cwd=ROOT,
                                       env=self.environment, stdout=output, stderr=subprocess.STDOUT)
        self.processes.append((process, log))
        return process

    def wait_until_started(self) -> None:
        wait_until(lambda: all("pb worker started" in log.read_text() for _, log in self.processes),
                   "the workers to start", self)

    def logs(self) -> str:
        return "\n".join(f"--- {log.name}\n{log.read_text()}" for _, log in self.processes)

    def stop_all(self) -> None:
        for process, _ in self.processes:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process, _ in self.processes:
            try:
                process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


@pytest.fixture
def workers(app, tmp_path):
    started = []

    def make(smtp_port: int, **settings) -> Workers:
        group = Workers(app, tmp_path, smtp_port, **settings)
        started.append(group)
        return group

    db.session.remove()  # the workers' transactions must not wait for the test's
    yield make
    for group in started:
        group.stop_all()


def wait_until(condition, what: str, workers: Workers | None = None, deadline: float = DEADLINE) -> None:
    """Poll until `condition()` holds; fail with the workers' logs after `deadline` seconds."""
    end = time.monotonic() + deadline
    while not condition():
        if time.monotonic() > end:
            pytest.fail(f"gave up waiting for {what}" + (f"\n{workers.logs()}" if workers else ""))
        time.sleep(0.05)


def queue(count: int = MESSAGES) -> set[str]:
    """Queue `count` messages through the service, one use case each, as the app's changes do; their Message-IDs."""
    for number in range(count):
        mail.queue_test_message(f"resident{number}@example.org", "the worker tests")
    ids = set(db.session.scalars(select(OutboxMessage.message_id)))
    db.session.remove()
    return ids


def by_status() -> dict[str, int]:
    counts = mail.counts_by_status()
    db.session.remove()
    return counts


def test_a_worker_killed_mid_delivery_loses_nothing_and_duplicates_carry_the_same_message_id(
        app, slow_smtp, workers):
    batch = 20
    group = workers(slow_smtp.port, MAIL_BATCH_SIZE=batch, MAIL_CLAIM_SECONDS=3)
    queued = queue()
    first = group.start()
    wait_until(lambda: len(slow_smtp.messages) >= 40, "40 messages to arrive", group)
    first.kill()  # SIGKILL: no chance to mark anything or give claims back
    first.wait(timeout=30)
    arrived_before = len(slow_smtp.messages)
    assert arrived_before < MESSAGES, "the worker finished before it could be killed; slow the SMTP server down"

    group.start()
    wait_until(lambda: by_status()["sent"] == MESSAGES and set(slow_smtp.message_ids()) == queued,
               "every message to be sent", group)
    received = slow_smtp.message_ids()
    assert set(received) == queued  # nothing lost, nothing foreign
    duplicates = Counter(received) - Counter(set(received))
    # Only what the killed worker had sent but not yet marked sent can arrive twice: at most its batch in flight.
    assert sum(duplicates.values()) <= batch
    for message_id in duplicates:
        copies = [message for message in slow_smtp.messages if message["Message-ID"] == message_id]
        # A second copy is the same message, recognisable (and dropped by mail systems) by its Message-ID.
        assert len({(str(c["To"]), str(c["Subject"]), c.get_body(("plain",)).get_content()) for c in copies}) == 1
    stored = dict(db.session.execute(select(OutboxMessage.message_id, OutboxMessage.recipient)).all())
    assert {message_id: str(slow_smtp.messages[received.index(message_id)]["To"]) for message_id in queued} == stored


def test_the_mail_server_going_away_mid_session_delays_mail_and_loses_nothing(app, slow_smtp, workers):
    group = workers(slow_smtp.port, MAIL_BATCH_SIZE=50, MAIL_RETRY_FIRST_SECONDS=1, MAIL_RETRY_LONGEST_SECONDS=2)
    queued = queue()
    worker = group.start()
    wait_until(lambda: len(slow_smtp.messages) >= 30, "30 messages to arrive", group)
    stopped_at = mail.utcnow()  # taken first: the worker may notice the server going away before stop() returns
    slow_smtp.stop()
    arrived_while_up = len(slow_smtp.messages)
    assert arrived_while_up < MESSAGES

    def failure_recorded():
        found = db.session.scalars(select(OutboxMessage).where(OutboxMessage.last_error != "")).first()
        db.session.remove()
        return found is not None

    wait_until(failure_recorded, "the worker to record the failed delivery", group)
    failed = db.session.scalars(select(OutboxMessage).where(OutboxMessage.last_error != "")).first()
    assert failed.status == "pending" and failed.attempts >= 1
    assert "SMTP" in failed.last_error or "Connection" in failed.last_error or "Error" in failed.last_error
    assert failed.next_attempt_at >= stopped_at + timedelta(seconds=1)  # a retry waits, it does not hammer
    db.session.remove()
    time.sleep(1)  # the worker keeps trying while the server is down
    counts = by_status()
    assert counts["failed"] == 0 and counts["pending"] + counts["sent"] == MESSAGES
    assert counts["sent"] == len(set(slow_smtp.message_ids()))  # every message marked sent had arrived
    assert worker.poll() is None  # the outage changes nothing else: the worker carries on

    slow_smtp.start()  # the same port, as a mail server coming back
    wait_until(lambda: by_status()["sent"] == MESSAGES, "every message to be sent after the outage", group)
    assert set(slow_smtp.message_ids()) == queued
    assert len(slow_smtp.message_ids()) == MESSAGES  # the outage alone causes no duplicate
    assert worker.poll() is None


def test_several_workers_on_one_outbox_never_send_a_message_twice(app, slow_smtp, workers):
    group = workers(slow_smtp.port, MAIL_BATCH_SIZE=10, MAIL_CLAIM_SECONDS=60)
    for _ in range(3):
        group.start()
    group.wait_until_started()
    queued = queue()
    wait_until(lambda: by_status()["sent"] == MESSAGES, "every message to be sent", group)
    wait_until(lambda: len(slow_smtp.messages) >= MESSAGES, "every message to arrive", group)
    received = slow_smtp.message_ids()
    assert sorted(received) == sorted(queued)  # each exactly once: no duplicate Message-ID at all
    group.stop_all()
    senders = [log for _, log in group.processes
               if any(int(sent) for sent in re.findall(r"mail: (\d+) sent", log.read_text()))]
    assert len(senders) >= 2, f"only one worker delivered; the test did not run workers side by side\n{group.logs()}"
    assert db.session.scalar(select(func.sum(OutboxMessage.attempts))) == MESSAGES


def _children(pid: int) -> list[int]:
    """The processes whose parent is `pid`, read from every process's stat (the server's request threads come and go,
    so its per-thread children lists cannot be read reliably; a process that ends meanwhile is skipped)."""
    found = []
    for stat in pathlib.Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (FileNotFoundError, ProcessLookupError, IndexError):
            continue
        if int(fields[1]) == pid:
            found.append(int(stat.parent.name))
    return found


def _is_gone(pid: int) -> bool:
    try:
        state = pathlib.Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return True
    return state == "Z"  # ended, waiting for its parent to read its exit status


@pytest.mark.parametrize("engine_name", ["sqlite"])  # the development server; its database does not matter here
@pytest.mark.parametrize("stop_with", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_pb_serve_runs_the_worker_beside_the_development_server_and_stops_both(app, smtp, tmp_path, stop_with):
    from tests.live_server import free_port

    mail.queue_test_message("developer@example.org", "pb serve")
    db.session.remove()
    port = free_port()
    group = Workers(app, tmp_path, smtp.port)
    log = tmp_path / "serve.log"
    with log.open("w") as output:
        serve = subprocess.Popen([sys.executable, "-m", "flask", "--app", "app", "pb", "serve", "--port", str(port)],
                                 cwd=ROOT, env=group.environment, stdout=output, stderr=subprocess.STDOUT)
    try:
        wait_until(lambda: len(smtp.messages) == 1 or serve.poll() is not None,
                   "the worker started by pb serve to deliver the message")
        assert serve.poll() is None, log.read_text()
        assert str(smtp.messages[0]["To"]) == "developer@example.org"
        wait_until(lambda: _answers(f"http://127.0.0.1:{port}/"), "the development server to answer")
        [worker] = _children(serve.pid)
        serve.send_signal(stop_with)
        assert serve.wait(timeout=60) is not None
        wait_until(lambda: _is_gone(worker), "the worker to stop with the server", deadline=60)
        assert "pb worker stopped." in log.read_text()
    finally:
        if serve.poll() is None:
            serve.kill()
            serve.wait()


def _answers(url: str) -> bool:
    import urllib.error
    import urllib.request

    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status == 200
    except (urllib.error.URLError, OSError):
        return False
