"""Writing the append-only audit log, inside the caller's transaction."""

import json
from typing import Any

from sqlalchemy import select

from pb.extensions import db
from pb.models import AuditEntry, User


def _as_text(values: dict[str, Any] | None) -> str:
    return json.dumps(values, sort_keys=True, default=str, ensure_ascii=False) if values else ""


def record(
    actor: User | None,
    action: str,
    subject: str,
    *,
    cycle_id: int | None = None,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
) -> AuditEntry:
    entry = AuditEntry(
        actor_id=actor.id if actor else None,
        cycle_id=cycle_id,
        action=action,
        subject=subject,
        before=_as_text(before),
        after=_as_text(after),
    )
    db.session.add(entry)
    return entry


def entries(cycle_id: int, limit: int = 500) -> list[AuditEntry]:
    """The newest entries of a cycle's log, newest first."""
    query = select(AuditEntry).where(AuditEntry.cycle_id == cycle_id).order_by(AuditEntry.id.desc()).limit(limit)
    return list(db.session.scalars(query))
