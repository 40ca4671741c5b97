"""The moderators' daily digest: one email a day to each moderator and official, listing the proposals waiting.

The worker runs `daily_job` every round; from MODERATION_DIGEST_HOUR (UTC) on, the first round of the day sends
the digest. "Sent today" is a row in `job_runs` with a unique (job, day) key, inserted in the same transaction as
the messages: when several workers try at the same moment, one insert wins and the others fail on the key and send
nothing (on PostgreSQL the losers wait for the winner's commit, then fail; if the winner rolls back, one of them
sends instead). The day is recorded even when nothing waits, so the digest is looked at once a day, not every round.
"""

from dataclasses import dataclass
from datetime import date, datetime

from flask import current_app
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from pb.domain import cycle as cycle_rules
from pb.domain import notifications
from pb.extensions import db
from pb.models import Cycle, JobRun, Proposal, ProposalStatus, Role, User
from pb.services import mail, use_case

JOB = "moderation-digest"


@dataclass(frozen=True)
class WaitingCycle:
    """A cycle in review with proposals waiting for a moderator's decision."""

    cycle: Cycle
    waiting: int
    oldest: datetime  # when the proposal that has waited longest was submitted


def waiting_cycles() -> list[WaitingCycle]:
    """The cycles a moderator can act in now (review) with submitted proposals waiting for a decision, oldest first.

    Proposals sent back for changes wait for their authors, not for a moderator, so they are not counted.
    """
    reviewable = [phase for phase in cycle_rules.Phase if cycle_rules.is_allowed("moderate", phase)]
    rows = db.session.execute(
        select(Cycle, func.count(Proposal.id), func.min(Proposal.created_at))
        .join(Proposal, Proposal.cycle_id == Cycle.id)
        .where(Cycle.phase.in_(reviewable), Proposal.status == ProposalStatus.SUBMITTED)
        .group_by(Cycle.id)
        .order_by(func.min(Proposal.created_at), Cycle.id)
    ).all()
    return [WaitingCycle(cycle, waiting, oldest) for cycle, waiting, oldest in rows]


def _moderators() -> list[User]:
    return list(db.session.scalars(
        select(User).where(User.role.in_((Role.MODERATOR, Role.OFFICIAL)), User.is_enabled.is_(True),
                           User.deleted_at.is_(None))
        .order_by(User.id)
    ))


def has_run(day: date) -> bool:
    return db.session.scalar(select(JobRun.id).where(JobRun.job == JOB, JobRun.day == day)) is not None


def _claim_day(day: date, now: datetime) -> bool:
    """Record that the job runs for `day`; False if another worker already did (or is doing) it.

    SQLite: the use case holds the write lock from its start, so the check below sees any other worker's row.
    PostgreSQL: a worker that checked at the same moment as another waits on the unique key for the other's commit,
    then fails; the insert runs in a savepoint so that the failure leaves this transaction usable.
    """
    if has_run(day):
        return False
    run = JobRun(job=JOB, day=day, ran_at=now)
    if db.session.connection().dialect.name != "postgresql":
        db.session.add(run)
        db.session.flush()
        return True
    try:
        with db.session.begin_nested():
            db.session.add(run)
    except IntegrityError:
        return False
    return True


@use_case
def send_digest(now: datetime) -> int | None:
    """Send today's digest unless it was sent already; the number of messages written (None: it was not our turn)."""
    if not _claim_day(now.date(), now):
        return None
    cycles = waiting_cycles()
    if not cycles:
        return 0
    written = 0
    for moderator in _moderators():
        written += mail.notify(moderator, notifications.MODERATION_DIGEST, "moderation_digest", cycles=cycles,
                               day=now.date()) is not None
    return written


def daily_job(now: datetime) -> str:
    """The worker's step: the digest once a day, from the configured hour (UTC); a line for the log."""
    if now.hour < int(current_app.config["MODERATION_DIGEST_HOUR"]) or has_run(now.date()):
        return ""  # the read above keeps the other rounds of the day from taking SQLite's write lock
    written = send_digest(now)
    return f"moderation digest: {written} message(s) written" if written else ""
