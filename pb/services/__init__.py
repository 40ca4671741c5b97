"""Use cases: the only code that writes to the database, one function and one transaction each."""

from collections.abc import Callable
from functools import wraps
from typing import ParamSpec, TypeVar

from pb.extensions import db

P = ParamSpec("P")
R = TypeVar("R")


def use_case(function: Callable[P, R]) -> Callable[P, R]:
    """Run a use case as one transaction: commit when it returns, roll back when it raises."""

    @wraps(function)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            result = function(*args, **kwargs)
            db.session.commit()
            return result
        except BaseException:
            db.session.rollback()
            raise

    return wrapper


M = TypeVar("M")


def load(model: type[M], object_id: object, what: str) -> M:
    """The row with this id, or a NotFound that names what was missing."""
    from pb.domain.errors import NotFound

    # Ids outside the column's range would make some databases raise instead of finding nothing.
    is_plausible = isinstance(object_id, int) and 0 < object_id < 2**31
    found = db.session.get(model, object_id) if is_plausible else None
    if found is None:
        raise NotFound(f"There is no such {what}.")
    return found
