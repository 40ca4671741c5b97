"""Benchmark: pb under gunicorn (with pb/gunicorn_conf.py) on loopback, verified voters logging in and casting and
changing ballots at the same time, on SQLite and on PostgreSQL, with the integrity check of every stored ballot.

    .venv/bin/python bench/load.py --quick
    .venv/bin/python bench/load.py --engine postgresql --voters 2000 --duration 60
    .venv/bin/python bench/load.py --engine sqlite --worker-class gthread --threads 4
    .venv/bin/python bench/load.py --quick --design cumulative     # or approval, ranking (default: knapsack)

Each voter client behaves like a browser: it logs in, opens its ballot, submits a ballot (the figure measured:
ballot submissions per second and their latency), follows the redirect to the ballot page, and submits another
one, for the given time. Clients run in separate processes so that Python's lock in the client does not limit the
server. A bare Flask endpoint served the same way gives the ceiling, and the ratio says what pb costs on top.
Afterwards every voter's stored ballot must be exactly the one last acknowledged (302), values (points, ranks)
included, with no duplicate and no ballot breaking the design's rules (the "over" column: over the budget, too many
projects, points or ranks). The last line is one JSON object with the figures (per engine under "engines").
"""

import argparse
import pathlib
import shutil
import sys
import tempfile

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))

from _server import (
    DEFAULT_POSTGRES_URL,
    DESIGN_NAMES,
    Load,
    Server,
    bare_throughput,
    check_integrity,
    create_election,
    fresh_database,
    percentile,
    summary_line,
)

GOALS = {"postgresql": 300, "sqlite": 150}  # ballot submissions per second on the 2-core reference machine
P95_GOAL_MS = 250


def run_engine(engine: str, args) -> dict:
    folder = pathlib.Path(tempfile.mkdtemp(prefix="pb-load-"))
    try:
        with fresh_database(engine, args.postgres_url) as url:
            election = create_election(url, args.voters, args.design)
            server = Server("app:app", url, folder, args.workers, args.worker_class, args.threads)
            server.start()
            try:
                load = Load(server.port, election, args.client_processes, args.client_threads, args.duration,
                            follow_redirect=not args.no_follow)
                login_seconds = load.start()
                result = load.wait()
            finally:
                server.stop()
            tracebacks = server.tracebacks()
            integrity = check_integrity(election, result.voters)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    outcomes = result.outcomes()
    errors = sum(count for outcome, count in outcomes.items() if outcome != "ok")
    ballots_per_s = result.acknowledged / result.duration
    for problem in integrity.problems[:10]:
        print(f"   integrity: {problem}", file=sys.stderr)
    for ending in tracebacks[:5]:
        print(f"   server log: {ending}", file=sys.stderr)
    return {
        "engine": engine,
        "design": args.design,
        "ballots_per_s": round(ballots_per_s, 1),
        "p50_ms": round(percentile(result.latencies, 0.50), 1),
        "p95_ms": round(percentile(result.latencies, 0.95), 1),
        "p99_ms": round(percentile(result.latencies, 0.99), 1),
        "page_p50_ms": round(percentile(result.page_latencies, 0.50), 1),
        "acknowledged": result.acknowledged,
        "errors": errors,
        "error_kinds": {outcome: count for outcome, count in outcomes.items() if outcome != "ok"},
        "tracebacks_in_log": len(tracebacks),
        "voters": len(election.voters),
        "login_s": round(login_seconds, 1),
        "lost": integrity.lost + integrity.changed,
        "duplicates": integrity.duplicates,
        "over_budget": integrity.over_budget,
        "partial": integrity.partial,
        "meets_goal": ballots_per_s >= GOALS[engine] and percentile(result.latencies, 0.95) < P95_GOAL_MS
        and errors == 0 and integrity.is_clean,
    }


def ballot_figures(result, since: float | None = None, until: float | None = None) -> dict:
    """Ballots per second and latency of the acknowledged submissions in a window of the load (default: all of it),
    for comparing stretches of one run (bench/mail.py: while a mail batch goes out, and without)."""
    since = result.started if since is None else max(since, result.started)
    until = result.started + result.duration if until is None else min(until, result.started + result.duration)
    latencies = [ms for moment, outcome, ms, _ in result.events if outcome == "ok" and since <= moment < until]
    errors = sum(1 for moment, outcome, _, _ in result.events if outcome != "ok" and since <= moment < until)
    seconds = max(until - since, 1e-9)
    return {"ballots_per_s": round(len(latencies) / seconds, 1), "p50_ms": round(percentile(latencies, 0.50), 1),
            "p95_ms": round(percentile(latencies, 0.95), 1), "errors": errors, "seconds": round(seconds, 1)}


def measure_bare(bare: Server, args) -> tuple[float, float]:
    """Requests per second and median latency of the bare Flask endpoint, served and loaded the same way."""
    bare.wait_until_serving()
    per_s, latencies = bare_throughput(bare.port, args.client_processes, args.client_threads, args.bare_duration)
    return per_s, percentile(latencies, 0.50)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--engine", choices=("sqlite", "postgresql", "both"), default="both")
    parser.add_argument("--design", choices=DESIGN_NAMES, default="knapsack",
                        help="the ballot design the voters fill in (default: knapsack)")
    parser.add_argument("--quick", action="store_true", help="a short run of both engines (under a minute)")
    parser.add_argument("--voters", type=int, default=1000)
    parser.add_argument("--duration", type=float, default=30.0, help="seconds of ballot load per engine")
    parser.add_argument("--bare-duration", type=float, default=8.0, help="seconds of load on the bare endpoint")
    parser.add_argument("--workers", type=int, help="gunicorn workers (default: pb/gunicorn_conf.py's)")
    parser.add_argument("--worker-class", choices=("sync", "gthread"), help="default: pb/gunicorn_conf.py's")
    parser.add_argument("--threads", type=int, help="threads per gthread worker")
    parser.add_argument("--client-processes", type=int, default=2)
    parser.add_argument("--client-threads", type=int, default=8, help="per client process")
    parser.add_argument("--no-follow", action="store_true", help="do not open the ballot page after each success")
    parser.add_argument("--postgres-url", default=DEFAULT_POSTGRES_URL,
                        help="where to create (and drop) the bench's own database")
    args = parser.parse_args()
    if args.quick:
        args.voters, args.duration, args.bare_duration = min(args.voters, 60), min(args.duration, 5.0), 3.0

    engines = ["sqlite", "postgresql"] if args.engine == "both" else [args.engine]
    header = (f"{'engine':11} {'ballots/s':>9} {'p50 ms':>7} {'p95 ms':>7} {'p99 ms':>7} {'page p50':>8} {'errors':>6} "
              f"{'lost':>5} {'dup':>4} {'over':>5} {'partial':>7} {'bare/s':>7} {'ratio':>6} {'goal':>5}")
    rows = []
    # The baseline server loads while the engines run (idle, it costs nothing); it is measured after them.
    bare_folder = pathlib.Path(tempfile.mkdtemp(prefix="pb-load-bare-"))
    bare = Server("_bare_app:app", None, bare_folder, args.workers, args.worker_class, args.threads)
    bare.launch()
    try:
        for engine in engines:
            print(f"{engine}: {args.design} ballot, seeding {args.voters} voters, logging them in, {args.duration:.0f} s of ballots ...",
                  file=sys.stderr, flush=True)
            rows.append(run_engine(engine, args))
        bare_per_s, bare_p50 = measure_bare(bare, args)
    finally:
        bare.stop()
        shutil.rmtree(bare_folder, ignore_errors=True)
    print(header)
    print("-" * len(header))
    for row in rows:
        row["bare_requests_per_s"], row["bare_p50_ms"] = round(bare_per_s, 1), round(bare_p50, 1)
        row["bare_ratio"] = round(bare_per_s / row["ballots_per_s"], 1) if row["ballots_per_s"] else None
        print(f"{row['engine']:11} {row['ballots_per_s']:>9.1f} {row['p50_ms']:>7.1f} {row['p95_ms']:>7.1f} "
              f"{row['p99_ms']:>7.1f} {row['page_p50_ms']:>8.1f} {row['errors']:>6} {row['lost']:>5} "
              f"{row['duplicates']:>4} {row['over_budget']:>5} {row['partial']:>7} {row['bare_requests_per_s']:>7.0f} "
              f"{row['bare_ratio'] or 0:>6.1f} {'met' if row['meets_goal'] else 'NO':>5}")
    print(f"\nbare Flask endpoint: {bare_per_s:.0f} requests/s, p50 {bare_p50:.1f} ms; ratio = bare requests/s "
          "per ballot/s (each ballot is a POST plus the ballot page it redirects to)")
    print(f"{args.design} ballot; {rows[0]['voters']} voters, {args.duration:.0f} s of load per engine; gunicorn "
          f"{args.worker_class or 'config'} workers={args.workers or 'config'}; client {args.client_processes} "
          f"processes x {args.client_threads} threads; goals: PostgreSQL >= {GOALS['postgresql']}/s, SQLite >= "
          f"{GOALS['sqlite']}/s, p95 < {P95_GOAL_MS} ms, zero errors and integrity violations")
    for row in rows:
        if row["error_kinds"] or row["tracebacks_in_log"]:
            print(f"{row['engine']}: errors {row['error_kinds']}, tracebacks in the server log: "
                  f"{row['tracebacks_in_log']}")
    # The headline figures are the worst engine's, so one number cannot hide the other engine's failure.
    worst = min(rows, key=lambda row: row["ballots_per_s"])
    print(summary_line(
        engine=args.engine, design=args.design, ballots_per_s=worst["ballots_per_s"], p50_ms=max(r["p50_ms"] for r in rows),
        p95_ms=max(r["p95_ms"] for r in rows), p99_ms=max(r["p99_ms"] for r in rows),
        errors=sum(r["errors"] for r in rows), lost=sum(r["lost"] for r in rows),
        duplicates=sum(r["duplicates"] for r in rows), over_budget=sum(r["over_budget"] for r in rows),
        partial=sum(r["partial"] for r in rows), meets_goal=all(r["meets_goal"] for r in rows),
        engines={row["engine"]: row for row in rows}))


if __name__ == "__main__":
    main()
