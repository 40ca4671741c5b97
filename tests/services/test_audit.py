"""The audit log: written inside the use case's transaction, and append-only."""

import pytest
from sqlalchemy import func, select

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
