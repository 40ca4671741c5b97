"""Keeping the published timetable: the worker moves each cycle on at its moment, or tells the officials why it can't.

Every move goes through the officials' own path (`cycles.move_on`: the transition table, its blockers, the audit
log), with no user as actor: the audit entry says "timetable". A move at the published moment needs no reason. When
blockers hold a cycle back, a notice is kept (shown on the administration pages) and every official is emailed once;
the next round after the blockers clear moves the cycle on, late, with a reason saying so, and closes the notice.
"""

import json
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import and_, or_, select

from pb.domain import schedule, timetable
from pb.domain.cycle import Phase
from pb.domain.errors import DomainError
from pb.domain.messages import from_data, to_data
from pb.extensions import db
from pb.models import Cycle, ScheduleNotice, utcnow
from pb.services import alerts, cycles, load, use_case


def _due_cycle_ids(now: datetime) -> list[int]:
    due = or_(*(and_(Cycle.phase == phase, Cycle.has_supports_phase.is_(has_supports),
                     getattr(Cycle, timetable.step(phase, has_supports).moment_field) <= now)
                for phase in sorted(schedule.SCHEDULED, key=list(Phase).index) for has_supports in (False, True)))
    return list(db.session.scalars(select(Cycle.id).where(due).order_by(Cycle.id)))


def run_due(now: datetime | None = None) -> list[str]:
    """Move on every cycle whose published moment has come, each in its own transaction; what happened, for the log."""
    now = now or utcnow()
    ids = _due_cycle_ids(now)
    db.session.rollback()  # end the read: each cycle is moved in a use case of its own
    lines = []
    for cycle_id in ids:
        try:
            line = keep_timetable(cycle_id, now)
        except DomainError as error:  # a refusal the blockers did not foresee: say it, and try again next round
            line = f"cycle {cycle_id}: not moved: {error.message}"
        if line:
            lines.append(line)
    return lines


@use_case
def keep_timetable(cycle_id: int, now: datetime | None = None) -> str:
    """Move one cycle on if its moment has come and nothing blocks it; otherwise keep (or open) its notice."""
    now = now or utcnow()
    cycle = load(Cycle, cycle_id, "cycle", for_update=True)
    moments = cycles.moments_of(cycle)
    if not schedule.is_due(cycle.phase, moments, now, cycle.has_supports_phase):
        return ""  # moved meanwhile (by an official, or another worker)
    before, due_at = cycle.phase, schedule.due_moment(cycle.phase, moments, cycle.has_supports_phase)
    blockers = cycles.blockers(cycle)
    notice = open_notice(cycle)
    if blockers:
        _hold(cycle, notice, due_at, blockers, now)
        return f"cycle {cycle.id}: cannot leave {before.value} on time: {' '.join(blockers)}"
    reason = _late_reason(cycle, notice, due_at, now)[:timetable.MAX_REASON_LENGTH]
    after = cycles.move_on(cycle, None, reason, now=now, by_timetable=True)
    return f"cycle {cycle.id}: {before.value} -> {after.value} by the timetable" + (" (late)" if reason else "")


def _late_reason(cycle: Cycle, notice: ScheduleNotice | None, due_at: datetime, now: datetime) -> str:
    """The reason kept with a move the timetable makes late (blocked, or no worker ran); empty when on time."""
    due = str(timetable.shown(due_at, cycle.timezone))
    if notice is not None:
        return (f"Moved on by the timetable late: it was due at {due}, and could not move until now because: "
                f"{' '.join(str(from_data(item)) for item in json.loads(notice.blockers))}")
    if timetable.departure(cycle.phase, cycles.moments_of(cycle), now, cycle.timezone,
                           cycle.has_supports_phase) is not None:
        return f"Moved on by the timetable late: it was due at {due}, and the worker did not run until now."
    return ""


def _hold(cycle: Cycle, notice: ScheduleNotice | None, due_at: datetime, blockers: list[str], now: datetime) -> None:
    stored = json.dumps([to_data(reason) for reason in blockers], ensure_ascii=False)
    if notice is not None:
        notice.blockers, notice.last_seen_at = stored, now
        return
    db.session.add(ScheduleNotice(cycle_id=cycle.id, phase=cycle.phase, due_at=due_at, blockers=stored,
                                  first_seen_at=now, last_seen_at=now))
    alerts.tell_officials("timetable_blocked", cycle=cycle, step=timetable.step(cycle.phase, cycle.has_supports_phase),
                          due=timetable.shown(due_at, cycle.timezone), blockers=blockers)


def open_notice(cycle: Cycle) -> ScheduleNotice | None:
    """The cycle's notice for the phase it is in, while it is open."""
    return db.session.scalar(select(ScheduleNotice).where(
        ScheduleNotice.cycle_id == cycle.id, ScheduleNotice.phase == cycle.phase, ScheduleNotice.resolved_at.is_(None),
    ))


# -- What the administration pages show. -------------------------------------------------------------------------


@dataclass(frozen=True)
class Notice:
    """An open notice as a page shows it."""

    cycle_id: int
    cycle_name: str
    action: str
    due: object  # a Figure: the published moment, in the cycle's zone
    blockers: list
    first_seen_at: datetime


def _shown(notice: ScheduleNotice) -> Notice:
    cycle = notice.cycle
    return Notice(cycle.id, cycle.name, timetable.step(notice.phase, cycle.has_supports_phase).action,
                  timetable.shown(notice.due_at, cycle.timezone),
                  [from_data(item) for item in json.loads(notice.blockers or "[]")], notice.first_seen_at)


def open_notices(cycle_id: int | None = None) -> list[Notice]:
    """Every open notice (or one cycle's), oldest first."""
    query = select(ScheduleNotice).where(ScheduleNotice.resolved_at.is_(None)).order_by(ScheduleNotice.id)
    if cycle_id is not None:
        query = query.where(ScheduleNotice.cycle_id == cycle_id)
    return [_shown(notice) for notice in db.session.scalars(query)]

