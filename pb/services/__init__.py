"""Use cases: the only code that writes to the database, one function and one transaction each."""

from collections.abc import Callable
from functools import wraps
from typing import ParamSpec, TypeVar

from pb.extensions import db

P = ParamSpec("P")
R = TypeVar("R")


def _begin_writing() -> None:
    """On SQLite, hold the write lock for the whole use case, before it reads anything.

    SQLite has one writer at a time. Without this, a use case reads in a deferred transaction and asks for the lock
    only at its first write: by then another writer may have changed what it read (a check passed on stale data),
    and a read transaction that cannot be upgraded fails at once with "database is locked" instead of waiting.
    BEGIN IMMEDIATE waits (up to the busy timeout) for the lock, so every use case reads the latest data and then
    writes without anyone in between. PostgreSQL needs no such step: row locks and constraints do that work.
    """
    connection = db.session.connection()
    if connection.dialect.name != "sqlite":
        return
    driver_connection = connection.connection.driver_connection
    if driver_connection is None or driver_connection.in_transaction:
        return  # already writing: a use case called from another one shares its transaction
    # Anything read before now (the logged-in user, the cycle a view loaded) may be stale; read it again.
    db.session.expire_all()
    connection.exec_driver_sql("BEGIN IMMEDIATE")


def use_case(function: Callable[P, R]) -> Callable[P, R]:
    """Run a use case as one transaction: commit when it returns, roll back when it raises."""

    @wraps(function)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            _begin_writing()
            result = function(*args, **kwargs)
            db.session.commit()
            return result
        except BaseException:
            db.session.rollback()
            raise

    return wrapper


M = TypeVar("M")


def is_plausible_id(object_id: object) -> bool:
    """Whether a value can be a row id: ids outside the column's range make some databases raise, not find nothing."""
    return isinstance(object_id, int) and 0 < object_id < 2**31


def load(model: type[M], object_id: object, what: str, *, for_update: bool = False) -> M:
    """The row with this id, or a NotFound that names what was missing.

    for_update: lock the row until the use case ends and read it afresh, so a decision checks the latest version
    and a second one made at the same moment waits for the first, then sees what it did (PostgreSQL; SQLite's
    writers already take turns).
    """
    from pb.domain.errors import NotFound
    from pb.domain.messages import N_

    found = None
    if is_plausible_id(object_id):
        options = {"with_for_update": True, "populate_existing": True} if for_update else {}
        found = db.session.get(model, object_id, **options)
    if found is None:
        raise NotFound(N_("There is no such {what}.", what=what))
    return found
