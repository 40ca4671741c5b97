"""Shared fixtures: an app on SQLite and (when PB_TEST_POSTGRES_URL is set) on PostgreSQL, clients and factories."""

import contextvars
import email
import email.policy
import functools
import itertools
import os
import pathlib
import re
import shutil
import socket
import tempfile
import uuid
from datetime import datetime

import pytest
from flask import has_app_context
from flask.testing import FlaskClient
from sqlalchemy import text
from werkzeug.security import generate_password_hash

from pb import create_app
from pb.database import create_schema
from pb.domain.cycle import Phase
from pb.extensions import db
from pb.models import (
    Category,
    Cycle,
    District,
    ProjectResult,
    Proposal,
    ProposalStatus,
    Role,
    TallyRun,
    User,
    Verification,
)

PASSWORD = "correct-horse-battery"
_TOKEN = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"|name="csrf_token" value="([^"]+)"')
POSTGRES_HELP = (
    "PostgreSQL tests need PB_TEST_POSTGRES_URL, e.g. "
    "PB_TEST_POSTGRES_URL=postgresql://postgres@127.0.0.1:5432/test (bash .ci/run sets it)"
)


class PbClient(FlaskClient):
    """A test client that fills in the CSRF token the way a browser submitting our forms would.

    Each request runs in its own app context (as in a real server), not in the test's; afterwards the
    test's own session forgets what it had loaded, so assertions read what the request stored.
    """

    def open(self, *args, **kwargs):
        response = contextvars.Context().run(super().open, *args, **kwargs)
        if has_app_context():
            db.session.rollback()
        return response

    def csrf_token(self) -> str:
        page = self.get("/login").get_data(as_text=True)
        match = _TOKEN.search(page)
        assert match, "no CSRF token on the login page"
        return match.group(1) or match.group(2)

    def submit(self, url: str, data: dict | None = None, **kwargs):
        payload = dict(data or {})
        payload.setdefault("csrf_token", self.csrf_token())
        return self.post(url, data=payload, **kwargs)

    def login(self, user: User, password: str = PASSWORD):
        response = self.submit("/login", {"email": user.email, "password": password})
        assert response.status_code == 302, response.get_data(as_text=True)
        return response


# Test databases are thrown away, so they live in memory-backed storage where the machine has it.
_FAST_DISK = "/dev/shm" if os.access("/dev/shm", os.W_OK) else None
_pg_schema = f"pb_test_{uuid.uuid4().hex[:10]}"
_pg_ready = False


def _postgres_config() -> dict:
    url = os.environ.get("PB_TEST_POSTGRES_URL")
    if not url:
        pytest.skip(POSTGRES_HELP)
    return {
        "DATABASE_URL": url,
        "SQLALCHEMY_ENGINE_OPTIONS": {"connect_args": {"options": f"-csearch_path={_pg_schema}"}},
    }


def _reset_postgres() -> None:
    global _pg_ready
    if not _pg_ready:
        with db.engine.begin() as connection:
            connection.execute(text(f'CREATE SCHEMA IF NOT EXISTS "{_pg_schema}"'))
        create_schema()
        _pg_ready = True
        return
    tables = ", ".join(f'"{table.name}"' for table in db.metadata.sorted_tables)
    with db.engine.begin() as connection:
        connection.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))


@pytest.fixture(scope="session", autouse=True)
def _drop_postgres_schema():
    yield
    url = os.environ.get("PB_TEST_POSTGRES_URL")
    if url and _pg_ready:
        from sqlalchemy import create_engine

        engine = create_engine(url.replace("postgresql://", "postgresql+psycopg://", 1))
        with engine.begin() as connection:
            connection.execute(text(f'DROP SCHEMA IF EXISTS "{_pg_schema}" CASCADE'))
        engine.dispose()


@functools.cache
def _sqlite_template() -> pathlib.Path:
    """An empty database with the schema, made once and copied for each test (DDL on SQLite is slow)."""
    path = pathlib.Path(tempfile.mkdtemp(prefix="pb-test-", dir=_FAST_DISK)) / "template.sqlite3"
    app = create_app({"TESTING": True, "DATABASE_URL": f"sqlite:///{path}"})
    with app.app_context():
        create_schema()
        db.session.execute(text("PRAGMA journal_mode=DELETE"))
        db.engine.dispose()
    return path


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def engine_name(request) -> str:
    return request.param


@pytest.fixture
def app(engine_name):
    uploads = pathlib.Path(tempfile.mkdtemp(prefix="pb-uploads-", dir=_FAST_DISK))  # photos and documents
    config = {"TESTING": True, "SECRET_KEY": "test-secret", "SERVER_NAME": "pb.test", "BASE_URL": "http://pb.test",
              "UPLOAD_FOLDER": str(uploads)}
    if engine_name == "postgresql":
        config.update(_postgres_config())
    else:
        database = pathlib.Path(tempfile.mkdtemp(prefix="pb-test-", dir=_FAST_DISK)) / "pb.sqlite3"
        shutil.copyfile(_sqlite_template(), database)
        config["DATABASE_URL"] = f"sqlite:///{database}"
    app = create_app(config)
    app.test_client_class = PbClient
    with app.app_context():
        if engine_name == "postgresql":
            _reset_postgres()
        yield app
        db.session.remove()
        db.engine.dispose()
    if engine_name == "sqlite":
        shutil.rmtree(database.parent, ignore_errors=True)
    shutil.rmtree(uploads, ignore_errors=True)


@pytest.fixture
def client(app) -> PbClient:
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


_sequence = itertools.count(1)


@functools.cache
def password_hash() -> str:
    """Real hashing is slow on purpose; test users share one cheap hash (checking reads the method from the hash)."""
    return generate_password_hash(PASSWORD, method="pbkdf2:sha256:1000")


@pytest.fixture
def make_user(app):
    def make(role: Role = Role.RESIDENT, **overrides) -> User:
        number = next(_sequence)
        values = {"email": f"user{number}@example.org", "name": f"User {number}", "role": role,
                  "password_hash": password_hash(), "email_confirmed_at": datetime(2026, 1, 1)}
        values.update(overrides)
        user = User(**values)
        db.session.add(user)
        db.session.commit()
        return user

    return make


@pytest.fixture
def make_cycle(app):
    def make(phase: Phase = Phase.DRAFT, districts=(("North", 100_000), ("South", 50_000)), **overrides) -> Cycle:
        number = next(_sequence)
        values = {"name": f"Cycle {number}", "currency": "EUR", "phase": phase, "rule": "greedy",
                  "total_budget": sum(budget for _, budget in districts)}
        values.update(overrides)
        cycle = Cycle(**values)
        db.session.add(cycle)
        for name, budget in districts:
            db.session.add(District(cycle=cycle, name=name, budget=budget))
        db.session.add(Category(cycle=cycle, name="Green spaces"))
        db.session.commit()
        return cycle

    return make


@pytest.fixture
def make_proposal(app, make_user):
    def make(cycle: Cycle, district: District | None = None, **overrides) -> Proposal:
        district = district or cycle.districts[0]
        values = {"cycle": cycle, "district": district, "category": cycle.categories[0] if cycle.categories else None,
                  "title": f"Proposal {next(_sequence)}", "summary": "A short summary.", "description": "Details.",
                  "estimated_cost": 10_000, "status": ProposalStatus.SUBMITTED}
        values.update(overrides)
        if "author" not in values:
            values["author"] = make_user()
        proposal = Proposal(**values)
        db.session.add(proposal)
        db.session.commit()
        return proposal

    return make


@pytest.fixture
def make_project(make_proposal):
    """An accepted proposal: a project on the ballot."""

    def make(cycle: Cycle, district: District | None = None, cost: int = 10_000, **overrides) -> Proposal:
        return make_proposal(cycle, district, estimated_cost=cost, final_cost=cost, status=ProposalStatus.ACCEPTED, **overrides)

    return make


@pytest.fixture
def verify(app, make_user):
    def verify_user(user: User, district: District) -> Verification:
        official = db.session.query(User).filter_by(role=Role.OFFICIAL).first() or make_user(Role.OFFICIAL)
        verification = Verification(user_id=user.id, cycle_id=district.cycle_id, district_id=district.id,
                                    verified_by_id=official.id)
        db.session.add(verification)
        db.session.commit()
        return verification

    return verify_user


def store_count(cycle, official, funded, unfunded=(), phase=Phase.RESULTS):
    """Store a count per district funding `funded` and not `unfunded`, and move the cycle to `phase` (no tally run)."""
    for district in cycle.districts:
        chosen = [p for p in funded if p.district_id == district.id]
        others = [p for p in unfunded if p.district_id == district.id]
        run = TallyRun(cycle_id=cycle.id, district_id=district.id, rule="greedy", tie_break="seeded", budget=district.budget,
                       spent=sum(p.cost for p in chosen), ballot_count=10, run_by_id=official.id)
        for position, project in enumerate(chosen + others, start=1):
            run.results.append(ProjectResult(project_id=project.id, votes=10 - position, is_funded=project in chosen,
                                             position=position))
        db.session.add(run)
    cycle.phase = phase
    db.session.commit()


def sealed_ballots() -> list[tuple[list[int], int]]:
    """The online ballots stored while voting is open, opened with the server's key: (choices, version) each."""
    from flask import current_app
    from sqlalchemy import select

    from pb.domain import sealing
    from pb.models import SealedBallot

    db.session.expire_all()
    key = sealing.envelope_key(current_app.config["BALLOT_KEY"])
    return [(sealing.unseal(key, row.token, row.version, row.envelope), row.version)
            for row in db.session.scalars(select(SealedBallot))]


def close_voting(cycle, phase=Phase.TALLYING):
    """Close the vote as advancing the phase does (open the sealed ballot box), then put the cycle in `phase`."""
    from pb.services import voting

    voting.open_ballot_box(cycle)
    cycle.phase = phase
    db.session.commit()


class SmtpServer:
    """A real SMTP server on loopback (aiosmtpd) that keeps every message it receives, parsed."""

    def __init__(self) -> None:
        self.messages: list[email.message.EmailMessage] = []
        self.envelopes: list[tuple[str, list[str]]] = []
        self.port = _free_port()
        self._controller = None

    async def handle_DATA(self, server, session, envelope):  # noqa: N802  (aiosmtpd's hook name)
        self.messages.append(email.message_from_bytes(envelope.content, policy=email.policy.default))
        self.envelopes.append((envelope.mail_from, list(envelope.rcpt_tos)))
        return "250 Message accepted for delivery"

    def start(self) -> None:
        from aiosmtpd.controller import Controller

        self._controller = Controller(self, hostname="127.0.0.1", port=self.port)
        self._controller.start()

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    def to(self, address: str) -> list[email.message.EmailMessage]:
        """The messages received for this address, oldest first."""
        return [message for message in self.messages if address in str(message["To"])]

    def last_to(self, address: str) -> email.message.EmailMessage:
        received = self.to(address)
        assert received, f"no message reached {address}; received: {[str(m['To']) for m in self.messages]}"
        return received[-1]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def smtp(app):
    """Point the app's mail at a real SMTP server on loopback, started for this test."""
    from pb import mail as mail_server

    server = SmtpServer()
    server.start()
    app.config.update(MAIL_BACKEND="smtp", MAIL_SERVER="127.0.0.1", MAIL_PORT=server.port, MAIL_TIMEOUT=10)
    mail_server.init_app(app)
    yield server
    server.stop()


def deliver_mail():
    """One delivery round of the worker's mail step."""
    from pb.services import mail

    return mail.deliver_due()


def text_of(message: email.message.EmailMessage) -> str:
    return message.get_body(preferencelist=("plain",)).get_content()


def html_of(message: email.message.EmailMessage) -> str:
    return message.get_body(preferencelist=("html",)).get_content()


def links_in(message: email.message.EmailMessage) -> list[str]:
    """Every link in the plain-text part, as paths the test client can open."""
    return [re.sub(r"^https?://[^/]+", "", link) for link in re.findall(r"https?://\S+", text_of(message))]


def pytest_terminal_summary(terminalreporter):
    skipped = terminalreporter.stats.get("skipped", [])
    if any(POSTGRES_HELP in str(report.longrepr) for report in skipped):
        terminalreporter.write_line(f"PostgreSQL half of the suite skipped: {POSTGRES_HELP}", yellow=True)
