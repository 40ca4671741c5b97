"""Four-eyes publication: two different officials approve the same stored count before its results go public."""

import hashlib
import json

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from pb.domain import cycle as cycle_rules
from pb.domain.cycle import REQUIRED_APPROVALS
from pb.domain.errors import ConflictError, PermissionDenied
from pb.extensions import db
from pb.models import Cycle, ResultApproval, TallyRun, User
from pb.domain.messages import N_
from pb.services import alerts, audit, load, reconciliation, roles, use_case


def count_digest(cycle: Cycle) -> str | None:
    """SHA-256 of the stored count of every district (None until every district is counted).

    It covers each district's run (when and by which rule it was made, the spending) and every project's votes and
    funding, so counting again, whatever the outcome, gives a new digest that no one has approved yet.
    """
    runs = {run.district_id: run for run in db.session.scalars(select(TallyRun).where(TallyRun.cycle_id == cycle.id))}
    if not cycle.districts or any(district.id not in runs for district in cycle.districts):
        return None
    canonical = [
        [run.district_id, run.id, run.created_at.isoformat(timespec="microseconds"), run.rule, run.tie_break,
         run.parameters, run.budget, run.spent, run.ballot_count,
         [[result.project_id, result.votes, result.is_funded] for result in run.results]]
        for run in sorted(runs.values(), key=lambda run: run.district_id)
    ]
    return hashlib.sha256(json.dumps(canonical, separators=(",", ":")).encode()).hexdigest()


def approvals(cycle: Cycle) -> list[ResultApproval]:
    """The approvals of the count as it is stored now, oldest first."""
    digest = count_digest(cycle)
    if digest is None:
        return []
    return list(db.session.scalars(
        select(ResultApproval).where(ResultApproval.cycle_id == cycle.id, ResultApproval.count_digest == digest)
        .order_by(ResultApproval.approved_at, ResultApproval.id)
    ))


@use_case
def approve_results(actor: User, cycle_id: int, seen_digest: str | None = None) -> ResultApproval:
    """An official approves the stored count for publication; a second, independent official must approve it too.

    `seen_digest` is the count the official was shown: if it was counted again meanwhile, the approval is refused.
    The count must add up (pb.services.reconciliation) and the two approvers must be independent (pb.services.roles).
    """
    if not actor.is_official:
        raise PermissionDenied("Only officials can approve the count.")
    cycle = load(Cycle, cycle_id, "cycle")
    cycle_rules.require_phase("approve-results", cycle.phase)
    digest = count_digest(cycle)
    if digest is None:
        raise ConflictError("Count the votes of every district before approving the count.")
    if seen_digest is not None and seen_digest != digest:
        raise ConflictError(
            "The votes were counted again after you opened the page; check the new count before approving it. "
            "Nothing was approved."
        )
    reconciliation.require_reconciled(cycle, N_("The count was not approved because its ballots do not add up:"))
    given = approvals(cycle)
    if any(approval.official_id == actor.id for approval in given):
        raise ConflictError(
            "You have already approved this count; a different official must approve it too before publication."
        )
    roles.require_independent(actor, [approval.official_id for approval in given], N_("Approving the count"))
    approval = ResultApproval(cycle_id=cycle.id, count_digest=digest, official_id=actor.id)
    db.session.add(approval)
    try:
        db.session.flush()
    except IntegrityError:
        raise ConflictError("You approved this count at the same moment elsewhere; reload the page.") from None
    audit.record(
        actor, "approve-results", f"cycle:{cycle.id}", cycle_id=cycle.id,
        after={"count_digest": digest, "approvals": len(given) + 1, "required": REQUIRED_APPROVALS,
               "approved_with": [approval.official_id for approval in given]},
    )
    approvers = [approval.official_id for approval in given] + [actor.id]
    if len(approvers) < REQUIRED_APPROVALS:
        # Still short: the other officials hear that an approval of theirs is missing, except those who could not
        # give it (one of them proposed an approver as an official, or the reverse), who would only be refused.
        alerts.tell_officials(
            "count_waiting", excluding=approvers,
            only=lambda official: all(roles.are_independent(official.id, approver) for approver in approvers),
            cycle=cycle, approved_by=actor, approvals_given=len(approvers),
        )
    return approval
