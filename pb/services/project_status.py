"""The status the public sees of each proposal: its own status, or after results funded, not funded or withdrawn."""

from dataclasses import dataclass

from sqlalchemy import select

from pb.domain import project_status
from pb.extensions import db
from pb.models import Cycle, ProjectResult, Proposal, TallyRun
from pb.services import revisions, tallying


@dataclass(frozen=True)
class PublicStatus:
    """A status as pages show it: `value` names its style (status-<value>), `label` is the words (to translate)."""

    value: str
    label: str


@dataclass(frozen=True)
class CycleResults:
    """What the published results say of a cycle's projects: funded or not per project id, and those withdrawn."""

    is_published: bool
    funded: dict[int, bool]
    withdrawn: frozenset[int]


def cycle_results(cycle: Cycle) -> CycleResults:
    """Read once per cycle, so a list of proposals needs two queries whatever its length."""
    if not tallying.is_published(cycle):
        return CycleResults(False, {}, frozenset())
    funded = dict(db.session.execute(
        select(ProjectResult.project_id, ProjectResult.is_funded).join(TallyRun).where(TallyRun.cycle_id == cycle.id)
    ).all())
    withdrawn = frozenset().union(*(revisions.withdrawn_ids(revision) for revision in revisions.published(cycle)))
    return CycleResults(True, funded, withdrawn)


def public_status(proposal: Proposal, results: CycleResults | None = None) -> PublicStatus:
    """The one rule every page uses to show a proposal's status (see pb.domain.project_status)."""
    if results is None:
        results = cycle_results(proposal.cycle) if proposal.status.value == "accepted" else CycleResults(False, {}, frozenset())
    key = project_status.result_status(
        proposal.status.value, results_published=results.is_published,
        is_funded=results.funded.get(proposal.id), is_withdrawn=proposal.id in results.withdrawn,
    )
    if key is None:
        return PublicStatus(proposal.status.value, proposal.status.label)
    return PublicStatus(key, project_status.result_label(key))
