"""Benchmark: a "voting opens" email to 10,000 residents, written through the real outbox path and delivered by the
real worker (`flask pb worker`) to a local SMTP server, on SQLite and PostgreSQL; and, with --with-load, web voting
throughput (bench/load.py's load) without the batch and while the worker delivers it.

    .venv/bin/python bench/mail.py --engine both
    .venv/bin/python bench/mail.py --engine both --with-load --voters 400 --duration 30
    .venv/bin/python bench/mail.py --quick

Reports the time to queue (one transaction, as a phase change writes it), the time to deliver (from the worker's
start, and from the first message to the last), messages per second, the worker's peak memory (RSS), and that every
message arrived exactly once. The last line is one JSON object with the figures (per engine under "engines").
"""

import argparse
import asyncio
import os
import pathlib
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))

from _server import (  # noqa: E402
    BENCH_SETTINGS,
    DEFAULT_POSTGRES_URL,
    ROOT,
    Load,
    Server,
    bench_app,
    create_election,
    fresh_database,
    summary_line,
)
from load import ballot_figures  # noqa: E402

RATE = [0.0]  # --mail-rate: PB_MAIL_MAX_PER_SECOND for the worker
_MESSAGE_ID = re.compile(rb"^Message-ID:\s*(\S+)", re.IGNORECASE | re.MULTILINE)


class CountingSmtpServer:
    """A local SMTP server (aiosmtpd, in a thread of the bench) that counts what arrives and keeps each Message-ID."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.message_ids: list[bytes] = []
        self.first_at = self.last_at = 0.0
        self._controller = None

    async def handle_DATA(self, server, session, envelope):  # noqa: N802  (aiosmtpd's hook name)
        found = _MESSAGE_ID.search(envelope.original_content or envelope.content)
        self.message_ids.append(found.group(1) if found else b"")
        self.last_at = time.time()
        self.first_at = self.first_at or self.last_at
        await asyncio.sleep(0)
        return "250 Message accepted for delivery"

    def start(self) -> None:
        from aiosmtpd.controller import Controller

        self._controller = Controller(self, hostname="127.0.0.1", port=self.port)
        self._controller.start()

    def stop(self) -> None:
        self._controller.stop()


def template_default() -> str:
    return "voting_opens" if (ROOT / "pb" / "templates" / "mail" / "voting_opens.txt").exists() else "test_message"


def add_residents(url: str, count: int) -> None:
    """`count` confirmed residents who want "voting opens" emails (cheap password hashes; nobody logs in)."""
    from sqlalchemy import insert

    from pb.extensions import db
    from pb.models import Role, User, utcnow

    app = bench_app(url)
    with app.app_context():
        now = utcnow()
        for start in range(0, count, 5000):
            db.session.execute(insert(User), [
                {"email": f"resident{number}@bench.test", "name": f"Resident {number}", "role": Role.RESIDENT,
                 "password_hash": "x", "email_confirmed_at": now, "locale": ("en", "es", "pl")[number % 3]}
                for number in range(start, min(count, start + 5000))])
        db.session.commit()
        db.session.remove()
        db.engine.dispose()


def queue_batch(url: str, template: str, cycle_id: int) -> tuple[int, float]:
    """Write one message to every resident through mail.notify in ONE use case, as opening voting does."""
    from sqlalchemy import select

    from pb.extensions import db
    from pb.models import Cycle, User
    from pb.services import mail, use_case

    app = bench_app(url)
    app.config["BASE_URL"] = "https://pb.bench.test/"

    @use_case
    def voting_opens() -> int:
        cycle = db.session.get(Cycle, cycle_id)
        residents = db.session.scalars(select(User).where(User.email.like("resident%@bench.test")).order_by(User.id))
        return sum(mail.notify(resident, "voting_opens", template, cycle=cycle, district=cycle.districts[0],
                               where="bench/mail.py") is not None for resident in residents)

    with app.app_context():
        started = time.perf_counter()
        written = voting_opens()
        seconds = time.perf_counter() - started
        db.session.remove()
        db.engine.dispose()
    return written, seconds


def outbox_counts(url: str) -> dict[str, int]:
    from pb.extensions import db
    from pb.services import mail

    app = bench_app(url)
    with app.app_context():
        counts = mail.counts_by_status()
        db.session.remove()
        db.engine.dispose()
    return counts


def start_worker(url: str, smtp_port: int, folder: pathlib.Path, nice: int = 0) -> subprocess.Popen:
    environment = {**os.environ, "PB_MAIL_MAX_PER_SECOND": str(RATE[0]), "PB_DATABASE_URL": url, "PB_SECRET_KEY": BENCH_SETTINGS["SECRET_KEY"],
                   "PB_BASE_URL": "https://pb.bench.test", "PB_MAIL_SERVER": "127.0.0.1", "PB_MAIL_PORT": str(smtp_port),
                   "PB_WORKER_INTERVAL_SECONDS": "1", "PYTHONUNBUFFERED": "1"}
    log = (folder / "worker.log").open("w")
    return subprocess.Popen([sys.executable, "-m", "flask", "--app", "app", "pb", "worker"], cwd=ROOT, env=environment,
                            stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
                            preexec_fn=(lambda: os.nice(nice)) if nice else None)  # as systemd's Nice= does


def peak_rss_mb(pid: int) -> float:
    """The process's peak resident memory so far (VmHWM), in MB."""
    for line in pathlib.Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def deliver(url: str, smtp: CountingSmtpServer, expected: int, folder: pathlib.Path, timeout: float,
            nice: int = 0) -> dict:
    """Run the real worker until every message arrived and is marked sent; its figures."""
    started = time.time()
    worker = start_worker(url, smtp.port, folder, nice)
    peak = 0.0
    try:
        deadline = time.monotonic() + timeout
        while len(smtp.message_ids) < expected:
            if worker.poll() is not None or time.monotonic() > deadline:
                raise SystemExit(f"the worker stopped or timed out at {len(smtp.message_ids)} of {expected}:\n"
                                 + (folder / "worker.log").read_text()[-3000:])
            peak = max(peak, peak_rss_mb(worker.pid))
            time.sleep(0.2)
        while outbox_counts(url)["sent"] < expected:  # the last mark follows the last message by a moment
            time.sleep(0.2)
        peak = max(peak, peak_rss_mb(worker.pid))
    finally:
        worker.send_signal(signal.SIGTERM)
        worker.wait(timeout=60)
    seconds = smtp.last_at - started
    spread = smtp.last_at - smtp.first_at
    distinct = len(set(smtp.message_ids))
    return {"deliver_s": round(seconds, 1), "first_to_last_s": round(spread, 1),
            "messages_per_s": round(expected / spread, 1) if spread else None,
            "peak_rss_mb": round(peak, 1), "received": len(smtp.message_ids), "distinct": distinct,
            "window": (smtp.first_at, smtp.last_at)}


def run_engine(engine: str, args, template: str) -> dict:
    folder = pathlib.Path(tempfile.mkdtemp(prefix="pb-mail-bench-"))
    from _server import free_port

    try:
        with fresh_database(engine, args.postgres_url) as url:
            election = create_election(url, args.voters)
            add_residents(url, args.messages)
            written, queue_seconds = queue_batch(url, template, election.cycle_id)
            smtp = CountingSmtpServer(free_port())
            smtp.start()
            try:
                if not args.with_load:
                    figures = deliver(url, smtp, written, folder, args.timeout, args.worker_nice)
                else:
                    figures = deliver_under_load(url, smtp, written, folder, election, args)
            finally:
                smtp.stop()
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    figures.pop("window", None)
    return {"engine": engine, "template": template, "messages": written, "queue_s": round(queue_seconds, 1),
            "queued_per_s": round(written / queue_seconds, 1), **figures}


def deliver_under_load(url: str, smtp: CountingSmtpServer, expected: int, folder: pathlib.Path, election, args) -> dict:
    """bench/load.py's voters for --duration seconds without the batch, then again while the worker delivers it."""
    server = Server("app:app", url, folder, args.workers, args.worker_class, args.threads)
    server.start()
    try:
        quiet = Load(server.port, election, args.client_processes, args.client_threads, args.duration)
        quiet.start()
        without = ballot_figures(quiet.wait())
        busy = Load(server.port, election, args.client_processes, args.client_threads, args.duration, seed=2)
        busy.start()
        outcome: dict = {}
        delivery = threading.Thread(target=lambda: outcome.update(
            deliver(url, smtp, expected, folder, args.timeout, args.worker_nice)))
        delivery.start()
        result = busy.wait()
        delivery.join()
    finally:
        server.stop()
    first, last = outcome["window"]
    during = ballot_figures(result, since=first, until=last)
    return {**outcome, "load_without_batch": without, "load_during_batch": during}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--engine", choices=("sqlite", "postgresql", "both"), default="both")
    parser.add_argument("--messages", type=int, default=10_000)
    parser.add_argument("--template", default=None, help="mail template (default: voting_opens, if it exists, "
                                                        "else test_message)")
    parser.add_argument("--quick", action="store_true", help="1,000 messages, 10 s of load")
    parser.add_argument("--timeout", type=float, default=1800, help="seconds to wait for the delivery")
    parser.add_argument("--with-load", action="store_true",
                        help="also measure ballots/s (bench/load.py) without the batch and while it is delivered")
    parser.add_argument("--worker-nice", type=int, default=0,
                        help="run the worker at this lower CPU priority (pb-worker.service's Nice=)")
    parser.add_argument("--mail-rate", type=float, default=0.0,
                        help="PB_MAIL_MAX_PER_SECOND for the worker (0: as fast as the SMTP server takes them)")
    parser.add_argument("--voters", type=int, default=400)
    parser.add_argument("--duration", type=float, default=30.0, help="seconds of ballot load, each measurement")
    parser.add_argument("--workers", type=int, help="gunicorn workers (default: pb/gunicorn_conf.py's)")
    parser.add_argument("--worker-class", choices=("sync", "gthread"))
    parser.add_argument("--threads", type=int)
    parser.add_argument("--client-processes", type=int, default=2)
    parser.add_argument("--client-threads", type=int, default=8)
    parser.add_argument("--postgres-url", default=os.environ.get("PB_BENCH_POSTGRES_URL", DEFAULT_POSTGRES_URL))
    args = parser.parse_args()
    if args.quick:
        args.messages, args.duration, args.voters = min(args.messages, 1000), min(args.duration, 10.0), 60
    template = args.template or template_default()
    RATE[0] = args.mail_rate
    engines = ["sqlite", "postgresql"] if args.engine == "both" else [args.engine]
    rows = []
    for engine in engines:
        print(f"{engine}: queueing {args.messages} '{template}' messages, delivering them with the worker"
              f"{' under ballot load' if args.with_load else ''} ...", file=sys.stderr, flush=True)
        rows.append(run_engine(engine, args, template))
    header = (f"{'engine':11} {'messages':>8} {'queue s':>8} {'deliver s':>9} {'msgs/s':>7} {'peak RSS':>9} "
              f"{'received':>8} {'dup':>4}")
    print(header)
    print("-" * len(header))
    for row in rows:
        print(f"{row['engine']:11} {row['messages']:>8} {row['queue_s']:>8.1f} {row['deliver_s']:>9.1f} "
              f"{row['messages_per_s'] or 0:>7.1f} {row['peak_rss_mb']:>6.0f} MB {row['received']:>8} "
              f"{row['received'] - row['distinct']:>4}")
    if args.with_load:
        print(f"\nballots/s and p95 with {args.voters} voters ({args.client_processes} x {args.client_threads} "
              "clients), without the batch and while the worker delivers it:")
        for row in rows:
            without, during = row["load_without_batch"], row["load_during_batch"]
            print(f"{row['engine']:11} without: {without['ballots_per_s']:>6.1f}/s p95 {without['p95_ms']:>6.1f} ms"
                  f" | during ({during['seconds']:.0f} s): {during['ballots_per_s']:>6.1f}/s p95 "
                  f"{during['p95_ms']:>6.1f} ms, errors {without['errors'] + during['errors']}")
    lost = sum(row["messages"] - row["distinct"] for row in rows)
    print(summary_line(engine=args.engine, messages=args.messages, template=template, worker_nice=args.worker_nice,
                       mail_rate=args.mail_rate,
                       lost=lost,
                       duplicates=sum(row["received"] - row["distinct"] for row in rows),
                       engines={row["engine"]: row for row in rows}))


if __name__ == "__main__":
    main()
