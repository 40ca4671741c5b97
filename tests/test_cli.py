"""The `flask pb` commands: thin wrappers that print plain words and fail with a clear message."""

import json
import sqlite3
from datetime import timedelta

import pytest
from sqlalchemy import func, select, text

from pb.domain.cycle import Phase
from pb.extensions import db
from pb.models import AuditEntry, Cycle, Proposal, Role, User, utcnow
from pb.services import audit, demo


def _counts() -> dict[str, int]:
    return {
        table.name: db.session.scalar(select(func.count()).select_from(table))
        for table in db.metadata.sorted_tables
    }


def test_init_db_creates_the_tables_and_keeps_data(runner, make_user):
    user = make_user()
    result = runner.invoke(args=["pb", "init-db"])
    assert result.exit_code == 0 and "The database is ready." in result.output
    assert db.session.get(User, user.id) is not None


def test_demo_loads_once_and_prints_the_accounts(runner):
    first = runner.invoke(args=["pb", "demo"])
    assert first.exit_code == 0, first.output
    assert "Demo cycles loaded." in first.output
    for email in ("official@example.org", "official2@example.org", "moderator@example.org", "resident@example.org",
                  "resident12@example.org"):
        assert email in first.output
    assert "demo-password" in first.output
    counts = _counts()
    assert counts["cycles"] == 5 and counts["users"] == 15 and counts["ballots"] > 0
    second = runner.invoke(args=["pb", "demo"])
    assert second.exit_code == 0 and "nothing changed" in second.output
    assert _counts() == counts


def test_demo_refuses_in_production_and_creates_no_account(tmp_path):
    from pb import create_app
    from tests.test_config import SAFE

    database = tmp_path / "pb.sqlite3"
    app = create_app({**SAFE, "DATABASE_URL": f"sqlite:///{database}"})
    result = app.test_cli_runner().invoke(args=["pb", "demo"])
    assert result.exit_code != 0
    assert "pb will not load the demo with PB_ENV=production" in result.output
    assert "Nothing was changed" in result.output and "create-user" in result.output
    assert not database.exists() or ("users",) not in sqlite3.connect(database).execute(
        "SELECT name FROM sqlite_master").fetchall()


def test_demo_leaves_its_cycles_published_or_open_for_voting(runner):
    runner.invoke(args=["pb", "demo"])
    phases = {c.name: c.phase for c in db.session.scalars(select(Cycle))}
    past_name, open_name = demo.cycle_names()  # named by the year the demo is loaded in
    names = demo.design_cycle_names()
    assert phases == {past_name: Phase.RESULTS, open_name: Phase.VOTING, names["approval"]: Phase.RESULTS,
                      names["ranking"]: Phase.RESULTS, names["cumulative"]: Phase.VOTING}
    assert db.session.scalar(select(func.count()).select_from(Proposal)) == 21 + 3 * 9


def test_create_user_with_a_role(runner):
    result = runner.invoke(
        args=["pb", "create-user", "--email", "Ana@City.example", "--name", "Ana", "--role", "official"],
        input="a-good-password\na-good-password\n",
    )
    assert result.exit_code == 0, result.output
    user = db.session.scalar(select(User))
    assert user.email == "ana@city.example" and user.role.value == "official"
    entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "create-user"))
    assert (entry.actor_id, json.loads(entry.after)) == (
        None, {"email": "ana@city.example", "role": "official", "via": "command line"})


def test_create_user_refuses_a_duplicate_with_a_message(runner, make_user):
    user = make_user()
    result = runner.invoke(
        args=["pb", "create-user", "--email", user.email, "--name", "Twin"], input="a-good-password\na-good-password\n"
    )
    assert result.exit_code == 1
    assert "already exists" in result.output
    assert db.session.scalar(select(func.count()).select_from(User)) == 1


def test_create_user_refuses_an_unknown_role(runner):
    result = runner.invoke(args=["pb", "create-user", "--email", "a@b.org", "--name", "A", "--role", "king"],
                           input="a-good-password\na-good-password\n")
    assert result.exit_code == 2
    assert db.session.scalar(select(func.count()).select_from(User)) == 0


def test_advance_phase_moves_a_cycle_on(runner, make_cycle):
    cycle = make_cycle(Phase.DRAFT)
    result = runner.invoke(args=["pb", "advance-phase", str(cycle.id), "--expect-phase", "draft"])
    assert result.exit_code == 0 and "proposals" in result.output
    db.session.refresh(cycle)
    assert cycle.phase is Phase.PROPOSALS


def test_advance_phase_lists_the_blockers(runner, make_cycle):
    cycle = make_cycle(Phase.PROPOSALS)
    result = runner.invoke(args=["pb", "advance-phase", str(cycle.id), "--expect-phase", "proposals"])
    assert result.exit_code == 1
    assert "No proposal has been submitted yet." in result.output
    db.session.refresh(cycle)
    assert cycle.phase is Phase.PROPOSALS


def test_advance_phase_of_an_unknown_cycle(runner):
    for args in ([], ["--expect-phase", "draft"]):
        result = runner.invoke(args=["pb", "advance-phase", "999", *args])
        assert result.exit_code == 1 and "There is no such cycle." in result.output


def test_advance_phase_needs_the_phase_it_expects_and_run_twice_moves_once(runner, make_cycle):
    """Issue 16's double submit, from the command line: a repeated command must not move the cycle on twice."""
    cycle = make_cycle(Phase.DRAFT)
    result = runner.invoke(args=["pb", "advance-phase", str(cycle.id)])
    assert result.exit_code == 1
    assert "--expect-phase (it is now in: draft)" in result.output
    assert db.session.scalar(select(Cycle.phase).where(Cycle.id == cycle.id)) is Phase.DRAFT
    command = ["pb", "advance-phase", str(cycle.id), "--expect-phase", "draft"]
    assert runner.invoke(args=command).exit_code == 0
    again = runner.invoke(args=command)
    assert again.exit_code == 1 and "Nothing was changed: the cycle is no longer “being prepared”" in again.output
    assert db.session.scalar(select(Cycle.phase).where(Cycle.id == cycle.id)) is Phase.PROPOSALS
    assert runner.invoke(args=[*command[:3], "--expect-phase", "counting"]).exit_code == 2  # not a phase


def test_advance_phase_off_the_timetable_needs_a_reason(runner, make_cycle, make_project):
    cycle = make_cycle(Phase.VOTING, voting_close_at=utcnow() + timedelta(days=3))
    for district in cycle.districts:
        make_project(cycle, district)
    command = ["pb", "advance-phase", str(cycle.id), "--expect-phase", "voting"]
    result = runner.invoke(args=command)
    assert result.exit_code == 1
    assert "3 days before the date published for this step" in result.output and "--reason" in result.output
    assert db.session.scalar(select(Cycle.phase).where(Cycle.id == cycle.id)) is Phase.VOTING
    result = runner.invoke(args=[*command, "--reason", "The count hall is booked."])
    assert result.exit_code == 0 and "tallying" in result.output
    entry = db.session.scalars(select(AuditEntry).where(AuditEntry.action == "advance-phase")).one()
    assert entry.actor_id is None and json.loads(entry.after)["reason"] == "The count hall is booked."


def test_list_cycles(runner, make_cycle):
    cycle = make_cycle(Phase.VOTING, name="Springfield 2027")
    result = runner.invoke(args=["pb", "list-cycles"])
    assert f"{cycle.id}" in result.output and "voting" in result.output and "Springfield 2027" in result.output


def _three_audit_entries(cycle: Cycle) -> list[AuditEntry]:
    for action in ("create-cycle", "add-district", "advance-phase"):
        audit.record(None, action, f"cycle:{cycle.id}", cycle_id=cycle.id, after={"step": action})
        db.session.commit()
    return list(db.session.scalars(select(AuditEntry).order_by(AuditEntry.sequence)))


def test_audit_verify_reports_an_intact_log(runner, make_cycle):
    entries = _three_audit_entries(make_cycle())
    result = runner.invoke(args=["pb", "audit-verify"])
    assert result.exit_code == 0, result.output
    assert result.output == f"The audit log is intact: 3 entries, last hash {entries[-1].entry_hash}.\n"


def test_audit_verify_expect_confirms_a_head_still_in_the_chain(runner, make_cycle):
    entries = _three_audit_entries(make_cycle())
    result = runner.invoke(args=["pb", "audit-verify", "--expect", entries[1].entry_hash,
                                 "--expect", entries[2].entry_hash[:16].upper()])
    assert result.exit_code == 0, result.output
    assert (f"Expected head {entries[1].entry_hash[:16]}… is entry 2 (add-district cycle:{entries[1].cycle_id} at "
            f"{entries[1].at:%Y-%m-%d %H:%M:%S} UTC); the chain goes on correctly from it through 1 later entries."
            ) in result.output
    assert "is entry 3 (advance-phase" in result.output and "through 0 later entries" in result.output


def test_audit_verify_expect_fails_once_the_entries_from_that_head_are_cut_off(runner, make_cycle):
    noted = _three_audit_entries(make_cycle())[2].entry_hash
    db.session.execute(text("DELETE FROM audit_entries WHERE sequence >= 2"))
    db.session.commit()
    assert runner.invoke(args=["pb", "audit-verify"]).exit_code == 0  # cut at the end: the chain alone cannot tell
    result = runner.invoke(args=["pb", "audit-verify", "--expect", noted])
    assert result.exit_code == 1
    assert (f"Error: The audit log is broken. The expected head {noted[:16]}… is not in the log: "
            "entries up to or after it were removed (the log was cut short)") in result.output


def test_audit_verify_expect_refuses_something_that_is_not_a_head(runner):
    result = runner.invoke(args=["pb", "audit-verify", "--expect", "not-a-hash"])
    assert result.exit_code == 1 and "“not-a-hash” is not an audit log head" in result.output


def test_audit_seal_appends_a_keyed_entry_and_prints_the_head(runner, make_cycle):
    _three_audit_entries(make_cycle())
    result = runner.invoke(args=["pb", "audit-seal"])
    sealed = db.session.scalars(select(AuditEntry).order_by(AuditEntry.sequence.desc())).first()
    assert result.exit_code == 0 and sealed.sequence == 4 and sealed.action == "seal-audit-log"
    assert result.output == f"Added audit entry 4; the log's head is now {sealed.entry_hash}.\n"
    assert runner.invoke(args=["pb", "audit-verify", "--expect", sealed.entry_hash]).exit_code == 0


def test_audit_verify_on_an_empty_log(runner):
    result = runner.invoke(args=["pb", "audit-verify"])
    assert result.exit_code == 0 and "The audit log is empty" in result.output


def test_audit_verify_names_the_first_altered_entry(runner, make_cycle):
    entries = _three_audit_entries(make_cycle())
    db.session.execute(text("UPDATE audit_entries SET after = '{}' WHERE sequence IN (2, 3)"))
    db.session.commit()
    result = runner.invoke(args=["pb", "audit-verify"])
    assert result.exit_code == 1
    second = entries[1]
    assert (
        f"Error: The audit log is broken. Entry 2 (add-district cycle:{second.cycle_id} "
        f"at {second.at:%Y-%m-%d %H:%M:%S} UTC) was altered: its hash does not match its contents.\n"
    ) in result.output
    assert "Further problems after it:\n  Entry 3 (advance-phase" in result.output


def test_audit_verify_names_a_deleted_entry(runner, make_cycle):
    _three_audit_entries(make_cycle())
    db.session.execute(text("DELETE FROM audit_entries WHERE sequence = 2"))
    db.session.commit()
    result = runner.invoke(args=["pb", "audit-verify"])
    assert result.exit_code == 1
    assert "Error: The audit log is broken. Entry 2 is missing: sequence jumps from 1 to 3." in result.output


def test_backup_and_restore_round_trip_a_cycle(runner, engine_name, tmp_path, make_cycle, make_user):
    if engine_name != "sqlite":
        result = runner.invoke(args=["pb", "backup", str(tmp_path / "pb.backup")])
        assert result.exit_code == 1 and "pg_dump --format=custom" in result.output and "pg_restore" in result.output
        return
    official = make_user(Role.OFFICIAL)
    cycle = make_cycle(name="Riverside 2030")
    audit.record(official, "create-cycle", f"cycle:{cycle.id}", cycle_id=cycle.id)
    db.session.commit()
    saved = _counts()
    target = tmp_path / "pb.backup"
    result = runner.invoke(args=["pb", "backup", str(target)])
    assert result.exit_code == 0 and f"Backed up the database to {target}" in result.output
    again = runner.invoke(args=["pb", "backup", str(target)])
    assert again.exit_code == 1 and "already exists" in again.output

    # After the backup: the cycle is renamed, another is added and the log grows.
    db.session.get(Cycle, cycle.id).name = "Changed"
    make_cycle(name="Made after the backup")
    db.session.commit()
    assert _counts() != saved

    refused = runner.invoke(args=["pb", "restore", str(target)])
    assert refused.exit_code == 1 and "--yes" in refused.output and _counts() != saved
    result = runner.invoke(args=["pb", "restore", str(target), "--yes"])
    assert result.exit_code == 0, result.output
    assert "The audit log in it is intact (1 entries)" in result.output
    assert _counts() == saved
    assert [c.name for c in db.session.scalars(select(Cycle))] == ["Riverside 2030"]


def test_restore_refuses_a_file_that_is_not_a_backup_and_changes_nothing(runner, engine_name, tmp_path, make_cycle):
    if engine_name != "sqlite":
        pytest.skip("restore is for the embedded SQLite database; PostgreSQL uses pg_restore")
    make_cycle()
    saved = _counts()
    not_sqlite = tmp_path / "notes.txt"
    not_sqlite.write_text("hello")
    other = tmp_path / "other.sqlite3"
    sqlite3.connect(other).execute("CREATE TABLE unrelated (id INTEGER)").connection.commit()
    for path, message in [(tmp_path / "missing.backup", "There is no backup file"),
                          (not_sqlite, "is not a pb backup (not an SQLite database)"),
                          (other, "is not a pb backup (its tables are missing)")]:
        result = runner.invoke(args=["pb", "restore", str(path), "--yes"])
        assert result.exit_code == 1 and message in result.output, result.output
        assert _counts() == saved
