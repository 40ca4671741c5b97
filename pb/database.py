"""Binding the database to the app, and the engine settings each backend needs to be safe under load."""

import contextlib
import sqlite3
from pathlib import Path

from flask import Flask, current_app
from flask_migrate import Migrate, stamp
from flask_migrate import upgrade as upgrade_to_head
from sqlalchemy import event, inspect

from pb import search_index
from pb.config import ConfigurationError
from pb.domain.errors import ValidationError
from pb.extensions import db

POSTGRES_BACKUP_HELP = (
    "This database is PostgreSQL: back it up with pg_dump, which takes a consistent snapshot while pb keeps running:\n"
    "  pg_dump --format=custom --file=pb-backup.dump \"$PB_DATABASE_URL\"\n"
    "and restore it (with pb stopped) with:\n"
    "  pg_restore --clean --if-exists --no-owner --dbname=\"$PB_DATABASE_URL\" pb-backup.dump"
)
_REQUIRED_TABLES = {"cycles", "users", "ballots", "audit_entries"}
MIGRATIONS = Path(__file__).resolve().parent.parent / "migrations"
# Batch mode: SQLite alters tables by copying. The search index's engine-specific objects are not models: skipped.
migrate = Migrate(directory=str(MIGRATIONS), render_as_batch=True, include_name=search_index.is_managed_by_models)


# PRAGMA synchronous in WAL mode. NORMAL syncs the log at checkpoints, not at every commit: a commit survives the
# server process being killed (nothing is lost that was acknowledged), but not a power cut or an operating-system
# crash of the machine, which may roll back the last transactions. FULL syncs at every commit and survives those
# too, at the price of one disk flush per ballot (about 7 ms here, so SQLite then takes at most ~140 ballots/s).
SQLITE_SYNCHRONOUS_MODES = ("NORMAL", "FULL", "EXTRA")


def _sqlite_setup(synchronous: str):
    def configure(dbapi_connection, connection_record) -> None:
        # SQLite ignores foreign keys unless asked, and WAL lets readers and the writer work at the same time.
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA busy_timeout=10000")
        cursor.execute(f"PRAGMA synchronous={synchronous}")
        cursor.close()

    return configure


def _end_session(exception: BaseException | None = None) -> None:
    """End the request's database session; the database going away meanwhile must not turn the answer into a raw 500.

    Flask calls this after the answer is made (teardown), where an error can no longer become a page: it would reach
    the server as an unhandled exception. The answer is already the right one by then: the 503 page if the request's
    own work met the outage; otherwise the page or redirect of work that was done (a committed change is kept), which
    a 503 "nothing was changed" would misreport. So a lost connection is logged and thrown away here instead.
    Registered after Flask-SQLAlchemy's own teardown, so it runs first and leaves that one nothing to do.
    """
    from pb.errors import is_outage

    try:
        db.session.remove()
    except Exception as error:
        if not is_outage(error):
            raise
        current_app.logger.warning("Database connection lost while ending the request: %s",
                                   str(getattr(error, "orig", None) or error).strip().splitlines()[:1])
        with contextlib.suppress(Exception):
            db.session.invalidate()  # the pool must not hand out this connection again
        db.session.registry.clear()


def init_app(app: Flask) -> None:
    db.init_app(app)
    app.teardown_appcontext(_end_session)
    migrate.init_app(app, db)
    synchronous = str(app.config.get("SQLITE_SYNCHRONOUS", "NORMAL")).strip().upper()
    if synchronous not in SQLITE_SYNCHRONOUS_MODES:
        raise ConfigurationError(
            f"PB_SQLITE_SYNCHRONOUS is {app.config.get('SQLITE_SYNCHRONOUS')!r}; use one of "
            f"{', '.join(SQLITE_SYNCHRONOUS_MODES)} (NORMAL is the default; FULL survives power cuts too)."
        )
    with app.app_context():
        for engine in db.engines.values():
            if engine.dialect.name == "sqlite":
                event.listen(engine, "connect", _sqlite_setup(synchronous))


def create_schema() -> None:
    """Create the tables straight from the models and mark them as the newest migration (fast, for test databases).

    tests/test_migrations.py proves that the migrations build exactly these tables, so the mark is true.
    """
    from pb import models  # noqa: F401  (registers the tables)

    db.create_all()
    stamp(directory=str(MIGRATIONS), revision="head")


def upgrade_schema() -> None:
    """Create or upgrade the schema through the migrations (as `flask --app app db upgrade` does)."""
    from pb import models  # noqa: F401  (registers the tables)

    tables = set(inspect(db.engine).get_table_names())
    if "cycles" in tables and "alembic_version" not in tables:
        raise ValidationError(
            "This database was created without migrations, so pb cannot tell which version its tables are. "
            "If it was made by this version of pb, mark it as current with `flask --app app db stamp head`; "
            "otherwise back it up and start from an empty database."
        )
    upgrade_to_head(directory=str(MIGRATIONS))


def _sqlite_engine():
    engine = db.engine
    if engine.dialect.name != "sqlite":
        raise ValidationError(POSTGRES_BACKUP_HELP)
    return engine


def backup(destination: Path) -> int:
    """Write a consistent copy of the SQLite database to a new file while pb keeps running; returns its size in bytes.

    SQLite's online backup copies the database page by page under a read snapshot, so ballots cast meanwhile are
    either wholly in the copy or wholly not, and the live database is never locked for writers for long.
    """
    engine = _sqlite_engine()
    if destination.exists():
        raise ValidationError(f"{destination} already exists; choose a new file name so no backup is overwritten.")
    if not destination.parent.is_dir():
        raise ValidationError(f"The folder {destination.parent} does not exist.")
    connection = engine.raw_connection()
    try:
        with sqlite3.connect(destination) as target:
            connection.driver_connection.backup(target)
        target.close()
    finally:
        connection.close()
    return destination.stat().st_size


def _check_backup_file(source: Path) -> None:
    if not source.is_file():
        raise ValidationError(f"There is no backup file at {source}.")
    try:
        with sqlite3.connect(f"file:{source}?mode=ro", uri=True) as backup_file:
            tables = {row[0] for row in backup_file.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
            integrity = backup_file.execute("PRAGMA integrity_check").fetchone()[0]
        backup_file.close()
    except sqlite3.DatabaseError:
        raise ValidationError(f"{source} is not a pb backup (not an SQLite database). Nothing was changed.") from None
    if not _REQUIRED_TABLES <= tables:
        raise ValidationError(f"{source} is not a pb backup (its tables are missing). Nothing was changed.")
    if integrity != "ok":
        raise ValidationError(f"{source} is damaged ({integrity}). Nothing was changed.")


def restore(source: Path) -> None:
    """Replace the SQLite database's contents with a backup made by `backup` (stop the server first)."""
    engine = _sqlite_engine()
    _check_backup_file(source)
    db.session.remove()
    connection = engine.raw_connection()
    try:
        with sqlite3.connect(f"file:{source}?mode=ro", uri=True) as backup_file:
            backup_file.backup(connection.driver_connection)
        backup_file.close()
    finally:
        connection.close()
    engine.dispose()  # no pooled connection keeps a view of the replaced database
