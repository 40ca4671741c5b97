"""Alerts to officials by email (kind "official_alerts"): who receives them, written in the caller's transaction."""

from collections.abc import Callable, Iterable

from sqlalchemy import select

from pb.domain import notifications
from pb.extensions import db
from pb.models import Role, User
from pb.services import mail


def enabled_officials(excluding: Iterable[int] = ()) -> list[User]:
    """Every official whose account is enabled and not deleted, but those in `excluding`, by id."""
    left_out = set(excluding)
    query = select(User).where(User.role == Role.OFFICIAL, User.is_enabled.is_(True), User.deleted_at.is_(None))
    return [official for official in db.session.scalars(query.order_by(User.id)) if official.id not in left_out]


def tell_officials(template: str, *, excluding: Iterable[int] = (), only: Callable[[User], bool] | None = None,
                   **context: object) -> int:
    """Write one alert to each enabled official (but `excluding`, and those `only` refuses); how many were written."""
    written = 0
    for official in enabled_officials(excluding):
        if only is not None and not only(official):
            continue
        written += mail.notify(official, notifications.OFFICIAL_ALERTS, template, **context) is not None
    return written
