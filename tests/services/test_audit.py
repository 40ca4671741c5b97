"""The audit log: written inside the use case's transaction, append-only, and hash-chained."""

import hashlib
import itertools
import json
import threading

import pytest
from sqlalchemy import func, select, text

from pb.extensions import db
from pb.models import AuditEntry, Role
from pb.services import audit


@pytest.fixture
def entry(make_user, make_cycle):
    official, cycle = make_user(Role.OFFICIAL), make_cycle()
    written = audit.record(official, "test", f"cycle:{cycle.id}", cycle_id=cycle.id, before={"a": 1}, after={"a": 2})
    db.session.commit()
    return written


def test_an_audit_entry_cannot_be_changed(entry):
    entry.after = '{"a": 3}'
    with pytest.raises(RuntimeError, match="append-only"):
        db.session.commit()
    db.session.rollback()
    assert db.session.get(AuditEntry, entry.id).after == '{"a": 2}'


def test_an_audit_entry_cannot_be_deleted(entry):
    db.session.delete(entry)
    with pytest.raises(RuntimeError, match="append-only"):
        db.session.commit()
    db.session.rollback()
    assert db.session.scalar(select(func.count()).select_from(AuditEntry)) == 1


def test_entries_lists_a_cycles_log_newest_first(entry, make_cycle):
    other = make_cycle()
    audit.record(None, "later", f"cycle:{entry.cycle_id}", cycle_id=entry.cycle_id)
    audit.record(None, "elsewhere", f"cycle:{other.id}", cycle_id=other.id)
    db.session.commit()
    assert [e.action for e in audit.entries(entry.cycle_id)] == ["later", "test"]
    assert [e.action for e in audit.entries(entry.cycle_id, limit=1)] == ["later"]


# The hash chain ------------------------------------------------------------------------------------------------


@pytest.fixture
def four_entries(make_user, make_cycle):
    """Four chained entries: two in one transaction, then one each in two more."""
    official, cycle = make_user(Role.OFFICIAL), make_cycle()
    audit.record(official, "create-cycle", f"cycle:{cycle.id}", cycle_id=cycle.id, after={"name": "Ünïcode ✓"})
    audit.record(official, "add-district", "district:1", cycle_id=cycle.id, after={"budget": 100})
    db.session.commit()
    audit.record(official, "advance-phase", f"cycle:{cycle.id}", cycle_id=cycle.id,
                 before={"phase": "draft"}, after={"phase": "proposals"})
    db.session.commit()
    audit.record(None, "register", "user:9", after={"email": "a@b.org"})
    db.session.commit()
    return list(db.session.scalars(select(AuditEntry).order_by(AuditEntry.sequence)))


def _tamper(sql: str) -> None:
    # Raw SQL, as someone with database access would do it: the ORM's append-only guard never sees it.
    db.session.execute(text(sql))
    db.session.commit()
    db.session.expire_all()


def test_each_entry_carries_the_hash_of_the_one_before(four_entries):
    assert [e.sequence for e in four_entries] == [1, 2, 3, 4]
    assert four_entries[0].previous_hash == "0" * 64
    for earlier, later in itertools.pairwise(four_entries):
        assert later.previous_hash == earlier.entry_hash
    hashes = [e.entry_hash for e in four_entries]
    assert len(set(hashes)) == 4 and all(len(h) == 64 and int(h, 16) >= 0 for h in hashes)


def test_the_hash_can_be_recomputed_from_the_documented_form(four_entries):
    # Written from the module docstring alone, reading the table without the model.
    previous = "0" * 64
    rows = db.session.execute(select(AuditEntry.__table__).order_by(AuditEntry.__table__.c.sequence)).all()
    for row in rows:
        fields = [row.sequence, row.at.isoformat(timespec="microseconds"), row.actor_id, row.cycle_id,
                  row.action, row.subject, row.before, row.after, row.previous_hash]
        serialised = json.dumps(fields, ensure_ascii=False, separators=(",", ":"))
        assert row.previous_hash == previous
        assert hashlib.sha256(serialised.encode("utf-8")).hexdigest() == row.entry_hash
        previous = row.entry_hash
    assert len(rows) == 4 and '"Ünïcode ✓"' in rows[0].after


def test_verify_passes_on_an_untouched_log(four_entries):
    check = audit.verify_chain()
    assert check.is_intact and check.problems == []
    assert check.entry_count == 4 and check.last_hash == four_entries[-1].entry_hash


def test_verify_passes_on_an_empty_log(app):
    check = audit.verify_chain()
    assert check.is_intact and check.entry_count == 0 and check.last_hash == "0" * 64


def _label(entry: AuditEntry) -> str:
    return f"{entry.action} {entry.subject} at {entry.at:%Y-%m-%d %H:%M:%S} UTC"


def test_a_changed_after_is_named_as_altered(four_entries):
    second = four_entries[1]
    _tamper("UPDATE audit_entries SET after = '{\"budget\": 1}' WHERE sequence = 2")
    assert audit.verify_chain().problems == [
        f"Entry 2 ({_label(second)}) was altered: its hash does not match its contents."
    ]


def test_a_deleted_middle_entry_is_named_as_missing(four_entries):
    _tamper("DELETE FROM audit_entries WHERE sequence = 2")
    check = audit.verify_chain()
    assert check.problems == ["Entry 2 is missing: sequence jumps from 1 to 3."]
    assert check.entry_count == 3


def test_several_deleted_entries_are_named_as_a_range(four_entries):
    _tamper("DELETE FROM audit_entries WHERE sequence IN (1, 2)")
    assert audit.verify_chain().problems == ["Entries 1 to 2 are missing: the log starts at entry 3."]


def test_a_changed_previous_hash_is_named(four_entries):
    third = four_entries[2]
    _tamper(f"UPDATE audit_entries SET previous_hash = '{'f' * 64}' WHERE sequence = 3")
    assert audit.verify_chain().problems == [
        f"Entry 3 ({_label(third)}) was altered: its hash does not match its contents.",
        (
            f"Entry 3 does not follow entry 2: its previous hash is {'f' * 16}…, "
            f"but entry 2's hash is {four_entries[1].entry_hash[:16]}…."
        ),
    ]


def test_a_rehashed_forgery_still_breaks_the_link_to_the_next_entry(four_entries):
    second = four_entries[1]
    original_hash, forged_after = second.entry_hash, '{"budget": 1}'
    forged_hash = audit.entry_hash(second.sequence, second.at, second.actor_id, second.cycle_id, second.action,
                                   second.subject, second.before, forged_after, second.previous_hash)
    _tamper(f"UPDATE audit_entries SET after = '{forged_after}', entry_hash = '{forged_hash}' WHERE sequence = 2")
    assert audit.verify_chain().problems == [
        (
            f"Entry 3 does not follow entry 2: its previous hash is {original_hash[:16]}…, "
            f"but entry 2's hash is {forged_hash[:16]}…."
        ),
    ]


def test_a_changed_first_previous_hash_is_named(four_entries):
    _tamper(f"UPDATE audit_entries SET previous_hash = '{'1' * 64}' WHERE sequence = 1")
    problems = audit.verify_chain().problems
    assert problems[0].startswith("Entry 1 (create-cycle ") and problems[0].endswith("was altered: its hash does not match its contents.")
    assert problems[1] == f"Entry 1 does not start the chain: its previous hash is {'1' * 16}…, not 64 zeros."


def test_the_orm_refuses_to_change_the_chain_columns(four_entries):
    four_entries[0].entry_hash = "0" * 64
    with pytest.raises(RuntimeError, match="append-only"):
        db.session.commit()
    db.session.rollback()
    assert audit.verify_chain().is_intact


def test_simultaneous_appends_never_fork_the_chain(app):
    """Many transactions append at once, two entries each; every append lands and the chain stays one line."""
    writers, rounds = 6, 5
    barrier, failures = threading.Barrier(writers), []

    def append(writer: int) -> None:
        try:
            with app.app_context():
                for round_number in range(rounds):
                    barrier.wait(timeout=30)
                    audit.record(None, "first", f"writer:{writer}", after={"round": round_number})
                    audit.record(None, "second", f"writer:{writer}", after={"round": round_number})
                    db.session.commit()
        except Exception as error:  # noqa: BLE001  (reported by the assertion below)
            failures.append(repr(error))
            barrier.abort()

    threads = [threading.Thread(target=append, args=(writer,)) for writer in range(writers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert failures == []
    check = audit.verify_chain()
    assert check.problems == [] and check.entry_count == writers * rounds * 2
    # Each transaction's two entries sit next to each other: the lock is held until the transaction ends.
    entries = list(db.session.scalars(select(AuditEntry).order_by(AuditEntry.sequence)))
    assert all(first.subject == second.subject for first, second in zip(entries[::2], entries[1::2]))
