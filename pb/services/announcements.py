"""What residents and authors hear by email as a cycle moves on: voting opens, a reminder before it closes, results.

Each is written to the outbox inside the transaction that causes it (the phase change, or the reminder's own use
case), so it goes out if and only if the change is kept. Residents hear about the cycle they are verified in (one
district per cycle); people who turned a kind off, deleted accounts and unconfirmed addresses are skipped by
`mail.notify`.
"""

from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import select
from sqlalchemy.orm import joinedload

from pb.domain import notifications, timetable
from pb.domain.cycle import Phase
from pb.extensions import db
from pb.models import Cycle, Participation, Proposal, ProposalStatus, ProjectResult, SealedBallot, TallyRun, User, \
    Verification, utcnow
from pb.services import following, load, mail, use_case, voting


def _verifications(cycle: Cycle) -> list[Verification]:
    return list(db.session.scalars(
        select(Verification).where(Verification.cycle_id == cycle.id)
        .options(joinedload(Verification.user), joinedload(Verification.district)).order_by(Verification.id)
    ))


def _close(cycle: Cycle):
    return timetable.shown(cycle.voting_close_at, cycle.timezone) if cycle.voting_close_at else None


def voting_opened(cycle: Cycle) -> int:
    """Tell every resident verified in the cycle that voting is open in their district; how many were written."""
    written = 0
    for verification in _verifications(cycle):
        written += mail.notify(verification.user, notifications.VOTING_OPENS, "voting_opens", cycle=cycle,
                               district=verification.district, closes=_close(cycle)) is not None
    return written


def results_published(cycle: Cycle) -> int:
    """Tell verified residents the results are public, and each author of a project on the ballot whether it was funded."""
    written = 0
    for verification in _verifications(cycle):
        written += mail.notify(verification.user, notifications.RESULTS, "results_published", cycle=cycle,
                               district=verification.district) is not None
    funded = dict(db.session.execute(
        select(ProjectResult.project_id, ProjectResult.is_funded)
        .join(TallyRun, ProjectResult.tally_run_id == TallyRun.id).where(TallyRun.cycle_id == cycle.id)
    ).all())
    projects = db.session.scalars(
        select(Proposal).where(Proposal.cycle_id == cycle.id, Proposal.status == ProposalStatus.ACCEPTED)
        .options(joinedload(Proposal.author)).order_by(Proposal.id)
    )
    for project in projects:
        if project.author is None:
            continue
        written += mail.notify(project.author, notifications.PROPOSALS, "proposal_funded", cycle=cycle,
                               project=project, is_funded=bool(funded.get(project.id))) is not None
        written += following.decision_made(project, "funded" if funded.get(project.id) else "not_funded")
    return written


# -- The reminder before voting closes (a worker job). -------------------------------------------------------------


def reminder_hours() -> float:
    return float(current_app.config.get("VOTING_REMINDER_HOURS", 48))


def remind_due(now: datetime | None = None) -> list[str]:
    """Send the reminder for every cycle whose voting closes within VOTING_REMINDER_HOURS and has not had it."""
    now = now or utcnow()
    window = now + timedelta(hours=reminder_hours())
    due = db.session.scalars(
        select(Cycle.id).where(
            Cycle.phase == Phase.VOTING, Cycle.voting_reminder_sent_at.is_(None),
            Cycle.voting_close_at.is_not(None), Cycle.voting_close_at > now, Cycle.voting_close_at <= window,
        ).order_by(Cycle.id)
    ).all()
    db.session.rollback()  # end the read before each cycle's own transaction
    lines = []
    for cycle_id in due:
        count = remind(cycle_id, now)
        if count is not None:
            lines.append(f"cycle {cycle_id}: voting reminder to {count} residents who have not voted")
    return lines


@use_case
def remind(cycle_id: int, now: datetime | None = None) -> int | None:
    """Remind the verified residents of one cycle who have not voted (online or on paper), once; None if it was sent."""
    now = now or utcnow()
    cycle = load(Cycle, cycle_id, "cycle", for_update=True)
    if cycle.voting_reminder_sent_at is not None or cycle.phase is not Phase.VOTING:
        return None  # another worker was first, or voting has closed meanwhile
    if cycle.voting_close_at is None or cycle.voting_close_at <= now:
        return None
    sealed = set(db.session.scalars(select(SealedBallot.token).where(SealedBallot.cycle_id == cycle.id)))
    on_paper = {(user_id, district_id) for user_id, district_id in db.session.execute(
        select(Participation.user_id, Participation.district_id).where(Participation.cycle_id == cycle.id)
    )}
    written = 0
    for verification in _verifications(cycle):
        user: User = verification.user
        if (user.id, verification.district_id) in on_paper:
            continue
        if voting.ballot_token(user.id, cycle.id, verification.district_id) in sealed:
            continue
        written += mail.notify(user, notifications.VOTING_REMINDER, "voting_reminder", cycle=cycle,
                               district=verification.district, closes=_close(cycle)) is not None
    cycle.voting_reminder_sent_at = now
    return written
