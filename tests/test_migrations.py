"""The migrations build exactly the tables the models describe, on SQLite and on PostgreSQL, and run both ways."""

import pathlib
import re
import tempfile
import uuid
from types import SimpleNamespace

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import downgrade
from sqlalchemy import create_engine, inspect, select, text

from pb import create_app, models, search_index  # noqa: F401  (models register the tables)
from pb.database import MIGRATIONS, upgrade_schema
from pb.extensions import db
from tests.conftest import POSTGRES_HELP


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def empty_app(request, monkeypatch):
    """An app on a database with no tables at all."""
    import os

    config = {"TESTING": True, "SECRET_KEY": "test-secret"}
    if request.param == "sqlite":
        folder = pathlib.Path(tempfile.mkdtemp(prefix="pb-migrations-"))
        config["DATABASE_URL"] = f"sqlite:///{folder / 'pb.sqlite3'}"
        schema = None
    else:
        url = os.environ.get("PB_TEST_POSTGRES_URL")
        if not url:
            pytest.skip(POSTGRES_HELP)
        schema = f"pb_migrations_{uuid.uuid4().hex[:10]}"
        engine = create_engine(url.replace("postgresql://", "postgresql+psycopg://", 1))
        with engine.begin() as connection:
            connection.execute(text(f'CREATE SCHEMA "{schema}"'))
        config["DATABASE_URL"] = url
        config["SQLALCHEMY_ENGINE_OPTIONS"] = {"connect_args": {"options": f"-csearch_path={schema}"}}
    app = create_app(config)
    with app.app_context():
        yield app
        db.session.remove()
        db.engine.dispose()
    if schema:
        with engine.begin() as connection:
            connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        engine.dispose()


def _differences() -> list:
    with db.engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True, "compare_server_default": False,
                                                                "include_name": search_index.is_managed_by_models})
        return compare_metadata(context, db.metadata)


def test_upgrading_an_empty_database_builds_exactly_the_models_tables(empty_app):
    upgrade_schema()
    tables = {name for name in inspect(db.engine).get_table_names() if search_index.is_managed_by_models(name, "table", {})}
    assert set(db.metadata.tables) | {"alembic_version"} == tables
    assert _differences() == []


def test_every_migration_runs_down_and_up_again(empty_app):
    upgrade_schema()
    downgrade(directory=str(MIGRATIONS), revision="base")
    assert set(inspect(db.engine).get_table_names()) <= {"alembic_version"}
    upgrade_schema()
    assert _differences() == []


def test_a_database_made_without_migrations_is_not_upgraded_blindly(empty_app):
    db.create_all()
    with pytest.raises(Exception, match="created without migrations") as refused:
        upgrade_schema()
    assert "flask --app app db stamp head" in str(refused.value)


# The revision the one-district migration follows: read from its file, so re-ordering the chain keeps this test true.
_BEFORE_ONE_DISTRICT = re.search(
    r"^down_revision = '(\w+)'", next(MIGRATIONS.glob("versions/*_one_district_per_resident.py")).read_text(), re.M
).group(1)


def test_one_district_per_resident_is_not_forced_onto_a_database_that_breaks_it(empty_app):
    """The upgrade adding uq_verification_cycle refuses, naming who, while a resident holds two districts of a cycle."""
    from datetime import datetime

    from flask_migrate import upgrade

    from pb.domain.errors import ValidationError
    from pb.models import Verification

    upgrade(directory=str(MIGRATIONS), revision=_BEFORE_ONE_DISTRICT)
    # Raw SQL: the Cycle and User models have columns (changed by later migrations) this older schema does not have.
    db.session.execute(text("INSERT INTO cycles (name, description, currency, total_budget, phase, rule, min_projects, "
                            "tie_break_seed, created_at) VALUES ('Old cycle', '', 'EUR', 2, 'draft', 'greedy', 1, 0, "
                            "'2026-01-01 00:00:00')"))
    cycle = SimpleNamespace(id=db.session.scalar(text("SELECT id FROM cycles")))
    for name in ("North", "South"):
        db.session.execute(text("INSERT INTO districts (cycle_id, name, budget) VALUES (:cycle, :name, 1)"),
                           {"cycle": cycle.id, "name": name})
    north, south = (SimpleNamespace(id=db.session.scalar(text("SELECT id FROM districts WHERE name = :name"), {"name": name}))
                    for name in ("North", "South"))
    db.session.execute(text("INSERT INTO users (email, name, password_hash, role, is_enabled, created_at, "
                            "session_version) VALUES ('twice@example.org', 'Twice', 'x', 'resident', :yes, :now, 0)"),
                       {"yes": True, "now": datetime(2026, 1, 1)})
    db.session.flush()
    resident = db.session.execute(text("SELECT id FROM users WHERE email = 'twice@example.org'")).one()
    for district in (north, south):
        db.session.add(Verification(user_id=resident.id, cycle_id=cycle.id, district_id=district.id,
                                    verified_by_id=resident.id))
    db.session.commit()
    with pytest.raises(ValidationError, match=f"cycle {cycle.id}: user {resident.id} in 2 districts") as refused:
        upgrade_schema()
    assert "Nothing was changed" in str(refused.value)
    db.session.rollback()
    assert db.session.scalar(text("SELECT version_num FROM alembic_version")) == _BEFORE_ONE_DISTRICT
    db.session.execute(text("DELETE FROM verifications WHERE district_id = :id"), {"id": south.id})
    db.session.commit()
    upgrade_schema()
    assert _differences() == []


def test_the_sealed_ballot_box_migration_seals_ballots_of_a_vote_under_way_and_keeps_counted_ones(empty_app):
    """Online ballots of a cycle still voting become sealed envelopes (opened, shuffled, when voting closes); ballots
    of a cycle already counted stay; online participations go, paper ones stay; every voter keeps their receipt."""
    from datetime import date, datetime

    from flask_migrate import upgrade
    from sqlalchemy import MetaData, func, insert, select

    from pb.models import Ballot, Participation, SealedBallot, User
    from pb.services import voting

    upgrade(directory=str(MIGRATIONS), revision="8d3f51a6c2e0")
    tables = MetaData()
    tables.reflect(db.engine)
    now = datetime(2026, 5, 1)
    receipts = {}
    with db.engine.begin() as connection:
        def add(table: str, **values) -> None:
            connection.execute(insert(tables.tables[table]).values(**values))

        for user_id in (1, 2, 3):
            add("users", id=user_id, email=f"u{user_id}@example.org", name=f"U{user_id}", password_hash="x",
                role="resident", is_enabled=True, created_at=now, session_version=0)
        for cycle_id, phase in ((1, "voting"), (2, "results")):
            add("cycles", id=cycle_id, name=f"C{cycle_id}", description="", currency="EUR", total_budget=100_000,
                phase=phase, rule="greedy", min_projects=1, tie_break_seed=0, created_at=now)
            add("districts", id=cycle_id, cycle_id=cycle_id, name="North", budget=100_000)
            for project in (1, 2):
                add("proposals", id=cycle_id * 10 + project, cycle_id=cycle_id, district_id=cycle_id, author_id=3,
                    title="P", summary="S", description="D", location="", estimated_cost=10_000, final_cost=10_000,
                    status="accepted", moderator_note="", version=1, created_at=now, updated_at=now)
            for user_id in (1, 2):
                token = voting.ballot_token(user_id, cycle_id, cycle_id)
                receipts[(user_id, cycle_id)] = voting._receipt_for(token, 2)
                ballot_id = cycle_id * 100 + user_id
                add("ballots", id=ballot_id, cycle_id=cycle_id, district_id=cycle_id, token=token,
                    receipt=receipts[(user_id, cycle_id)], version=2)
                add("ballot_choices", ballot_id=ballot_id, project_id=cycle_id * 10 + user_id)
                add("participations", user_id=user_id, cycle_id=cycle_id, district_id=cycle_id, channel="online",
                    voted_on=date(2026, 5, user_id))
        add("participations", user_id=3, cycle_id=1, district_id=1, channel="paper", voted_on=date(2026, 5, 3))

    upgrade_schema()
    assert _differences() == []
    assert db.session.execute(select(Participation.user_id, Participation.channel)).all() == [(3, "paper")]
    assert sorted(db.session.scalars(select(Ballot.receipt))) == sorted(receipts[(u, 2)] for u in (1, 2))
    assert db.session.scalar(select(func.count()).select_from(SealedBallot)) == 4
    for user_id in (1, 2):
        user = db.session.get(User, user_id)
        for cycle_id in (1, 2):
            own = voting.stored_ballot(user, cycle_id, cycle_id)
            assert (set(own.choices), own.receipt, own.version) == (
                {cycle_id * 10 + user_id}, receipts[(user_id, cycle_id)], 2)
    assert sorted(db.session.execute(select(SealedBallot.sealed_on).where(SealedBallot.cycle_id == 1)).scalars()) == [
        date(2026, 5, 1), date(2026, 5, 2)]


def test_accounts_made_before_email_count_as_confirmed(empty_app):
    """The mail migration marks existing accounts confirmed (their owners were never asked) and new columns default."""
    from datetime import datetime

    from flask_migrate import upgrade

    upgrade(directory=str(MIGRATIONS), revision="a4c7d2e91f03")
    db.session.execute(text("INSERT INTO users (email, name, password_hash, role, is_enabled, created_at, "
                            "session_version) VALUES ('old@example.org', 'Old', 'x', 'resident', :yes, :made, 0)"),
                       {"yes": True, "made": datetime(2025, 3, 1, 9, 30)})
    db.session.commit()
    upgrade_schema()
    row = db.session.execute(text("SELECT email_confirmed_at, muted_notifications, locale, deleted_at FROM users")).one()
    assert str(row[0]).startswith("2025-03-01 09:30:00")
    assert (row[1], row[2], row[3]) == ("", None, None)


_BEFORE_MOMENTS = re.search(
    r"^down_revision = '(\w+)'", next(MIGRATIONS.glob("versions/*_timetable_moments.py")).read_text(), re.M
).group(1)


def test_published_dates_become_moments_in_utc_and_voting_closes_at_the_end_of_its_day(empty_app):
    """A date meant the whole day in UTC: each becomes 00:00 UTC of that day, and "voting closes 15 December" (residents
    could vote all through the 15th) becomes 00:00 on the 16th; the downgrade gives the same days back."""
    from datetime import datetime

    from flask_migrate import upgrade

    from pb.models import Cycle

    upgrade(directory=str(MIGRATIONS), revision=_BEFORE_MOMENTS)
    db.session.execute(text(
        "INSERT INTO cycles (name, description, currency, total_budget, phase, rule, min_projects, tie_break_seed, "
        "created_at, proposals_open_on, review_on, voting_open_on, voting_close_on, results_on) VALUES "
        "('Dated', '', 'EUR', 2, 'voting', 'greedy', 1, 0, '2026-01-01 00:00:00', '2026-01-15', '2026-04-01', "
        "'2026-10-15', '2026-12-15', NULL)"
    ))
    db.session.commit()
    upgrade_schema()
    assert _differences() == []
    cycle = db.session.scalars(select(Cycle)).one()
    assert cycle.timezone == "UTC"
    assert (cycle.proposals_open_at, cycle.review_at, cycle.voting_open_at, cycle.voting_close_at, cycle.results_at) == (
        datetime(2026, 1, 15), datetime(2026, 4, 1), datetime(2026, 10, 15), datetime(2026, 12, 16), None)
    db.session.commit()
    downgrade(directory=str(MIGRATIONS), revision=_BEFORE_MOMENTS)
    days = db.session.execute(text(
        "SELECT proposals_open_on, review_on, voting_open_on, voting_close_on, results_on FROM cycles")).one()
    assert [str(day)[:10] if day else None for day in days] == [
        "2026-01-15", "2026-04-01", "2026-10-15", "2026-12-15", None]


def test_the_search_index_is_built_by_the_migrations_and_outlives_later_ones(empty_app):
    """Its FTS5 table and triggers (SQLite) or tsvector column and GIN index (PostgreSQL) exist at head.

    A later migration that batch-alters `proposals` on SQLite copies the table and drops its triggers: it must run
    pb.search_index's statements again, and this test says so.
    """
    upgrade_schema()
    if db.engine.dialect.name == "sqlite":
        triggers = set(db.session.scalars(text("SELECT name FROM sqlite_master WHERE type = 'trigger'")))
        assert {f"{search_index.FTS_TABLE}_{kind}" for kind in ("insert", "delete", "update")} <= triggers
    else:
        columns = {column["name"] for column in inspect(db.engine).get_columns("proposals")}
        indexes = {index["name"] for index in inspect(db.engine).get_indexes("proposals")}
        assert search_index.VECTOR_COLUMN in columns and search_index.VECTOR_INDEX in indexes
