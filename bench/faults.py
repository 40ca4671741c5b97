"""Benchmark: faults under ballot load. kill -9 one gunicorn worker, then the whole server (master and workers,
then start it again), then restart PostgreSQL; afterwards no acknowledged ballot may be lost or changed and no
partial ballot may exist, and requests during the database outage must get the "try again" page (503), never a
stack trace.

    .venv/bin/python bench/faults.py --quick
    .venv/bin/python bench/faults.py --engine sqlite          (no database restart: SQLite is a file)

PostgreSQL is restarted with `pg_ctlcluster --skip-systemctl-redirect VERSION CLUSTER restart` and is started
again when the bench ends, also after an error. The bench runs against a database of its own, created and dropped.
A request whose answer never came (a killed worker, a dropped connection) may or may not have been stored; the
integrity check allows exactly that submission in its place, and nothing else. The last line is one JSON object.
"""

import argparse
import pathlib
import shutil
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))

from _server import (
    DEFAULT_POSTGRES_URL,
    Load,
    Server,
    check_integrity,
    create_election,
    fresh_database,
    percentile,
    summary_line,
)

PG_CTLCLUSTER = ["pg_ctlcluster", "--skip-systemctl-redirect"]


def _cluster() -> tuple[str, str]:
    """The local PostgreSQL cluster (version, name), as pg_lsclusters lists it."""
    lines = subprocess.run(["pg_lsclusters", "--no-header"], capture_output=True, text=True, check=True).stdout
    version, name = lines.split()[:2]
    return version, name


def _postgres_is_online(cluster: tuple[str, str]) -> bool:
    command = ["pg_lsclusters", "--no-header", *cluster]
    lines = subprocess.run(command, check=False, capture_output=True, text=True).stdout
    return "online" in lines


def ensure_postgres_running(cluster: tuple[str, str]) -> None:
    if not _postgres_is_online(cluster):
        subprocess.run([*PG_CTLCLUSTER, *cluster, "start"], check=False)


def checkpoint(postgres_url: str) -> None:
    from sqlalchemy import create_engine, text

    engine = create_engine(postgres_url.replace("postgresql://", "postgresql+psycopg://", 1),
                           isolation_level="AUTOCOMMIT")
    with engine.connect() as connection:
        connection.execute(text("CHECKPOINT"))
    engine.dispose()


class Timeline:
    """When each phase began and ended (wall clock, as the clients' events are stamped)."""

    def __init__(self, load_started: float):
        self.phases: list[dict] = []
        self.load_started = load_started

    def begin(self, name: str, note: str = "") -> dict:
        if self.phases and "end" not in self.phases[-1]:
            self.phases[-1]["end"] = time.time()
        phase = {"name": name, "start": time.time(), "note": note}
        self.phases.append(phase)
        return phase

    def close(self) -> None:
        if self.phases and "end" not in self.phases[-1]:
            self.phases[-1]["end"] = time.time()


def run(args) -> dict:
    cluster = _cluster() if args.engine == "postgresql" else None
    folder = pathlib.Path(tempfile.mkdtemp(prefix="pb-faults-"))
    try:
        with fresh_database(args.engine, args.postgres_url) as url:
            election = create_election(url, args.voters)
            server = Server("app:app", url, folder, args.workers)
            server.start()
            # The clients run until the conductor below has moved through every phase and stops them.
            load = Load(server.port, election, args.client_processes, args.client_threads, duration=3600)
            try:
                load.start()
                timeline = Timeline(load.started)
                timeline.begin("steady load")
                time.sleep(args.phase)

                pid = server.kill_worker()
                timeline.begin("kill -9 one worker", f"worker {pid}; the master starts another")
                time.sleep(args.phase)

                pids = server.kill_everything()
                outage = timeline.begin("kill -9 the whole server", f"master and {len(pids) - 1} workers")
                time.sleep(args.down)
                restarted = time.time()
                server.start()
                outage["note"] += (f"; restarted after {args.down:.0f} s, serving again "
                                   f"{time.time() - restarted:.1f} s later")
                time.sleep(args.phase)

                if cluster:
                    # Write dirty pages out first, so that the restart's own checkpoint is short: the server is
                    # shared, and the outage should last seconds, not as long as a checkpoint under load takes.
                    checkpoint(args.postgres_url)
                    restart = timeline.begin("restart PostgreSQL", "pg_ctlcluster restart (fast shutdown)")
                    began = time.monotonic()
                    try:
                        subprocess.run([*PG_CTLCLUSTER, *cluster, "restart"], check=True, capture_output=True,
                                       timeout=120)
                    finally:
                        ensure_postgres_running(cluster)
                    restart["note"] += f"; database back after {time.monotonic() - began:.1f} s"
                    time.sleep(args.phase)

                timeline.begin("after the faults")
                time.sleep(args.phase)
                load.stop()
                timeline.close()
                result = load.wait()
            finally:
                server.stop()
                if cluster:
                    ensure_postgres_running(cluster)
            tracebacks = server.tracebacks()
            integrity = check_integrity(election, result.voters)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
        if cluster:
            ensure_postgres_running(cluster)

    header = (f"{'phase':26} {'s':>5} {'ok':>6} {'ok/s':>7} {'503 try again':>13} {'refused':>8} {'dropped':>8} "
              f"{'other':>6}  note")
    print(header)
    print("-" * (len(header) + 30))
    rows = []
    for phase in timeline.phases:
        outcomes = result.outcomes(phase["start"], phase["end"])
        seconds = phase["end"] - phase["start"]
        other = {kind: count for kind, count in outcomes.items()
                 if kind not in ("ok", "try-again", "refused", "dropped")}
        rows.append({"phase": phase["name"], "seconds": round(seconds, 1), **outcomes, "note": phase["note"]})
        print(f"{phase['name']:26} {seconds:>5.1f} {outcomes.get('ok', 0):>6} {outcomes.get('ok', 0) / seconds:>7.1f} "
              f"{outcomes.get('try-again', 0):>13} {outcomes.get('refused', 0):>8} {outcomes.get('dropped', 0):>8} "
              f"{sum(other.values()):>6}  {phase['note']}{'  ' + str(other) if other else ''}")
    outcomes = result.outcomes()
    bad = {kind: count for kind, count in outcomes.items() if kind not in ("ok", "try-again", "refused", "dropped")}
    retry_after = {value for _, kind, _, value in result.events if kind == "try-again"}
    final = rows[-1]
    recovered = final.get("ok", 0) > 0 and not final.get("try-again") and not final.get("refused")
    print(f"\n{len(election.voters)} voters; {args.engine}; acknowledged {result.acknowledged} ballots; "
          f"in-doubt submissions found stored: {integrity.in_doubt_stored}; Retry-After sent: "
          f"{sorted(value for value in retry_after if value) or '-'}")
    print(f"integrity: lost {integrity.lost}, changed {integrity.changed}, duplicates {integrity.duplicates}, "
          f"over budget {integrity.over_budget}, partial {integrity.partial}; stack traces in answers "
          f"{outcomes.get('stack-trace', 0)}, in the server log {len(tracebacks)}; recovered after the faults: "
          f"{'yes' if recovered else 'NO'}")
    for problem in integrity.problems[:10]:
        print(f"   integrity: {problem}")
    for ending in tracebacks[:5]:
        print(f"   server log: {ending}")
    return {
        "engine": args.engine,
        "ballots_per_s": round(result.acknowledged / result.duration, 1),
        "p50_ms": round(percentile(result.latencies, 0.50), 1),
        "p95_ms": round(percentile(result.latencies, 0.95), 1),
        "p99_ms": round(percentile(result.latencies, 0.99), 1),
        "errors": sum(bad.values()),
        "error_kinds": bad,
        "try_again_503": outcomes.get("try-again", 0),
        "refused": outcomes.get("refused", 0),
        "dropped": outcomes.get("dropped", 0),
        "stack_traces": outcomes.get("stack-trace", 0) + len(tracebacks),
        "acknowledged": result.acknowledged,
        "in_doubt_stored": integrity.in_doubt_stored,
        "lost": integrity.lost + integrity.changed,
        "duplicates": integrity.duplicates,
        "over_budget": integrity.over_budget,
        "partial": integrity.partial,
        "recovered": recovered,
        "phases": rows,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--engine", choices=("sqlite", "postgresql"), default="postgresql")
    parser.add_argument("--quick", action="store_true", help="short phases and few voters (under a minute)")
    parser.add_argument("--voters", type=int, default=400)
    parser.add_argument("--phase", type=float, default=10.0, help="seconds of load in each phase")
    parser.add_argument("--down", type=float, default=2.0, help="seconds the killed server stays down")
    parser.add_argument("--workers", type=int, help="gunicorn workers (default: pb/gunicorn_conf.py's)")
    parser.add_argument("--client-processes", type=int, default=2)
    parser.add_argument("--client-threads", type=int, default=6, help="per client process")
    parser.add_argument("--postgres-url", default=DEFAULT_POSTGRES_URL,
                        help="where to create (and drop) the bench's own database")
    args = parser.parse_args()
    if args.quick:
        args.voters, args.phase, args.down = min(args.voters, 30), min(args.phase, 2.5), min(args.down, 1.0)
    figures = run(args)
    print(summary_line(**figures))


if __name__ == "__main__":
    main()
