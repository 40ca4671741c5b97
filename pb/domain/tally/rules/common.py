"""What every rule shares: the election prepared once, greedy filling by votes, and building the Outcome."""

from dataclasses import dataclass

from pb.domain.tally.model import ApprovalProfile, Instance, Outcome, ProjectResult
from pb.domain.tally.tie_breaking import TieBreak


@dataclass(frozen=True)
class Election:
    """The instance and profile in the shape the rules work on, validated once."""

    instance: Instance
    votes: dict[str, int]
    cost: dict[str, int]
    by_votes: tuple[str, ...]  # projects with votes, most votes first, ties by the tie-break
    rank: dict[str, int]  # position in the tie-break order
    multiplicities: tuple[int, ...]
    supporters: dict[str, tuple[int, ...]]  # project -> indices of the ballot groups approving it


def prepare(instance: Instance, profile: ApprovalProfile, tie_break: TieBreak) -> Election:
    profile.validate(instance)
    ids = [project.id for project in instance.projects]
    supporters: dict[str, list[int]] = {project_id: [] for project_id in ids}
    for index, (approved, _) in enumerate(profile.groups):
        for project_id in approved:
            supporters[project_id].append(index)
    multiplicities = tuple(multiplicity for _, multiplicity in profile.groups)
    votes = {project_id: sum(multiplicities[index] for index in supporters[project_id]) for project_id in ids}
    rank = {project_id: position for position, project_id in enumerate(tie_break.order(ids, instance, profile))}
    by_votes = tuple(sorted((p for p in ids if votes[p] > 0), key=lambda p: (-votes[p], rank[p])))
    return Election(
        instance=instance,
        votes=votes,
        cost={project.id: project.cost for project in instance.projects},
        by_votes=by_votes,
        rank=rank,
        multiplicities=multiplicities,
        supporters={project_id: tuple(indices) for project_id, indices in supporters.items()},
    )


def supporters_phrase(votes: int, together: str) -> str:
    return "its only supporter" if votes == 1 else f"its {votes:,} supporters{together}"


def fill_by_votes(election: Election, left: int, skip: set[str]) -> list[tuple[str, int, bool]]:
    """Walk the projects by votes, funding each that fits: (project, what was left at its turn, funded?)."""
    steps = []
    for project_id in election.by_votes:
        if project_id in skip:
            continue
        is_funded = election.cost[project_id] <= left
        steps.append((project_id, left, is_funded))
        if is_funded:
            left -= election.cost[project_id]
    return steps


def not_voted(project_id: str, votes: int) -> ProjectResult:
    return ProjectResult(project_id, votes, False, None, None, "Not funded: nobody voted for it.")


def outcome(
    rule: str,
    election: Election,
    tie_break: TieBreak,
    selected: list[str],
    results: dict[str, ProjectResult],
    parameters: dict[str, str],
) -> Outcome:
    return Outcome(
        rule=rule,
        tie_break=tie_break.describe(),
        budget=election.instance.budget,
        selected=tuple(selected),
        spent=sum(election.cost[project_id] for project_id in selected),
        votes=dict(election.votes),
        projects={project.id: results[project.id] for project in election.instance.projects},
        parameters={**parameters, **tie_break.parameters()},
    )


