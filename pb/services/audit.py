"""Writing the append-only audit log, chained with a key kept outside the database, and checking the chain.

Every entry carries a `sequence` (1, 2, 3, ... with no gaps), the `previous_hash` (the `entry_hash` of
entry sequence - 1, or 64 zeros for entry 1), its own `entry_hash` and the `scheme` that made it. The hash is
taken over this JSON array, written with no spaces and without escaping non-ASCII characters, encoded as UTF-8:

    [sequence, at, actor_id, cycle_id, action, subject, before, after, previous_hash]

`at` is the naive UTC time as "YYYY-MM-DDTHH:MM:SS.ffffff" (always six fraction digits); `actor_id` and
`cycle_id` are integers or null; `before` and `after` are the stored text exactly as it is in the table
(sorted-key JSON, or "" when empty). Schemes:

- "hmac-sha256" (every entry pb writes): HMAC-SHA256 of that text under PB_AUDIT_KEY, in lowercase hex. The key
  is a setting, never stored in the database, so whoever holds only the database (its administrator, a backup, a
  dump) cannot rewrite an entry, or delete one and re-chain the rest, without `audit-verify` seeing it.
- "sha256": the plain SHA-256 of that text. Installations that ran pb before the log was keyed keep their older
  entries so; they are accepted only before the first keyed entry, whose previous_hash anchors them. An unkeyed
  entry after a keyed one, or a log whose newest entry is unkeyed, is reported: that is what a rewrite without
  the key looks like.

Anyone holding the table and the key can re-check it in a few lines:

    import hashlib, hmac, json
    previous = "0" * 64
    for row in rows_ordered_by_sequence:
        fields = [row.sequence, row.at.isoformat(timespec="microseconds"), row.actor_id, row.cycle_id,
                  row.action, row.subject, row.before, row.after, row.previous_hash]
        text = json.dumps(fields, ensure_ascii=False, separators=(",", ":")).encode()
        digest = (hmac.new(AUDIT_KEY.encode(), text, hashlib.sha256) if row.scheme == "hmac-sha256"
                  else hashlib.sha256(text)).hexdigest()
        assert row.previous_hash == previous and digest == row.entry_hash
        previous = row.entry_hash

A key does not show the newest entries being cut off together, nor a rewrite by someone who also holds the key.
For that the head is published: the hash of each phase change's entry (and each published correction's) is
shown on the cycle's public page and its results page. Anyone who noted one can later have it checked with
`flask pb audit-verify --expect HEAD`, which fails unless that entry is still in the chain and the chain goes on
correctly from it.
"""

import hashlib
import hmac
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from flask import current_app
from sqlalchemy import select, text
from sqlalchemy.orm import joinedload

from pb.domain.cycle import Phase
from pb.domain.errors import ValidationError
from pb.domain.messages import N_
from pb.extensions import db
from pb.models import AuditEntry, User, utcnow
from pb.pagination import Page, paginate
from pb.services import use_case

FIRST_PREVIOUS_HASH = "0" * 64
KEYED = "hmac-sha256"
UNKEYED = "sha256"  # entries written before the log was keyed; see the module docstring
# The entries whose hash is published as the log's head: each phase change, and each published correction.
PUBLISHED_ACTIONS = ("advance-phase", "publish-correction")
MIN_HEAD_LENGTH = 16
_HEX = re.compile(r"^[0-9a-f]+$")
# The PostgreSQL advisory lock that serialises appends: "pb_audit" in ASCII, so it collides with nothing of ours.
_APPEND_LOCK = 0x70625F6175646974


def _as_text(values: dict[str, Any] | None) -> str:
    return json.dumps(values, sort_keys=True, default=str, ensure_ascii=False) if values else ""


def _key() -> bytes:
    return str(current_app.config["AUDIT_KEY"]).encode("utf-8")


def entry_hash(
    sequence: int, at: datetime, actor_id: int | None, cycle_id: int | None,
    action: str, subject: str, before: str, after: str, previous_hash: str, *, scheme: str = KEYED,
) -> str | None:
    """The hash of an entry's canonical form under its scheme (see the module docstring); None for an unknown scheme."""
    fields = [sequence, at.isoformat(timespec="microseconds"), actor_id, cycle_id, action, subject, before, after,
              previous_hash]
    canonical = json.dumps(fields, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    if scheme == KEYED:
        return hmac.new(_key(), canonical, hashlib.sha256).hexdigest()
    if scheme == UNKEYED:
        return hashlib.sha256(canonical).hexdigest()
    return None


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
        scheme=KEYED,
    )
    entry.entry_hash = entry_hash(
        entry.sequence, entry.at, entry.actor_id, entry.cycle_id, entry.action, entry.subject, entry.before,
        entry.after, entry.previous_hash,
    )
    db.session.add(entry)
    # Written now, so a second entry in the same transaction reads this one as the last.
    db.session.flush()
    return entry


@use_case
def seal() -> AuditEntry:
    """Append a keyed entry now: it anchors unkeyed entries written before the log was keyed, and gives a head."""
    return record(None, "seal-audit-log", "audit-log")


@dataclass(frozen=True)
class PublishedHead:
    """The log's head right after a phase change or a published correction, as the public pages show it."""

    sequence: int
    at: datetime
    action: str
    phase: Phase | None  # the phase it moved to
    revision: int | None  # the correction published
    entry_hash: str


def published_heads(cycle_id: int) -> list[PublishedHead]:
    """The head at each of a cycle's phase changes and published corrections, oldest first."""
    rows = db.session.execute(
        select(AuditEntry.sequence, AuditEntry.at, AuditEntry.action, AuditEntry.after, AuditEntry.entry_hash)
        .where(AuditEntry.cycle_id == cycle_id, AuditEntry.action.in_(PUBLISHED_ACTIONS))
        .order_by(AuditEntry.sequence)
    )
    heads = []
    for row in rows:
        try:
            after = json.loads(row.after) if row.after else {}
        except ValueError:
            after = {}
        after = after if isinstance(after, dict) else {}
        revision, phase = after.get("revision"), after.get("phase")
        heads.append(PublishedHead(
            sequence=row.sequence, at=row.at, action=row.action,
            phase=Phase(phase) if phase in {p.value for p in Phase} else None,
            revision=revision if isinstance(revision, int) else None, entry_hash=row.entry_hash,
        ))
    return heads


def entries_page(cycle_id: int, number: int, size: int = 100) -> Page:
    """One page of a cycle's log, newest first (by id, which the cycle_id index keeps cheap), with each actor."""
    query = (select(AuditEntry).where(AuditEntry.cycle_id == cycle_id).options(joinedload(AuditEntry.actor))
             .order_by(AuditEntry.id.desc()))
    return paginate(query, number, size)


def entries(cycle_id: int, limit: int = 500) -> list[AuditEntry]:
    """The newest entries of a cycle's log, newest first."""
    query = select(AuditEntry).where(AuditEntry.cycle_id == cycle_id).order_by(AuditEntry.id.desc()).limit(limit)
    return list(db.session.scalars(query))


@dataclass(frozen=True)
class FoundHead:
    """An expected head found in the chain: its entry and how many entries follow it."""

    head: str
    sequence: int
    label: str
    later_entries: int


@dataclass
class ChainCheck:
    """What checking the chain found: how many entries, the newest hash, and every problem in plain words."""

    entry_count: int = 0
    unkeyed_count: int = 0
    last_hash: str = FIRST_PREVIOUS_HASH
    problems: list[str] = field(default_factory=list)
    found_heads: list[FoundHead] = field(default_factory=list)

    @property
    def is_intact(self) -> bool:
        return not self.problems


def _short(hash_text: str) -> str:
    return f"{hash_text[:16]}…"


def _missing(first: int, last: int) -> str:
    return f"Entry {first} is missing" if first == last else f"Entries {first} to {last} are missing"


def expected_head(text_given: str) -> str:
    """A head as typed (the whole hash, or at least its first 16 characters), normalised; refuses anything else."""
    head = (text_given or "").strip().lower().rstrip("…").rstrip(".")
    if not _HEX.match(head) or not MIN_HEAD_LENGTH <= len(head) <= 64:
        raise ValidationError(N_(
            "“{head}” is not an audit log head: give the hash as published, 64 characters 0-9 and a-f "
            "(or at least its first {least}).", head=text_given, least=MIN_HEAD_LENGTH,
        ))
    return head


def _label(row) -> str:
    return f"{row.action} {row.subject} at {row.at:%Y-%m-%d %H:%M:%S} UTC"


def verify_chain(expected_heads: Sequence[str] = ()) -> ChainCheck:
    """Re-hash every entry in order and look for each expected head; the first problem names the first broken entry.

    `expected_heads` are hashes noted earlier (normalised by expected_head()); each must still be an entry's hash.
    """
    check = ChainCheck()
    previous = None
    first_keyed: int | None = None
    keyed_mismatches = keyed_count = 0
    matches: dict[str, list] = {head: [] for head in expected_heads}
    rows = db.session.execute(
        select(
            AuditEntry.sequence, AuditEntry.at, AuditEntry.actor_id, AuditEntry.cycle_id, AuditEntry.action,
            AuditEntry.subject, AuditEntry.before, AuditEntry.after, AuditEntry.previous_hash, AuditEntry.entry_hash,
            AuditEntry.scheme,
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
            row.previous_hash, scheme=row.scheme,
        )
        if row.scheme == KEYED:
            keyed_count += 1
            first_keyed = number if first_keyed is None else first_keyed
        else:
            check.unkeyed_count += 1
        if recomputed is None:
            check.problems.append(f"Entry {number} ({_label(row)}) names an unknown hash scheme, {row.scheme!r}.")
        elif recomputed != row.entry_hash:
            keyed_mismatches += row.scheme == KEYED
            check.problems.append(f"Entry {number} ({_label(row)}) was altered: its hash does not match its contents.")
        if row.scheme == UNKEYED and first_keyed is not None:
            check.problems.append(
                f"Entry {number} ({_label(row)}) is not keyed, but entry {first_keyed} before it is: pb keys every "
                "entry it writes, so this one was written or rewritten by someone without the audit key."
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
        for head, found in matches.items():
            if row.entry_hash.startswith(head):
                found.append((row, check.entry_count))
        previous = row
        check.entry_count += 1
        check.last_hash = row.entry_hash
    if previous is not None and previous.scheme != KEYED:
        check.problems.append(
            f"Entry {previous.sequence}, the newest, is not keyed: the log was rewritten without the audit key, or "
            "this installation has written nothing since its log was keyed (then run `flask --app app pb "
            "audit-seal` once, so that a keyed entry anchors the older ones)."
        )
    if keyed_count and keyed_mismatches == keyed_count:
        check.problems.insert(0, (
            "No keyed entry matches the audit key: PB_AUDIT_KEY is not the key this log was written with, "
            "or the whole log was rewritten without it."
        ))
    for head, found in matches.items():
        if not found:
            check.problems.append(
                f"The expected head {_short(head)} is not in the log: entries up to or after it were removed "
                "(the log was cut short), or the log was rewritten since that head was noted."
            )
        elif len(found) > 1:
            check.problems.append(f"The expected head {head} matches {len(found)} entries; give more of it.")
        else:
            row, position = found[0]
            check.found_heads.append(FoundHead(head=row.entry_hash, sequence=row.sequence, label=_label(row),
                                               later_entries=check.entry_count - position - 1))
    return check
