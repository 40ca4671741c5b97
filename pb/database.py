"""Binding the database to the app, and the engine settings each backend needs to be safe under load."""

from flask import Flask
from sqlalchemy import event
from sqlalchemy.engine import Engine

from pb.extensions import db


def _configure_sqlite(dbapi_connection, connection_record) -> None:  # noqa: ARG001
    # SQLite ignores foreign keys unless asked, and WAL lets readers and the writer work at the same time.
    if type(dbapi_connection).__module__.startswith("sqlite3"):
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA busy_timeout=10000")
        cursor.close()


def init_app(app: Flask) -> None:
    db.init_app(app)
    if not event.contains(Engine, "connect", _configure_sqlite):
        event.listen(Engine, "connect", _configure_sqlite)


def create_schema() -> None:
    from pb import models  # noqa: F401  (registers the tables)

    db.create_all()
