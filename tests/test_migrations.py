"""The migrations build exactly the tables the models describe, on SQLite and on PostgreSQL, and run both ways."""

import pathlib
import re
import tempfile
import uuid

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import downgrade
from sqlalchemy import create_engine, inspect, text

from pb import create_app, models  # noqa: F401  (models register the tables)
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
        context = MigrationContext.configure(connection, opts={"compare_type": True, "compare_server_default": False})
        return compare_metadata(context, db.metadata)


def test_upgrading_an_empty_database_builds_exactly_the_models_tables(empty_app):
    upgrade_schema()
    tables = set(inspect(db.engine).get_table_names())
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
    from flask_migrate import upgrade

    from pb.domain.errors import ValidationError
    from pb.models import Cycle, District, User, Verification

    upgrade(directory=str(MIGRATIONS), revision=_BEFORE_ONE_DISTRICT)
    cycle = Cycle(name="Old cycle", currency="EUR", rule="greedy", total_budget=2)
    north, south = District(cycle=cycle, name="North", budget=1), District(cycle=cycle, name="South", budget=1)
    resident = User(email="twice@example.org", name="Twice", password_hash="x")
    db.session.add_all([cycle, north, south, resident])
    db.session.flush()
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
