"""What bench/load.py and bench/faults.py share: a fresh database with voters, pb under gunicorn, browser-like
voter clients in separate processes, and the integrity check of the stored ballots against what was acknowledged.

The election uses one ballot design (knapsack by default; approval, cumulative points or ranking with --design), and
a ballot travels as a tuple of (project id, value) pairs, sorted: value 1 for a choice, the points or the rank. The
clients submit it with the ballot form's fields (pb/blueprints/ballot_forms.py), and the integrity check compares
the stored values too."""

from __future__ import annotations

import contextlib
import http.client
import itertools
import json
import multiprocessing
import os
import pathlib
import random
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
from dataclasses import dataclass, field

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

PASSWORD = "bench-password-not-secret"
SECRET_KEY = "bench-secret-key"
DEFAULT_POSTGRES_URL = "postgresql://postgres@127.0.0.1:5432/test"
BUDGET = 100_000
PROJECT_COSTS = (20_000, 25_000, 30_000, 35_000, 40_000, 45_000, 50_000, 60_000)
MAX_PROJECTS = 3
DESIGN_NAMES = ("knapsack", "approval", "cumulative", "ranking")
POINTS, MAX_POINTS_PER_PROJECT = 10, 5  # the cumulative ballot: 10 points, at most 5 on one project (as Katowice)
_TOKEN = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')
_VERSION = re.compile(r'name="version" value="(\d+)"')


# ---------------------------------------------------------------------------------------------- database
@dataclass
class Election:
    """What the voters see: one cycle in the voting phase, one district, its projects and the verified voters."""

    url: str
    cycle_id: int
    district_id: int
    costs: dict[int, int]
    voters: list[tuple[int, str]]  # (user id, email)
    design: str = "knapsack"

    @property
    def ballot_path(self) -> str:
        return f"/cycles/{self.cycle_id}/vote/{self.district_id}"

    def valid_ballots(self) -> list[tuple[tuple[int, int], ...]]:
        """Every ballot the design allows (for cumulative, those giving 1 to 3 projects points), as sorted pairs."""
        ids = sorted(self.costs)
        combos = [combo for size in range(1, MAX_PROJECTS + 1) for combo in itertools.combinations(ids, size)]
        if self.design == "knapsack":
            return [tuple((i, 1) for i in combo) for combo in combos if sum(self.costs[i] for i in combo) <= BUDGET]
        if self.design == "approval":  # whatever they cost
            return [tuple((i, 1) for i in combo) for combo in combos]
        if self.design == "cumulative":
            spreads = range(1, MAX_POINTS_PER_PROJECT + 1)
            return [tuple(zip(combo, points, strict=True)) for combo in combos
                    for points in itertools.product(spreads, repeat=len(combo)) if sum(points) <= POINTS]
        return [tuple(sorted((i, rank) for rank, i in enumerate(order, start=1)))
                for combo in combos for order in itertools.permutations(combo)]

    def ballot_form(self, ballot: tuple[tuple[int, int], ...]) -> list[tuple[str, str]]:
        """The fields a browser submits for this ballot: ticked checkboxes, or every number input / select."""
        if self.design in ("knapsack", "approval"):
            return [("project", str(project_id)) for project_id, _ in ballot]
        prefix = "points-" if self.design == "cumulative" else "rank-"
        values = dict(ballot)
        return [(f"{prefix}{project_id}", str(values.get(project_id, ""))) for project_id in sorted(self.costs)]

    def rules(self):
        """The design's rules, as pb checks a ballot (pb.domain.ballots)."""
        from pb.domain.ballots import BallotRules

        return BallotRules(budget=BUDGET, currency="EUR", design=design_of(self.design))


def design_of(name: str):
    """The bench's ballot design of each kind: at most 3 projects (3 ranks); 10 points, at most 5 on one."""
    from pb.domain.ballots import BallotDesign

    if name == "cumulative":
        return BallotDesign(kind=name, max_projects=None, points=POINTS, max_points_per_project=MAX_POINTS_PER_PROJECT)
    return BallotDesign(kind=name, max_projects=MAX_PROJECTS)


def _sqlalchemy_url(url: str) -> str:
    return url.replace("postgresql://", "postgresql+psycopg://", 1) if url.startswith("postgresql://") else url


@contextlib.contextmanager
def fresh_database(engine: str, postgres_url: str = DEFAULT_POSTGRES_URL):
    """Yield the URL of an empty database made for this run, and remove it afterwards."""
    if engine == "sqlite":
        # On disk, as an installation would keep it: a memory-backed folder would hide the cost of each commit.
        folder = pathlib.Path(tempfile.mkdtemp(prefix="pb-bench-"))
        try:
            yield f"sqlite:///{folder / 'pb.sqlite3'}"
        finally:
            shutil.rmtree(folder, ignore_errors=True)
        return
    from sqlalchemy import create_engine, text

    name = f"pb_bench_{os.getpid()}"
    admin = create_engine(_sqlalchemy_url(postgres_url), isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    parts = urllib.parse.urlsplit(postgres_url)
    try:
        yield urllib.parse.urlunsplit(parts._replace(path=f"/{name}"))
    finally:
        for _ in range(30):  # the server may be restarting (bench/faults.py): wait for it rather than leave a database
            try:
                with admin.connect() as connection:
                    connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
                break
            except Exception:  # noqa: BLE001
                time.sleep(1)
        admin.dispose()


# Settings the bench server and the seeding share. Every voter logs in from the same loopback address, so the
# per-address login throttle is off; passwords use the cheap hash cost the tests use, since logging in is not what
# is measured. Neither setting touches the ballot path.
CHEAP_HASH_COST = {"memory_cost": 8, "time_cost": 1, "parallelism": 1}
BENCH_SETTINGS = {"SECRET_KEY": SECRET_KEY, "RATELIMIT_ENABLED": False, "PASSWORD_HASH_COST": CHEAP_HASH_COST}


def bench_app(url: str):
    from pb import create_app

    return create_app({"DATABASE_URL": url, **BENCH_SETTINGS})


def create_election(url: str, voter_count: int, design: str = "knapsack") -> Election:
    """Schema, a cycle in the voting phase with one district and its projects, and verified voters (cheap hashes);
    the cycle's ballot has the given design."""
    import json as json_module

    from sqlalchemy import insert, select

    from pb.database import create_schema
    from pb.domain.cycle import Phase
    from pb.extensions import db
    from pb.models import Category, Cycle, District, Proposal, ProposalStatus, Role, User, Verification
    from pb.security import hash_password

    app = bench_app(url)
    with app.app_context():
        create_schema()
        cheap_hash = hash_password(PASSWORD)
        official = User(email="official@bench.test", name="Official", role=Role.OFFICIAL, password_hash=cheap_hash)
        chosen = design_of(design)
        settings = {name: value for name, value in chosen.to_data().items()
                    if name not in ("kind", "min_projects", "max_projects")}
        cycle = Cycle(name="Bench cycle", currency="EUR", phase=Phase.VOTING, rule="greedy", total_budget=BUDGET,
                      min_projects=chosen.min_projects, max_projects=chosen.max_projects, ballot_design=design,
                      ballot_settings=json_module.dumps(settings, sort_keys=True))
        district = District(cycle=cycle, name="Centre", budget=BUDGET)
        category = Category(cycle=cycle, name="Streets")
        db.session.add_all([official, cycle, district, category])
        db.session.flush()
        projects = [Proposal(cycle=cycle, district=district, category=category, author=official,
                             title=f"Project {number:02d}", summary="A project on the bench ballot.",
                             description="Details.", estimated_cost=cost, final_cost=cost,
                             status=ProposalStatus.ACCEPTED)
                    for number, cost in enumerate(PROJECT_COSTS, 1)]
        db.session.add_all(projects)
        db.session.flush()
        emails = [f"voter{number}@bench.test" for number in range(voter_count)]
        db.session.execute(insert(User), [{"email": email, "name": f"Voter {number}", "role": Role.RESIDENT,
                                           "password_hash": cheap_hash} for number, email in enumerate(emails)])
        ids = dict(db.session.execute(select(User.email, User.id).where(User.email.in_(emails))).all())
        db.session.execute(insert(Verification), [
            {"user_id": ids[email], "cycle_id": cycle.id, "district_id": district.id, "verified_by_id": official.id}
            for email in emails])
        db.session.commit()
        election = Election(url, cycle.id, district.id, {project.id: project.cost for project in projects},
                            [(ids[email], email) for email in emails], design)
        db.session.remove()
        db.engine.dispose()
    return election


# ---------------------------------------------------------------------------------------------- server
def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@dataclass
class Server:
    """pb (or the bare baseline app) under gunicorn with the package's configuration file."""

    target: str
    database_url: str | None
    folder: pathlib.Path
    workers: int | None = None
    worker_class: str | None = None
    threads: int | None = None
    port: int = field(default_factory=free_port)
    process: subprocess.Popen | None = None

    @property
    def error_log(self) -> pathlib.Path:
        return self.folder / "gunicorn-error.log"

    def environment(self) -> dict[str, str]:
        environment = {**os.environ, **{f"PB_{name}": json.dumps(value) if not isinstance(value, str) else value
                                        for name, value in BENCH_SETTINGS.items()},
                       "PB_BIND": f"127.0.0.1:{self.port}", "PB_ACCESS_LOG": str(self.folder / "gunicorn-access.log"),
                       "PB_ERROR_LOG": str(self.error_log)}
        for name, value in (("PB_DATABASE_URL", self.database_url), ("PB_WORKERS", self.workers),
                            ("PB_WORKER_CLASS", self.worker_class), ("PB_THREADS", self.threads)):
            if value is not None:
                environment[name] = str(value)
        return environment

    def start(self, timeout: float = 60) -> None:
        self.launch()
        self.wait_until_serving(timeout)

    def launch(self) -> None:
        """Start gunicorn without waiting for it (loading the app takes seconds on a busy machine)."""
        command = [sys.executable, "-m", "gunicorn", "-c", "python:pb.gunicorn_conf",
                   "--pythonpath", str(ROOT / "bench"), self.target]
        # A session of its own, so a kill of the whole server can reach every worker, and Ctrl-C reaches us only.
        self.process = subprocess.Popen(command, cwd=ROOT, env=self.environment(), stdout=subprocess.DEVNULL,
                                        stderr=subprocess.STDOUT, start_new_session=True)

    def wait_until_serving(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while True:
            try:
                connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=5)
                connection.request("GET", "/ping" if "bare" in self.target else "/login")
                connection.getresponse().read()
                connection.close()
                return
            except OSError:
                if self.process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"gunicorn did not start:\n{self.log_tail()}") from None
                time.sleep(0.1)

    def worker_pids(self) -> list[int]:
        if self.process is None:
            return []
        try:
            text = pathlib.Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children").read_text()
        except OSError:
            return []
        return [int(pid) for pid in text.split()]

    def kill_worker(self) -> int:
        pid = self.worker_pids()[0]
        os.kill(pid, signal.SIGKILL)
        return pid

    def kill_everything(self) -> list[int]:
        """kill -9 the master and every worker at once, as a crashed machine or an OOM killer would."""
        pids = [self.process.pid, *self.worker_pids()]
        for pid in pids:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        self.process.wait()
        return pids

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()

    def log_tail(self, characters: int = 3000) -> str:
        return self.error_log.read_text()[-characters:] if self.error_log.exists() else "(no log)"

    def tracebacks(self) -> list[str]:
        """The exception line of every stack trace in the server's log."""
        if not self.error_log.exists():
            return []
        found, lines = [], self.error_log.read_text().splitlines()
        for number, line in enumerate(lines):
            if line.startswith("Traceback"):
                ending = next((later for later in lines[number + 1:] if later and not later[0].isspace()), "?")
                logged = lines[number - 1] if number else ""
                found.append(f"{ending[:160]}  (logged as: {logged[:160]})")
        return found


# ---------------------------------------------------------------------------------------------- clients
@dataclass
class Voter:
    """One resident's browser: session cookie, the ballot form's CSRF token and version, and what was acknowledged."""

    user_id: int
    email: str
    cookie: str = ""
    csrf_token: str = ""
    version: int = 0
    acknowledged: tuple[int, tuple] | None = None  # (version, ballot as sorted (project, value) pairs) of the last 302
    in_doubt: list[tuple[int, tuple]] = field(default_factory=list)  # sent after it, answer unknown

    def keep_cookie(self, response: http.client.HTTPResponse) -> None:
        for header in response.headers.get_all("Set-Cookie") or []:
            if header.startswith("session="):
                self.cookie = header.split(";", 1)[0]


class Browser:
    """One keep-alive connection (gunicorn's sync workers close it after each answer; http.client reopens it)."""

    def __init__(self, port: int, timeout: float = 30):
        self.connection = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)

    def request(self, voter: Voter | None, method: str, path: str,
                form: list[tuple[str, str]] | None = None) -> tuple[int, str, dict]:
        headers = {"Cookie": voter.cookie} if voter is not None and voter.cookie else {}
        body = None
        if form is not None:
            body = urllib.parse.urlencode(form)
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        try:
            self.connection.request(method, path, body=body, headers=headers)
            response = self.connection.getresponse()
            page = response.read().decode("utf-8", "replace")
        except Exception:
            self.connection.close()
            raise
        if response.will_close:
            self.connection.close()
        if voter is not None:
            voter.keep_cookie(response)
        return response.status, page, {"retry-after": response.getheader("Retry-After")}


def log_in(browser: Browser, voter: Voter, ballot_path: str) -> None:
    _, page, _ = browser.request(voter, "GET", "/login")
    token = _TOKEN.search(page).group(1)
    status, page, _ = browser.request(voter, "POST", "/login",
                                      [("email", voter.email), ("password", PASSWORD), ("csrf_token", token)])
    if status != 302:
        raise RuntimeError(f"login failed for {voter.email}: {status} {page[:300]}")
    open_ballot(browser, voter, ballot_path)


def open_ballot(browser: Browser, voter: Voter, ballot_path: str) -> int:
    status, page, _ = browser.request(voter, "GET", ballot_path)
    if status == 200:
        voter.csrf_token, voter.version = _TOKEN.search(page).group(1), int(_VERSION.search(page).group(1))
    return status


def classify(status: int, page: str) -> str:
    """ok (302), try-again (a 503 page saying so), refused (no answer), or what went wrong."""
    if status == 302:
        return "ok"
    if status == 503 and "try again" in page.lower() and "Traceback" not in page:
        return "try-again"
    if "Traceback" in page:
        return "stack-trace"
    return f"http-{status}"


@dataclass
class ClientPlan:
    port: int
    ballot_path: str
    ballots: list[tuple]
    forms: list[list[tuple[str, str]]]  # the form fields of each ballot, in the same order
    voters: list[Voter]
    threads: int
    barrier: object  # every client process and the conductor meet here once all voters are logged in
    duration: float
    stop: object  # set by the conductor to end the load early
    seed: int
    follow_redirect: bool = True


def _voter_loop(plan: ClientPlan, voters: list[Voter], seed: int, events: list, latencies: list[float],
                page_latencies: list[float]) -> None:
    rng = random.Random(seed)
    browser = Browser(plan.port)
    end = time.time() + plan.duration
    needs_resync: set[int] = set()
    for voter in itertools.cycle(voters):
        if time.time() >= end or plan.stop.is_set():
            return
        try:
            if voter.user_id in needs_resync:
                if open_ballot(browser, voter, plan.ballot_path) != 200:
                    time.sleep(0.05)
                    continue
                needs_resync.discard(voter.user_id)
            current = voter.acknowledged[1] if voter.acknowledged else None
            number = rng.randrange(len(plan.ballots))
            while plan.ballots[number] == current:
                number = rng.randrange(len(plan.ballots))
            choices = plan.ballots[number]
            form = [("csrf_token", voter.csrf_token), ("version", str(voter.version))] + plan.forms[number]
            started = time.perf_counter()
            voter.in_doubt.append((voter.version + 1, choices))
            status, page, headers = browser.request(voter, "POST", plan.ballot_path, form)
            elapsed = (time.perf_counter() - started) * 1000
            outcome = classify(status, page)
            events.append((time.time(), outcome, elapsed, headers["retry-after"]))
            if outcome == "ok":
                latencies.append(elapsed)
                voter.version += 1
                voter.acknowledged = (voter.version, choices)
                voter.in_doubt.clear()
                if plan.follow_redirect:  # as a browser does: it also shows the flash message and the receipt
                    started = time.perf_counter()
                    if open_ballot(browser, voter, plan.ballot_path) == 200:
                        page_latencies.append((time.perf_counter() - started) * 1000)
                    else:
                        needs_resync.add(voter.user_id)
            else:
                if status in (400, 409):  # refused and known to have changed nothing
                    voter.in_doubt.pop()
                needs_resync.add(voter.user_id)
                time.sleep(0.05)
        except (OSError, http.client.HTTPException) as error:
            events.append((time.time(), "refused" if isinstance(error, ConnectionRefusedError) else "dropped",
                           0.0, None))
            needs_resync.add(voter.user_id)
            time.sleep(0.05)


def _client_process(plan: ClientPlan, results) -> None:
    # Log in first (each thread its own voters), then wait for the common start so that all processes load together.
    groups = [plan.voters[index::plan.threads] for index in range(plan.threads)]

    def log_in_group(group: list[Voter]) -> None:
        browser = Browser(plan.port)
        for voter in group:
            log_in(browser, voter, plan.ballot_path)

    threads = [threading.Thread(target=log_in_group, args=(group,)) for group in groups]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    plan.barrier.wait()
    events: list = []
    latencies: list[float] = []
    page_latencies: list[float] = []
    threads = [threading.Thread(target=_voter_loop, args=(plan, group, plan.seed * 1000 + index, events, latencies,
                                                          page_latencies))
               for index, group in enumerate(groups) if group]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    voters = {voter.user_id: (voter.acknowledged, voter.in_doubt) for voter in plan.voters}
    results.put((events, latencies, page_latencies, voters))


@dataclass
class LoadResult:
    events: list  # (time, outcome, ms, retry-after) for every ballot submission
    latencies: list[float]  # acknowledged submissions, ms
    page_latencies: list[float]  # the ballot page after each success, ms
    voters: dict[int, tuple]  # user id -> (acknowledged, in doubt)
    started: float
    duration: float

    @property
    def acknowledged(self) -> int:
        return len(self.latencies)

    def outcomes(self, since: float = 0.0, until: float = float("inf")) -> dict[str, int]:
        counts: dict[str, int] = {}
        for moment, outcome, _, _ in self.events:
            if since <= moment < until:
                counts[outcome] = counts.get(outcome, 0) + 1
        return counts


class Load:
    """Voter clients in separate processes (the client must not be what limits a 2-core machine), run in the
    background: start(), then wait() for the result."""

    def __init__(self, port: int, election: Election, processes: int, threads: int, duration: float,
                 seed: int = 1, follow_redirect: bool = True):
        voters = [Voter(user_id, email) for user_id, email in election.voters]
        self.duration = duration
        self.context = multiprocessing.get_context("fork")
        self.results = self.context.Queue()
        self.barrier = self.context.Barrier(processes + 1)
        self.stop_event = self.context.Event()
        self.created = time.time()
        self.started = 0.0
        ballots = election.valid_ballots()
        forms = [election.ballot_form(ballot) for ballot in ballots]
        self.processes = [
            self.context.Process(target=_client_process, args=(ClientPlan(
                port, election.ballot_path, ballots, forms, voters[index::processes], threads, self.barrier, duration,
                self.stop_event,
                seed * 100 + index, follow_redirect), self.results), daemon=True)
            for index in range(processes)]

    def start(self) -> float:
        """Start the clients, return once every voter is logged in and the load begins: the seconds logging in took."""
        for process in self.processes:
            process.start()
        self.barrier.wait(timeout=600)
        self.started = time.time()
        return self.started - self.created

    def stop(self) -> None:
        self.stop_event.set()

    def wait(self) -> LoadResult:
        result = LoadResult([], [], [], {}, self.started, self.duration)
        for _ in self.processes:
            events, latencies, page_latencies, voters = self.results.get(timeout=self.duration + 600)
            result.events += events
            result.latencies += latencies
            result.page_latencies += page_latencies
            result.voters.update(voters)
        for process in self.processes:
            process.join()
        result.duration = min(self.duration, time.time() - self.started)
        result.events.sort()
        return result


def bare_throughput(port: int, processes: int, threads: int, duration: float) -> tuple[float, list[float]]:
    """Requests per second and latencies (ms) for GET /ping with the same client shape as the ballot load."""
    context = multiprocessing.get_context("fork")
    results = context.Queue()
    start_at = time.time() + 0.5

    def one_process() -> None:
        latencies: list[float] = []

        def loop() -> None:
            browser = Browser(port)
            while time.time() < start_at + duration:
                started = time.perf_counter()
                status, _, _ = browser.request(None, "GET", "/ping")
                if status == 200:
                    latencies.append((time.perf_counter() - started) * 1000)

        time.sleep(max(0.0, start_at - time.time()))
        workers = [threading.Thread(target=loop) for _ in range(threads)]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join()
        results.put(latencies)

    children = [context.Process(target=one_process, daemon=True) for _ in range(processes)]
    for child in children:
        child.start()
    latencies = [value for _ in children for value in results.get(timeout=duration + 60)]
    for child in children:
        child.join()
    return len(latencies) / duration, latencies


# ---------------------------------------------------------------------------------------------- integrity
@dataclass
class Integrity:
    checked: int = 0
    lost: int = 0  # an acknowledged ballot that is not stored (missing, or an older version stored)
    changed: int = 0  # stored at the acknowledged version but with other choices, or a version no one sent
    in_doubt_stored: int = 0  # a submission whose answer never arrived, stored (allowed: it was sent)
    duplicates: int = 0
    over_budget: int = 0  # a stored ballot that breaks the design's rules (over the budget, too many points, ...)
    partial: int = 0  # a sealed ballot that does not open or holds no choices, an online row naming a voter
    problems: list[str] = field(default_factory=list)

    @property
    def is_clean(self) -> bool:
        return not (self.lost or self.changed or self.duplicates or self.over_budget or self.partial)


def check_integrity(election: Election, voters: dict[int, tuple]) -> Integrity:
    """Compare every voter's stored ballot with the last one the server acknowledged, and check the whole table."""
    from flask import current_app
    from sqlalchemy import func, select

    from pb.domain import sealing
    from pb.domain.ballots import problems
    from pb.extensions import db
    from pb.models import Participation, SealedBallot
    from pb.services.voting import ballot_token

    report = Integrity()
    app = bench_app(election.url)
    with app.app_context():
        key = sealing.envelope_key(current_app.config["BALLOT_KEY"])
        stored = {}
        for sealed in db.session.scalars(select(SealedBallot).where(SealedBallot.district_id == election.district_id)):
            try:
                choices = tuple(sorted(sealing.unseal_values(key, sealed.token, sealed.version,
                                                             sealed.envelope).items()))
            except sealing.SealError:
                report.partial += 1
                report.problems.append(f"sealed ballot {sealed.id} does not open")
                continue
            stored[sealed.token] = (sealed.version, choices, sealed)
        for user_id, (acknowledged, in_doubt) in voters.items():
            report.checked += 1
            found = stored.get(ballot_token(user_id, election.cycle_id, election.district_id))
            version, choices = (found[0], found[1]) if found else (0, None)
            expected_version = acknowledged[0] if acknowledged else 0
            if version < expected_version:
                report.lost += 1
                report.problems.append(f"user {user_id}: acknowledged {acknowledged}, stored {(version, choices)}")
            elif version == expected_version and acknowledged and choices != acknowledged[1]:
                report.changed += 1
                report.problems.append(f"user {user_id}: acknowledged {acknowledged}, stored {(version, choices)}")
            elif version > expected_version:
                if (version, choices) in in_doubt:
                    report.in_doubt_stored += 1
                else:
                    report.changed += 1
                    report.problems.append(f"user {user_id}: stored {(version, choices)} was never sent")
        report.duplicates += db.session.scalar(select(func.count()).select_from(
            select(SealedBallot.token).group_by(SealedBallot.token).having(func.count() > 1).subquery()))
        rules = election.rules()
        for version, choices, sealed in stored.values():
            broken = problems(dict(choices), election.costs, rules)
            if not choices:
                report.partial += 1
                report.problems.append(f"sealed ballot {sealed.id} has no choices")
            elif broken:
                report.over_budget += 1
                report.problems.append(f"sealed ballot {sealed.id} breaks the {election.design} rules: {choices} "
                                       f"({'; '.join(broken)})")
        # An online vote writes no row naming the voter (it would share the ballot's transaction id).
        named = db.session.scalar(select(func.count()).select_from(Participation).where(
            Participation.district_id == election.district_id, Participation.channel != "paper"))
        report.partial += named
        report.problems += [f"{named} online participations name a voter"] if named else []
        db.session.remove()
        db.engine.dispose()
    return report


# ---------------------------------------------------------------------------------------------- figures
def percentile(values: list[float], fraction: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def summary_line(**figures) -> str:
    """The last line of a bench: one JSON object."""
    return json.dumps(figures, sort_keys=False)
