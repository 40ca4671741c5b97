"""Writing the append-only, hash-chained audit log inside the caller's transaction, and checking the chain.

Every entry carries a `sequence` (1, 2, 3, ... with no gaps), the `previous_hash` (the `entry_hash` of
entry sequence - 1, or 64 zeros for entry 1) and its own `entry_hash`: the SHA-256, in lowercase hex, of
this JSON array, written with no spaces and without escaping non-ASCII characters, encoded as UTF-8:

    [sequence, at, actor_id, cycle_id, action, subject, before, after, previous_hash]

`at` is the naive UTC time as "YYYY-MM-DDTHH:MM:SS.ffffff" (always six fraction digits); `actor_id` and
`cycle_id` are integers or null; `before` and `after` are the stored text exactly as it is in the table
(sorted-key JSON, or "" when empty). Anyone with a copy of the table can re-check it in a few lines:

    import hashlib, json
    previous = "0" * 64
    for row in rows_ordered_by_sequence:
        fields = [row.sequence, row.at.isoformat(timespec="microseconds"), row.actor_id, row.cycle_id,
                  row.action, row.subject, row.before, row.after, row.previous_hash]
        text = json.dumps(fields, ensure_ascii=False, separators=(",", ":"))
        assert row.previous_hash == previous and hashlib.sha256(text.encode()).hexdigest() == row.entry_hash
        previous = row.entry_hash

A chain shows a changed, removed or inserted entry, but not the newest entries being cut off together: for
that, compare the last hash `flask pb audit-verify` prints with one noted (or published) earlier.
"""

import hashlib
import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select, text

from pb.extensions import db
from pb.models import AuditEntry, User, utcnow

FIRST_PREVIOUS_HASH = "0" * 64
# The PostgreSQL advisory lock that serialises appends: "pb_audit" in ASCII, so it collides with nothing of ours.
_APPEND_LOCK = 0x70625F6175646974


def _as_text(values: dict[str, Any] | None) -> str:
    return json.dumps(values, sort_keys=True, default=str, ensure_ascii=False) if values else ""


def entry_hash(
    sequence: int, at: datetime, actor_id: int | None, cycle_id: int | None,
    action: str, subject: str, before: str, after: str, previous_hash: str,
) -> str:
    """The SHA-256 of an entry's canonical form (see the module docstring)."""
    fields = [sequence, at.isoformat(timespec="microseconds"), actor_id, cycle_id, action, subject, before, after,
              previous_hash]
    return hashlib.sha256(json.dumps(fields, ensure_ascii=False, separators=(",", ":")).encode("utf-8")).hexdigest()


def _hold_the_append_lock() -> None:
    """Make every other transaction that appends wait until this one ends, so two appends never fork the chain."""
    db.session.flush()
    if db.session.connection().dialect.name == "postgresql":
        db.session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _APPEND_LOCK})
    else:
        # SQLite has one writer at a time and a transaction keeps that role once it has written. This write
        # changes nothing but takes the role, so the last entry read next is the last committed one.
        db.session.execute(text("UPDATE audit_entries SET sequence = sequence WHERE 0 = 1"))


def record(
    actor: User | None,
    action: str,
    subject: str,
    *,
    cycle_id: int | None = None,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
) -> AuditEntry:
    _hold_the_append_lock()
    last = db.session.execute(
        select(AuditEntry.sequence, AuditEntry.entry_hash).order_by(AuditEntry.sequence.desc()).limit(1)
    ).first()
    sequence, previous_hash = (last.sequence + 1, last.entry_hash) if last else (1, FIRST_PREVIOUS_HASH)
    entry = AuditEntry(
        sequence=sequence,
        at=utcnow(),
        actor_id=actor.id if actor else None,
        cycle_id=cycle_id,
        action=action,
        subject=subject,
        before=_as_text(before),
        after=_as_text(after),
        previous_hash=previous_hash,
    )
    entry.entry_hash = entry_hash(
        entry.sequence, entry.at, entry.actor_id, entry.cycle_id, entry.action, entry.subject, entry.before,
        entry.after, entry.previous_hash,
    )
    db.session.add(entry)
    # Written now, so a second entry in the same transaction reads this one as the last.
    db.session.flush()
    return entry


def entries(cycle_id: int, limit: int = 500) -> list[AuditEntry]:
    """The newest entries of a cycle's log, newest first."""
    query = select(AuditEntry).where(AuditEntry.cycle_id == cycle_id).order_by(AuditEntry.id.desc()).limit(limit)
    return list(db.session.scalars(query))


@dataclass
class ChainCheck:
    """What checking the chain found: how many entries, the newest hash, and every problem in plain words."""

    entry_count: int = 0
    last_hash: str = FIRST_PREVIOUS_HASH
    problems: list[str] = field(default_factory=list)

    @property
    def is_intact(self) -> bool:
        return not self.problems


def _short(hash_text: str) -> str:
    return f"{hash_text[:16]}…"


def _missing(first: int, last: int) -> str:
    return f"Entry {first} is missing" if first == last else f"Entries {first} to {last} are missing"


def verify_chain() -> ChainCheck:
    """Re-hash every entry in order; the first problem names the first broken entry."""
    check = ChainCheck()
    previous = None
    rows = db.session.execute(
        select(
            AuditEntry.sequence, AuditEntry.at, AuditEntry.actor_id, AuditEntry.cycle_id, AuditEntry.action,
            AuditEntry.subject, AuditEntry.before, AuditEntry.after, AuditEntry.previous_hash, AuditEntry.entry_hash,
        ).order_by(AuditEntry.sequence).execution_options(yield_per=1000)
    )
    for row in rows:
        number = row.sequence
        is_after_a_gap = False
        if previous is None and number != 1:
            check.problems.append(f"{_missing(1, number - 1)}: the log starts at entry {number}.")
            is_after_a_gap = True
        elif previous is not None and number != previous.sequence + 1:
            check.problems.append(
                f"{_missing(previous.sequence + 1, number - 1)}: sequence jumps from {previous.sequence} to {number}."
            )
            is_after_a_gap = True
        recomputed = entry_hash(
            row.sequence, row.at, row.actor_id, row.cycle_id, row.action, row.subject, row.before, row.after,
            row.previous_hash,
        )
        if recomputed != row.entry_hash:
            check.problems.append(
                f"Entry {number} ({row.action} {row.subject} at {row.at:%Y-%m-%d %H:%M:%S} UTC) was altered: "
                "its hash does not match its contents."
            )
        if previous is None and not is_after_a_gap and row.previous_hash != FIRST_PREVIOUS_HASH:
            check.problems.append(
                f"Entry 1 does not start the chain: its previous hash is {_short(row.previous_hash)}, not 64 zeros."
            )
        elif previous is not None and not is_after_a_gap and row.previous_hash != previous.entry_hash:
            check.problems.append(
                f"Entry {number} does not follow entry {previous.sequence}: its previous hash is "
                f"{_short(row.previous_hash)}, but entry {previous.sequence}'s hash is {_short(previous.entry_hash)}."
            )
        previous = row
        check.entry_count += 1
        check.last_hash = row.entry_hash
    return check
