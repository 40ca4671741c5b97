"""Published results as numbered revisions: once public they never change, and a correction is a new revision.

Revision 1 is recorded when the cycle moves to "Results published". A correction, typically a funded project that
proves impossible to build and is withdrawn, is proposed by one official with a reason: the districts are counted
again at once without the withdrawn projects and the new count is kept as the next revision, pending. The public
still sees the published revision until a different official approves the correction (four eyes, as for the first
publication); then the stored count is replaced and the new revision is published. Every earlier revision stays
readable, with its reason, who proposed and approved it and when, and each step is in the audit log.
"""

import hashlib
import json
from datetime import datetime
from dataclasses import dataclass

from sqlalchemy import delete, func, select
from sqlalchemy.exc import IntegrityError

from pb.domain import cycle as cycle_rules
from pb.domain.errors import ConflictError, NotFound, PermissionDenied, ValidationError
from pb.domain.messages import N_
from pb.extensions import db
from pb.models import Cycle, Proposal, ResultRevision, TallyRun, User, utcnow
from pb.services import audit, load, publication, roles, tallying, use_case

MAX_REASON = 2000


@dataclass(frozen=True)
class Change:
    """What a correction changes in one district: projects no longer funded, newly funded, and the spending."""

    district: str
    no_longer_funded: tuple[str, ...]
    newly_funded: tuple[str, ...]
    spent_before: int
    spent_after: int


def snapshot(cycle: Cycle, runs: dict[int, TallyRun]) -> list[dict]:
    """The count of every district as plain data, in district order: what a revision keeps and shows."""
    titles = dict(db.session.execute(select(Proposal.id, Proposal.title).where(Proposal.cycle_id == cycle.id)).all())
    return [
        {
            "district_id": district.id, "district": district.name, "rule": run.rule, "tie_break": run.tie_break,
            "parameters": json.loads(run.parameters or "{}"), "budget": run.budget, "spent": run.spent,
            "ballot_count": run.ballot_count, "ballot_list_sha256": run.ballot_list_sha256,
            "results": [
                {"project_id": result.project_id, "title": titles.get(result.project_id, ""), "votes": result.votes,
                 "cost": result.cost, "is_funded": result.is_funded, "explanation": result.explanation,
                 "explanation_data": result.explanation_data}
                for result in sorted(run.results, key=lambda result: result.position)
            ],
        }
        for district in cycle.districts
        if (run := runs.get(district.id)) is not None
    ]


def digest(districts: list[dict]) -> str:
    return hashlib.sha256(json.dumps(districts, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


def record_first(cycle: Cycle, published_by: User | None, *, now: datetime | None = None) -> ResultRevision:
    """Keep the count as first published as revision 1 (called by the move to "Results published", at `now`)."""
    counted = snapshot(cycle, tallying.tally_runs(cycle))
    approvers = [approval.official_id for approval in publication.approvals(cycle)]
    now = now or utcnow()
    revision = ResultRevision(
        cycle_id=cycle.id, number=1, snapshot=json.dumps(counted), count_digest=digest(counted),
        proposed_by_id=approvers[0] if approvers else (published_by.id if published_by else None),
        approved_by_id=approvers[-1] if len(approvers) > 1 else None, proposed_at=now, published_at=now,
    )
    db.session.add(revision)
    return revision


def revisions(cycle: Cycle) -> list[ResultRevision]:
    """Every revision of the cycle's results, published, pending and cancelled, oldest first."""
    return list(db.session.scalars(
        select(ResultRevision).where(ResultRevision.cycle_id == cycle.id).order_by(ResultRevision.number)
    ))


def published(cycle: Cycle) -> list[ResultRevision]:
    return [revision for revision in revisions(cycle) if revision.status == "published"]


def current(cycle: Cycle) -> ResultRevision | None:
    """The revision the public sees now (None before publication)."""
    shown = published(cycle)
    return shown[-1] if shown else None


def pending(cycle: Cycle) -> ResultRevision | None:
    return next((revision for revision in revisions(cycle) if revision.status == "pending"), None)


def withdrawn_ids(revision: ResultRevision | None) -> frozenset[int]:
    return frozenset(json.loads(revision.withdrawn)) if revision is not None else frozenset()


def published_revision(cycle: Cycle, number: int) -> ResultRevision:
    """A published revision by its number; pending and cancelled ones are not public."""
    cycle_rules.require_phase("see-results", cycle.phase)
    revision = next((revision for revision in published(cycle) if revision.number == number), None)
    if revision is None:
        raise NotFound(N_("There is no published revision {number} of these results.", number=number))
    return revision


def changes(before: list[dict], after: list[dict]) -> list[Change]:
    """Per district, what a revision changes against the one before it (districts without a change are left out)."""
    earlier = {district["district_id"]: district for district in before}
    found = []
    for district in after:
        old = earlier.get(district["district_id"], {"results": [], "spent": 0})
        funded_before = {r["project_id"]: r["title"] for r in old["results"] if r["is_funded"]}
        funded_after = {r["project_id"]: r["title"] for r in district["results"] if r["is_funded"]}
        if funded_before != funded_after or old["spent"] != district["spent"]:
            found.append(Change(
                district["district"],
                tuple(title for pid, title in funded_before.items() if pid not in funded_after),
                tuple(title for pid, title in funded_after.items() if pid not in funded_before),
                old["spent"], district["spent"],
            ))
    return found


def _require_official(actor: User) -> None:
    if not actor.is_official:
        raise PermissionDenied("Only officials can correct published results.")


def _recount(actor: User, cycle: Cycle, withdrawn: frozenset[int]) -> dict[int, TallyRun]:
    """Every district counted again without the withdrawn projects, as new unsaved runs."""
    return {district.id: tallying.build_run(actor, cycle, district, withdrawn) for district in cycle.districts}


def _first_revision(cycle: Cycle) -> ResultRevision:
    """The published revision, recording revision 1 now for results published before revisions were kept."""
    shown = current(cycle)
    return shown if shown is not None else record_first(cycle, None)


@use_case
def propose_correction(actor: User, cycle_id: int, reason: str, project_ids: list[int]) -> ResultRevision:
    """An official proposes correcting the published results by withdrawing funded projects, giving the reason.

    The correction is counted at once and kept as the next revision, pending until a different official approves it.
    """
    _require_official(actor)
    cycle = load(Cycle, cycle_id, "cycle")
    cycle_rules.require_phase("correct-results", cycle.phase)
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError("Give the reason for the correction: it is published with the corrected results.")
    if len(reason) > MAX_REASON:
        raise ValidationError(N_("Keep the reason under {limit} characters.", limit=MAX_REASON))
    if pending(cycle) is not None:
        raise ConflictError(
            "A correction is already waiting for approval; approve or cancel it before proposing another."
        )
    base = _first_revision(cycle)
    funded = {
        result.project_id for run in tallying.tally_runs(cycle).values() for result in run.results if result.is_funded
    }
    chosen = set(project_ids)
    if not chosen:
        raise ValidationError("Choose at least one funded project to withdraw.")
    if not chosen <= funded:
        raise ValidationError("Only projects the published results fund can be withdrawn; reload the page.")
    withdrawn = withdrawn_ids(base) | chosen
    counted = snapshot(cycle, _recount(actor, cycle, withdrawn))
    number = db.session.scalar(
        select(func.max(ResultRevision.number)).where(ResultRevision.cycle_id == cycle.id)
    ) + 1
    revision = ResultRevision(
        cycle_id=cycle.id, number=number, reason=reason, withdrawn=json.dumps(sorted(withdrawn)),
        snapshot=json.dumps(counted), count_digest=digest(counted), proposed_by_id=actor.id,
    )
    db.session.add(revision)
    try:
        db.session.flush()
    except IntegrityError:
        raise ConflictError("Another official proposed a correction at the same moment; reload the page.") from None
    audit.record(
        actor, "propose-correction", f"cycle:{cycle.id}", cycle_id=cycle.id,
        before={"revision": base.number, "count_digest": base.count_digest},
        after={"revision": number, "reason": reason, "withdrawn": sorted(chosen), "count_digest": revision.count_digest},
    )
    return revision


def _pending_correction(actor: User, cycle_id: int, number: int) -> tuple[Cycle, ResultRevision]:
    """The cycle and its pending correction `number`, locked for this transaction, for an official to decide on."""
    _require_official(actor)
    cycle = load(Cycle, cycle_id, "cycle")
    cycle_rules.require_phase("correct-results", cycle.phase)
    revision = db.session.scalar(
        select(ResultRevision).where(ResultRevision.cycle_id == cycle.id, ResultRevision.number == number)
        .with_for_update()
    )
    if revision is None:
        raise NotFound("There is no such correction.")
    if revision.status != "pending":
        if revision.status == "published":
            raise ConflictError("This correction is already published; reload the page.")
        raise ConflictError("This correction was cancelled; reload the page.")
    return cycle, revision


@use_case
def approve_correction(actor: User, cycle_id: int, number: int) -> ResultRevision:
    """A second official approves a pending correction: the count is replaced and the new revision is published."""
    cycle, revision = _pending_correction(actor, cycle_id, number)
    if revision.proposed_by_id == actor.id:
        raise ConflictError("You proposed this correction; a different official must approve it.")
    roles.require_independent(actor, [revision.proposed_by_id], N_("Approving a correction"))
    runs = _recount(actor, cycle, withdrawn_ids(revision))
    if digest(snapshot(cycle, runs)) != revision.count_digest:
        raise ConflictError(
            "Counting again now gives a different result from the proposed correction, so it was not published. "
            "Cancel it and propose it again."
        )
    previous = current(cycle)
    db.session.execute(delete(TallyRun).where(TallyRun.cycle_id == cycle.id))
    db.session.flush()
    for run in runs.values():
        db.session.add(run)
    revision.approved_by_id = actor.id
    revision.published_at = utcnow()
    audit.record(
        actor, "publish-correction", f"cycle:{cycle.id}", cycle_id=cycle.id,
        before={"revision": previous.number if previous else None},
        after={"revision": revision.number, "count_digest": revision.count_digest,
               "selected": {str(d): tallying.funded_ids(run) for d, run in runs.items()}},
    )
    return revision


@use_case
def cancel_correction(actor: User, cycle_id: int, number: int) -> ResultRevision:
    """An official cancels a pending correction; the published results stay as they are."""
    cycle, revision = _pending_correction(actor, cycle_id, number)
    revision.cancelled_at = utcnow()
    audit.record(actor, "cancel-correction", f"cycle:{cycle.id}", cycle_id=cycle.id, after={"revision": number})
    return revision


def withdrawal(cycle: Cycle, project_id: int) -> ResultRevision | None:
    """The first published revision that withdrew the project, or None."""
    if not cycle_rules.is_allowed("see-results", cycle.phase):
        return None
    return next((revision for revision in published(cycle) if project_id in withdrawn_ids(revision)), None)
