"""After the vote: officials recording how each funded project is carried out, and what residents read about it.

A project is funded when the stored count of its district (its TallyRun) funds it and the results are published.
A funded project with nothing recorded yet reads as planned, 0 % done and nothing spent. Changes carry the version
the official read, so of two officials editing the same project at once the second is told to reload, never
silently overwritten; public updates are only ever added, so two at once both land.
"""

from dataclasses import dataclass, field
from datetime import date

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm.exc import StaleDataError

from pb.domain import cycle as cycle_rules
from pb.domain import implementation as rules
from pb.domain.errors import ConflictError, NotFound, PermissionDenied, ValidationError
from pb.domain.implementation import ProgressReport, SpendingTotals
from pb.domain.messages import N_
from pb.extensions import db
from pb.models import (
    Cycle,
    District,
    Implementation,
    ImplementationUpdate,
    ProjectResult,
    Proposal,
    TallyRun,
    User,
    utcnow,
)
from pb.services import audit, load, use_case


@dataclass
class ProjectProgress:
    """A funded project as officials and residents see it after the vote."""

    project: Proposal
    report: ProgressReport
    version: int  # 0: nothing recorded yet
    updates: list[ImplementationUpdate] = field(default_factory=list)

    @property
    def budgeted(self) -> int:
        return self.project.cost

    @property
    def is_over_budget(self) -> bool:
        return self.report.spent > self.project.cost


@dataclass
class DistrictSpending:
    district: District
    projects: list[ProjectProgress]
    totals: SpendingTotals


@dataclass
class BudgetOverview:
    """Where a cycle's budget went: every funded project by district, with district and cycle totals."""

    cycle: Cycle
    districts: list[DistrictSpending]
    totals: SpendingTotals


def _require_official(actor: User) -> None:
    if not actor.is_official:
        raise PermissionDenied("Only officials can record how funded projects are carried out.")


def _is_funded(project: Proposal) -> bool:
    return db.session.scalar(
        select(ProjectResult.id).join(TallyRun, ProjectResult.tally_run_id == TallyRun.id).where(
            ProjectResult.project_id == project.id, ProjectResult.is_funded.is_(True),
            TallyRun.district_id == project.district_id,
        ).limit(1)
    ) is not None


def _record_of(project_id: int, *, for_update: bool = False) -> Implementation | None:
    query = select(Implementation).where(Implementation.project_id == project_id)
    if for_update:
        # The row lock makes a second official's save wait and then read the first one's version.
        query = query.with_for_update().execution_options(populate_existing=True)
    return db.session.scalar(query)


def _report_of(record: Implementation | None) -> ProgressReport:
    if record is None:
        return rules.NOT_STARTED
    return ProgressReport(status=record.status, progress=record.progress, spent=record.spent,
                          cancel_reason=record.cancel_reason)


def _updates_of(project_id: int) -> list[ImplementationUpdate]:
    return list(db.session.scalars(
        select(ImplementationUpdate).where(ImplementationUpdate.project_id == project_id)
        .order_by(ImplementationUpdate.posted_on.desc(), ImplementationUpdate.id.desc())
    ))


def _progress(project: Proposal, record: Implementation | None) -> ProjectProgress:
    return ProjectProgress(project=project, report=_report_of(record), version=record.version if record else 0,
                           updates=_updates_of(project.id))


def funded_project(project_id: int) -> ProjectProgress:
    """A funded project of a published cycle with its recorded progress, or a plain-words refusal."""
    project = load(Proposal, project_id, "project")
    cycle_rules.require_phase("track-implementation", project.cycle.phase)
    if not _is_funded(project):
        raise NotFound(N_("“{title}” was not funded in the published results, so there is no implementation to follow.",
                          title=project.title))
    return _progress(project, _record_of(project.id))


def public_progress(project: Proposal) -> ProjectProgress | None:
    """What a project page shows about implementation: nothing before publication or for an unfunded project."""
    if not cycle_rules.is_allowed("track-implementation", project.cycle.phase) or not _is_funded(project):
        return None
    return _progress(project, _record_of(project.id))


def overview(cycle: Cycle) -> BudgetOverview:
    """Every funded project of a published cycle, by district, with budgeted against spent and the totals."""
    cycle_rules.require_phase("track-implementation", cycle.phase)
    funded = db.session.scalars(
        select(Proposal).join(ProjectResult, ProjectResult.project_id == Proposal.id)
        .join(TallyRun, ProjectResult.tally_run_id == TallyRun.id)
        .where(TallyRun.cycle_id == cycle.id, TallyRun.district_id == Proposal.district_id,
               ProjectResult.is_funded.is_(True))
        .order_by(ProjectResult.position, Proposal.id)
    ).all()
    records = {record.project_id: record for record in db.session.scalars(
        select(Implementation).where(Implementation.cycle_id == cycle.id)
    )}
    districts = []
    everything = []
    for district in cycle.districts:
        projects = [_progress(project, records.get(project.id)) for project in funded
                    if project.district_id == district.id]
        rows = [(p.report.status, p.budgeted, p.report.spent) for p in projects]
        everything.extend(rows)
        districts.append(DistrictSpending(district=district, projects=projects, totals=rules.totals(rows)))
    return BudgetOverview(cycle=cycle, districts=districts, totals=rules.totals(everything))


def _snapshot(report: ProgressReport) -> dict[str, object]:
    return {"status": report.status.value, "progress": report.progress, "spent": report.spent,
            "cancel_reason": report.cancel_reason}


STALE = ("Another official changed this project's implementation since you opened the page, so your change was not "
         "saved. Reload the page, check what they recorded, and make your change again.")


@use_case
def record_progress(
    actor: User, project_id: int, *, status: object, progress: object, spent: object, cancel_reason: str | None,
    version: object,
) -> Implementation:
    """An official records a funded project's status, progress and money spent, from the version they read."""
    _require_official(actor)
    current = funded_project(project_id)
    project = current.project
    record = _record_of(project.id, for_update=True)
    if version != (record.version if record else 0):
        raise ConflictError(STALE)
    before = _report_of(record)
    report = rules.check_progress(status, progress, spent, cancel_reason, previous=before.status)
    if record is not None and report == before:
        raise ValidationError("Nothing was saved: these are the values already recorded.")
    if record is None:
        record = Implementation(project_id=project.id, cycle_id=project.cycle_id)
        db.session.add(record)
    record.status, record.progress, record.spent = report.status, report.progress, report.spent
    record.cancel_reason = report.cancel_reason
    record.updated_by_id = actor.id
    try:
        db.session.flush()
    except (IntegrityError, StaleDataError):
        raise ConflictError(STALE) from None
    audit.record(
        actor, "record-implementation", f"project:{project.id}", cycle_id=project.cycle_id,
        before=_snapshot(before) if current.version else None, after=_snapshot(report),
    )
    return record


@use_case
def post_update(actor: User, project_id: int, posted_on: date | None, text: str | None) -> ImplementationUpdate:
    """An official adds a dated public update to a funded project's page."""
    _require_official(actor)
    project = funded_project(project_id).project
    cleaned = rules.check_update(text, posted_on, today=utcnow().date())
    update = ImplementationUpdate(project_id=project.id, cycle_id=project.cycle_id, posted_on=posted_on,
                                  text=cleaned, author_id=actor.id)
    db.session.add(update)
    db.session.flush()
    audit.record(
        actor, "post-implementation-update", f"project:{project.id}", cycle_id=project.cycle_id,
        after={"update": update.id, "posted_on": posted_on.isoformat(), "text": cleaned},
    )
    return update

