"""Fixtures for the use-case tests: cheap password hashing, a whole-database snapshot, and the audit log."""

import json
from functools import partial

import pytest
from sqlalchemy import event, select
from sqlalchemy.engine import Engine
from werkzeug.security import generate_password_hash

from pb import security
from pb.extensions import db
from pb.models import AuditEntry


@pytest.fixture(autouse=True)
def _fast_password_hashing(monkeypatch):
    # scrypt costs ~0.1 s per account; these tests create hundreds of accounts and never test hashing strength.
    monkeypatch.setattr(security, "generate_password_hash", partial(generate_password_hash, method="pbkdf2:sha256:1000"))


def _commit_without_waiting_for_the_disk(dbapi_connection, connection_record) -> None:
    if type(dbapi_connection).__module__.startswith("psycopg"):
        with dbapi_connection.cursor() as cursor:
            cursor.execute("SET synchronous_commit TO off")
        dbapi_connection.commit()


@pytest.fixture(scope="session", autouse=True)
def _fast_postgres_commits():
    # These tests commit thousands of times into a throw-away schema; waiting for each WAL flush would double the run.
    event.listen(Engine, "connect", _commit_without_waiting_for_the_disk)
    yield
    event.remove(Engine, "connect", _commit_without_waiting_for_the_disk)


@pytest.fixture
def snapshot(app):
    """A callable returning every row of every table, audit log included: equal before and after = nothing changed."""

    def rows() -> dict[str, list[tuple]]:
        db.session.expire_all()
        return {
            table.name: sorted(map(tuple, db.session.execute(select(table)).all()), key=repr)
            for table in db.metadata.sorted_tables
        }

    return rows


@pytest.fixture
def audit_log(app):
    """A callable returning the audit entries, oldest first, as (actor_id, action, subject, before, after) with JSON read."""

    def entries(action: str | None = None) -> list[tuple]:
        query = select(AuditEntry).order_by(AuditEntry.id)
        if action is not None:
            query = query.where(AuditEntry.action == action)
        return [
            (e.actor_id, e.action, e.subject, json.loads(e.before or "{}"), json.loads(e.after or "{}"))
            for e in db.session.scalars(query)
        ]

    return entries
