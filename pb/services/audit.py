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

import csv
import hashlib
import hmac
import io
import json
import re
import string
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from flask import current_app
from sqlalchemy import func, select, text
from sqlalchemy.orm import joinedload

from pb.domain.cycle import Phase
from pb.domain.errors import PermissionDenied, ValidationError
from pb.domain.messages import N_, Message
from pb.domain.money import format_amount
from pb.extensions import db
from pb.models import AuditEntry, Category, Cycle, District, Proposal, ProposalStatus, Role, User, utcnow
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


# -- Reading the log in words: what officials and auditors see. The stored entries are never changed. ------------

# Every event pb records, in words: {actor} is who did it ("Ana (official)"), {target} what it was done to.
# tests/services/test_audit.py fails when a slug recorded anywhere in pb/ is missing here.
EVENTS: dict[str, Message] = {
    "accept-proposal": N_("{actor} accepted the proposal {target} with final cost {final_cost}"),
    "add-category": N_("{actor} added the category {target}"),
    "add-district": N_("{actor} added the district {target} with a budget of {budget}"),
    "add-document": N_("{actor} added a document to the proposal {target}"),
    "add-photo": N_("{actor} added a photo to the proposal {target}"),
    "advance-phase": N_("{actor} moved the cycle {target} to the phase “{phase}”"),
    "answer-verification-request": N_("{actor} answered the request of {target} to be verified"),
    "approve-results": N_("{actor} approved the count of the cycle {target}"),
    "approve-role-change": N_("{actor} approved the change of role of {target}"),
    "ask-verification": N_("{actor} asked to be verified in the district {district}"),
    "cancel-correction": N_("{actor} cancelled a correction of the results of the cycle {target}"),
    "cancel-role-change": N_("{actor} cancelled the requested change of role of {target}"),
    "cancel-verification-request": N_("{actor} withdrew their request to be verified"),
    "change-email": N_("{actor} changed the email address of {target}"),
    "change-password": N_("{actor} changed the password of {target}"),
    "change-role": N_("{actor} changed the role of {target}"),
    "check-register-file": N_("{actor} checked an eligibility register file ({target})"),
    "confirm-email": N_("{actor} confirmed the email address of {target}"),
    "confirm-register": N_("{actor} added an eligibility register file to the register ({target})"),
    "correct-paper-sheet": N_("{actor} corrected the paper ballot sheet {target}"),
    "create-cycle": N_("{actor} created the cycle {target}"),
    "create-user": N_("{actor} created the account of {target}"),
    "delete-account": N_("{actor} deleted the account {target}"),
    "disable-user": N_("{actor} disabled the account of {target}"),
    "discard-register-file": N_("{actor} discarded an eligibility register file ({target})"),
    "download-voting-codes": N_("{actor} downloaded the voting codes {numbers} of {district} ({format})"),
    "edit-district-budget": N_("{actor} changed the budget of the district {target} to {budget}"),
    "edit-proposal": N_("{actor} edited the proposal {target}"),
    "enable-user": N_("{actor} enabled the account of {target}"),
    "enter-paper-sheet": N_("{actor} entered the paper ballot sheet {target}"),
    "export-audit-log": N_("{actor} downloaded the audit log ({target})"),
    "forget-voting-codes": N_("{actor} forgot the voting codes {numbers} after printing"),
    "generate-voting-codes": N_("{actor} made voting codes for the district {target}"),
    "hide-comment": N_("{actor} hid the comment {target}"),
    "keep-comment": N_("{actor} kept the flagged comment {target}"),
    "lift-verification-lockout": N_("{actor} lifted the verification lockout of {target}"),
    "merge-proposal": N_("{actor} merged the proposal {target} into another"),
    "move-photo": N_("{actor} reordered the photos of the proposal {target}"),
    "post-implementation-update": N_("{actor} posted a progress update on the project {target}"),
    "propose-correction": N_("{actor} proposed a correction of the results of the cycle {target}"),
    "publish-correction": N_("{actor} published a correction of the results of the cycle {target}"),
    "record-implementation": N_("{actor} recorded the progress of the project {target}"),
    "record-paper-voter": N_("{actor} marked {target} as having voted on paper"),
    "register": N_("{actor} registered as a resident"),
    "register-attempt": N_("Someone tried to register again with the address of {target}"),
    "reject-proposal": N_("{actor} rejected the proposal {target}"),
    "remove-category": N_("{actor} removed the category {target}"),
    "remove-district": N_("{actor} removed the district {target}"),
    "remove-district-boundary": N_("{actor} removed the boundary of the district {target}"),
    "remove-document": N_("{actor} removed a document from the proposal {target}"),
    "remove-photo": N_("{actor} removed a photo from the proposal {target}"),
    "request-changes": N_("{actor} asked for changes to the proposal {target}"),
    "request-email-change": N_("{actor} asked to change the email address of {target}"),
    "request-password-reset": N_("Someone asked for a password reset for {target}"),
    "request-role-change": N_("{actor} requested a change of role for {target}"),
    "reset-password": N_("{actor} set a new password for {target} with a reset link"),
    "retry-all-mail": N_("{actor} sent every failed email again"),
    "retry-mail": N_("{actor} sent a failed email again ({target})"),
    "revoke-verification": N_("{actor} revoked the verification of {target}"),
    "run-tally": N_("{actor} counted the votes of the cycle {target}"),
    "seal-audit-log": N_("{actor} sealed the audit log"),
    "select-for-review": N_("{actor} selected the supported proposals of the cycle {target} for review"),
    "set-district-boundary": N_("{actor} set the boundary of the district {target}"),
    "set-identity": N_("{actor} changed the city's name, logo, colours or contact details"),
    "set-site-text": N_("{actor} changed the site text {target}"),
    "submit-proposal": N_("{actor} submitted the proposal {target}"),
    "undo-decision": N_("{actor} undid the decision on the proposal {target}"),
    "undo-paper-voter": N_("{actor} undid the paper vote mark of {target}"),
    "update-cycle": N_("{actor} changed the settings of the cycle {target}"),
    "update-profile": N_("{actor} updated the profile of {target}"),
    "verification-failed": N_("{actor} failed a verification attempt"),
    "verify-resident": N_("{actor} verified {target}"),
    "void-voting-code": N_("{actor} voided the voting code {target}"),
    "withdraw-proposal": N_("{actor} withdrew the proposal {target}"),
    # Ballot designs (issue 20).
    "set-ballot-design": N_("{actor} set the ballot of the cycle {target}"),
    "set-district-ballot-design": N_("{actor} set the ballot of the district {target}"),
}
# An event recorded by a version of pb that had other events, or one this list does not know yet.
UNKNOWN_EVENT = N_("{actor}: {event} {target}")

# Stored amounts in minor units (cents); shown in the cycle's currency.
MONEY_FIELDS = frozenset({"budget", "total_budget", "final_cost", "cost", "spent"})
FIELD_LABELS: dict[str, Message] = {
    "alt_text": N_("Photo description"), "budget": N_("Budget"), "category": N_("Category"), "cost": N_("Cost"),
    "currency": N_("Currency"), "description": N_("Description"), "district": N_("District"),
    "email": N_("Email address"), "final_cost": N_("Final cost"), "is_enabled": N_("Account enabled"),
    "method": N_("Method"), "moderator_note": N_("Moderator's note"), "name": N_("Name"), "phase": N_("Phase"),
    "reason": N_("Reason"), "revision": N_("Revision"), "role": N_("Role"), "rule": N_("Counting rule"),
    "status": N_("Status"), "text": N_("Text"), "title": N_("Title"), "total_budget": N_("Total budget"),
}
YES, NO, NOTHING = N_("yes"), N_("no"), "—"
ACTOR_KINDS = {
    "timetable": N_("the timetable"), "command line": N_("an operator on the command line"), "anonymous": N_("someone"),
}
PAGE_SIZE = 50
MOST_EXPORTED = 100_000


@dataclass(frozen=True)
class Change:
    """One field an event changed, written for people: its label, what it was and what it became."""

    label: str
    before: str
    after: str


@dataclass(frozen=True)
class ReadableEntry:
    """An entry as the audit pages show it: the stored entry, a sentence, and the fields it changed."""

    entry: AuditEntry
    description: Message
    changes: list[Change]


@dataclass(frozen=True)
class AuditFilter:
    """Which entries to show: of one cycle (None: every cycle), one event, a person's name or email, a date range."""

    cycle_id: int | None = None
    action: str = ""
    person: str = ""
    since: date | None = None
    until: date | None = None

    def as_arguments(self) -> dict[str, str]:
        """The filter as query-string arguments (for links that keep it: pages, the CSV download)."""
        values = {"event": self.action, "person": self.person, "since": self.since.isoformat() if self.since else "",
                  "until": self.until.isoformat() if self.until else ""}
        return {name: value for name, value in values.items() if value}


def _day_from(text_given: object) -> date | None:
    try:
        return date.fromisoformat(str(text_given).strip()) if text_given else None
    except ValueError:
        return None


def read_filter(arguments: Mapping[str, str], cycle_id: int | None = None) -> tuple[AuditFilter, list[Message]]:
    """The filter a query string asks for, and what was ignored in it (an unknown event, a date that is no date)."""
    problems: list[Message] = []
    action = str(arguments.get("event", "")).strip()
    if action and action not in EVENTS:
        problems.append(N_("There is no event “{event}”; every event is shown.", event=action[:60]))
        action = ""
    days = {}
    for name in ("since", "until"):
        given = str(arguments.get(name, "")).strip()
        days[name] = _day_from(given[:20])
        if given and days[name] is None:
            problems.append(N_("“{day}” is not a date (write it as 2026-05-31); it is ignored.", day=given[:20]))
    if days["since"] and days["until"] and days["since"] > days["until"]:
        problems.append(N_("The first day is after the last one; the dates are swapped."))
        days["since"], days["until"] = days["until"], days["since"]
    person = " ".join(str(arguments.get("person", "")).split())[:100]
    return AuditFilter(cycle_id, action, person, days["since"], days["until"]), problems


def _filtered(chosen: AuditFilter):
    query = select(AuditEntry).options(joinedload(AuditEntry.actor)).order_by(AuditEntry.id.desc())
    if chosen.cycle_id is not None:
        query = query.where(AuditEntry.cycle_id == chosen.cycle_id)
    if chosen.action:
        query = query.where(AuditEntry.action == chosen.action)
    if chosen.person:
        pattern = f"%{chosen.person.lower()}%"
        query = query.where(AuditEntry.actor_id.in_(select(User.id).where(
            func.lower(User.name).like(pattern) | func.lower(User.email).like(pattern))))
    if chosen.since:
        query = query.where(AuditEntry.at >= datetime.combine(chosen.since, datetime.min.time()))
    if chosen.until:
        query = query.where(AuditEntry.at < datetime.combine(chosen.until + timedelta(days=1), datetime.min.time()))
    return query


def _loaded(entries: Sequence[AuditEntry]) -> dict[str, dict[int, Any]]:
    """The names behind the entries' subjects and their cycles' currencies, each kind read in one query."""
    wanted: dict[str, set[int]] = {}
    for entry in entries:
        kind, _, number = (entry.subject or "").partition(":")
        if number.isdigit():
            wanted.setdefault(kind, set()).add(int(number))
        if entry.cycle_id is not None:
            wanted.setdefault("cycle", set()).add(entry.cycle_id)
    models = {"proposal": Proposal, "project": Proposal, "user": User, "cycle": Cycle, "district": District,
              "category": Category}
    found: dict[str, dict[int, Any]] = {}
    for kind, model in models.items():
        ids = wanted.get(kind)
        found[kind] = {row.id: row for row in db.session.scalars(select(model).where(model.id.in_(ids)))} if ids else {}
    return found


def _stored(text_given: str) -> dict[str, Any]:
    try:
        values = json.loads(text_given) if text_given else {}
    except ValueError:
        return {}
    return values if isinstance(values, dict) else {}


def _value_in_words(name: str, value: Any, currency: str | None) -> str:
    if value is None or value == "":
        return NOTHING
    if isinstance(value, bool):
        return YES if value else NO
    if name in MONEY_FIELDS and isinstance(value, int) and currency:
        return format_amount(value, currency)
    if name == "status" and value in {status.value for status in ProposalStatus}:
        return ProposalStatus(value).label
    if name == "phase" and value in {phase.value for phase in Phase}:
        return Phase(value).label
    if name == "role" and value in {role.value for role in Role}:
        return Role(value).label
    if isinstance(value, list | tuple):
        return ", ".join(str(item) for item in value) or NOTHING
    return str(value)


def _changes(before: dict[str, Any], after: dict[str, Any], currency: str | None) -> list[Change]:
    changes = []
    for name in sorted(before.keys() | after.keys()):
        if before.get(name) != after.get(name):
            changes.append(Change(FIELD_LABELS.get(name, name.replace("_", " ")),
                                  _value_in_words(name, before.get(name), currency),
                                  _value_in_words(name, after.get(name), currency)))
    return changes


def _actor_in_words(entry: AuditEntry, after: dict[str, Any]) -> str:
    if entry.actor is not None:
        return N_("{name} ({role})", name=entry.actor.name, role=entry.actor.role.label.lower())
    if after.get("by") == "timetable":
        return ACTOR_KINDS["timetable"]
    if entry.action in ("register-attempt", "request-password-reset"):
        return ACTOR_KINDS["anonymous"]
    return ACTOR_KINDS["command line"]


def _target_in_words(entry: AuditEntry, loaded: dict[str, dict[int, Any]], before: dict, after: dict) -> str:
    kind, _, number = (entry.subject or "").partition(":")
    thing = loaded.get(kind, {}).get(int(number)) if number.isdigit() else None
    if kind in ("proposal", "project") and thing is not None:
        return f"“{thing.title}”"
    if kind == "user" and thing is not None:
        return thing.name
    if kind in ("cycle", "district", "category") and thing is not None:
        return f"“{thing.name}”"
    name = after.get("name") or before.get("name")  # a district or category removed since
    if isinstance(name, str) and name:
        return f"“{name}”"
    if kind == "paper-sheet" and after.get("polling_station") is not None:
        return f"{after['polling_station']}/{after.get('number', '')}"
    return f"#{number}" if number else entry.subject


def readable(entries: Sequence[AuditEntry]) -> list[ReadableEntry]:
    """The entries in words, with money in each cycle's currency and the fields each one changed."""
    loaded = _loaded(entries)
    shown = []
    for entry in entries:
        before, after = _stored(entry.before), _stored(entry.after)
        cycle = loaded["cycle"].get(entry.cycle_id) if entry.cycle_id is not None else None
        currency = cycle.currency if cycle else None
        params: dict[str, object] = {name: _value_in_words(name, value, currency) for name, value in after.items()}
        params.update(actor=_actor_in_words(entry, after), target=_target_in_words(entry, loaded, before, after),
                      event=entry.action)
        template = EVENTS.get(entry.action, UNKNOWN_EVENT).template
        # An older entry may lack a value its sentence names: the sentence still reads, with a dash.
        params.update({name: NOTHING for _, name, _, _ in string.Formatter().parse(template)
                       if name and name not in params})
        description = Message(template, **params)
        shown.append(ReadableEntry(entry, description, _changes(before, after, currency)))
    return shown


def filtered_page(chosen: AuditFilter, number: int, size: int = PAGE_SIZE) -> Page:
    """One page of the entries the filter picks, newest first, in words (items are ReadableEntry)."""
    page = paginate(_filtered(chosen), number, size)
    return Page(items=readable(page.items), number=page.number, size=page.size, total=page.total)


def event_choices() -> list[tuple[str, Message]]:
    """Every event a filter may pick: its slug and its sentence with the people, things and values left open."""
    choices = []
    for slug, message in sorted(EVENTS.items()):
        names = {name for _, name, _, _ in string.Formatter().parse(message.template) if name}
        choices.append((slug, Message(message.template, **dict.fromkeys(names, "…"))))
    return choices

CSV_COLUMNS = ("sequence", "at_utc", "cycle_id", "event", "actor", "description", "changes", "before", "after")


@use_case
def export_csv(actor: User, chosen: AuditFilter, render: Callable[[object], str] = str) -> str:
    """The filtered entries as CSV (newest first, at most MOST_EXPORTED), the download itself recorded in the log.

    `render` writes a message in the reader's language. Text cells that would start a spreadsheet formula get a
    leading apostrophe; the raw before/after JSON stays as stored, for auditors.
    """
    from pb.services.exports import spreadsheet_cell

    if not actor.is_official:
        raise PermissionDenied("Only officials can download the audit log.")
    entries = list(db.session.scalars(_filtered(chosen).limit(MOST_EXPORTED)))
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(CSV_COLUMNS)
    for shown in readable(entries):
        entry = shown.entry
        changes = "; ".join(f"{render(change.label)}: {render(change.before)} → {render(change.after)}"
                            for change in shown.changes)
        writer.writerow([
            entry.sequence, entry.at.isoformat(timespec="seconds"), entry.cycle_id or "", entry.action,
            spreadsheet_cell(render(_actor_in_words(entry, _stored(entry.after)))),
            spreadsheet_cell(render(shown.description)), spreadsheet_cell(changes),
            spreadsheet_cell(entry.before), spreadsheet_cell(entry.after),
        ])
    record(actor, "export-audit-log", f"cycle:{chosen.cycle_id}" if chosen.cycle_id else "audit-log",
           cycle_id=chosen.cycle_id, after={**chosen.as_arguments(), "entries": len(entries)})
    return "\ufeff" + buffer.getvalue()
