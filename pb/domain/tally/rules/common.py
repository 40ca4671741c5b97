"""What every rule shares: the election prepared once, greedy filling by votes, and building the Outcome."""

from dataclasses import dataclass
from typing import Any

from pb.domain.tally.model import ApprovalProfile, Instance, Outcome, PointsProfile, Profile, ProjectResult, TallyError
from pb.domain.tally.tie_breaking import TieBreak


@dataclass(frozen=True)
class Election:
    """The instance and profile in the shape the rules work on, validated once.

    ``votes`` always counts voters (approvals; for a points profile, the voters who gave the project any
    points), so rules that share money among supporters can use it as the number of supporters.
    ``score`` is what greedy orders by: the votes for approval ballots, the total points for points ballots.
    """

    instance: Instance
    votes: dict[str, int]
    cost: dict[str, int]
    by_votes: tuple[str, ...]  # projects with votes, most votes first, ties by the tie-break
    rank: dict[str, int]  # position in the tie-break order
    multiplicities: tuple[int, ...]
    supporters: dict[str, tuple[int, ...]]  # project -> indices of the ballot groups approving it
    score_kind: str  # "votes" (approval ballots) or "points" (points ballots)
    score: dict[str, int]  # project -> votes (approval) or total points (points ballots)
    by_score: tuple[str, ...]  # projects with a score, highest first, ties by the tie-break
    points: dict[str, tuple[int, ...]]  # project -> points from each group in supporters (all 1 for approval)

    @property
    def is_points(self) -> bool:
        return self.score_kind == "points"


class _CountedProfile:
    """The profile as a tie-break sees it, with each project's supporter count looked up, not recounted.

    A profile recounts a project's approvals over every ballot on each call; ordering 160 projects of a
    city-wide election that way costs more than the whole greedy count.
    """

    def __init__(self, profile: Profile, approvals: dict[str, int]) -> None:
        self._profile = profile
        self._approvals = approvals

    def approvals(self, project_id: str) -> int:
        return self._approvals[project_id]

    def __getattr__(self, name: str) -> Any:
        return getattr(self._profile, name)


def prepare(instance: Instance, profile: Profile, tie_break: TieBreak) -> Election:
    """Validate the ballots against the instance and index them by project, for approval and points ballots."""
    ids = [project.id for project in instance.projects]
    supporters: dict[str, list[int]] = {project_id: [] for project_id in ids}
    is_points = isinstance(profile, PointsProfile)
    points: dict[str, list[int]] = {project_id: [] for project_id in ids} if is_points else {}
    try:
        if is_points:
            for index, (ballot, _) in enumerate(profile.groups):
                for project_id, given in ballot:
                    supporters[project_id].append(index)
                    points[project_id].append(given)
        else:
            for index, (approved, _) in enumerate(profile.groups):
                for project_id in approved:
                    supporters[project_id].append(index)
    except KeyError:
        profile.validate(instance)  # names the unknown projects
        raise TallyError("A ballot names a project that is not on the ballot paper.") from None
    multiplicities = tuple(multiplicity for _, multiplicity in profile.groups)
    votes = {project_id: sum([multiplicities[index] for index in supporters[project_id]]) for project_id in ids}
    if is_points:
        score = {
            project_id: sum(
                [multiplicities[index] * given for index, given in zip(supporters[project_id], points[project_id])]
            )
            for project_id in ids
        }
        points_of = {project_id: tuple(given) for project_id, given in points.items()}
    else:
        score = votes
        points_of = {project_id: (1,) * len(indices) for project_id, indices in supporters.items()}
    order = tie_break.order(ids, instance, _CountedProfile(profile, votes))  # type: ignore[arg-type]
    rank = {project_id: position for position, project_id in enumerate(order)}
    by_votes = tuple(sorted((p for p in ids if votes[p] > 0), key=lambda p: (-votes[p], rank[p])))
    by_score = tuple(sorted((p for p in ids if score[p] > 0), key=lambda p: (-score[p], rank[p])))
    return Election(
        instance=instance,
        votes=votes,
        cost={project.id: project.cost for project in instance.projects},
        by_votes=by_votes,
        rank=rank,
        multiplicities=multiplicities,
        supporters={project_id: tuple(indices) for project_id, indices in supporters.items()},
        score_kind="points" if is_points else "votes",
        score=score,
        by_score=by_score,
        points=points_of,
    )


def approval_profile(profile: Profile) -> ApprovalProfile:
    """Approval ballots as they are; points ballots as the approval of every project given any points."""
    return profile.as_approval() if isinstance(profile, PointsProfile) else profile


def supporters_phrase(votes: int, together: str) -> str:
    return "its only supporter" if votes == 1 else f"its {votes:,} supporters{together}"


def score_phrase(election: Election, project_id: str) -> str:
    """ "1,234 votes" or "3,456 points", as the greedy count saw the project."""
    score = election.score[project_id]
    unit = ("point" if election.is_points else "vote") + ("" if score == 1 else "s")
    return f"{score:,} {unit}"


def fill_by_votes(election: Election, left: int, skip: set[str]) -> list[tuple[str, int, bool]]:
    """Walk the projects by votes, funding each that fits: (project, what was left at its turn, funded?)."""
    return fill_in_order(election, election.by_votes, left, skip)


def fill_in_order(
    election: Election, order: tuple[str, ...], left: int, skip: set[str], *, stop_at_first_misfit: bool = False
) -> list[tuple[str, int, bool]]:
    """Walk projects in the given order funding each that fits: (project, what was left at its turn, funded?).

    With stop_at_first_misfit the walk ends at the first project that does not fit, which is then the last step.
    """
    steps = []
    for project_id in order:
        if project_id in skip:
            continue
        is_funded = election.cost[project_id] <= left
        steps.append((project_id, left, is_funded))
        if is_funded:
            left -= election.cost[project_id]
        elif stop_at_first_misfit:
            break
    return steps


def not_voted(project_id: str, votes: int, *, is_points: bool = False) -> ProjectResult:
    what = "gave it any points" if is_points else "voted for it"
    return ProjectResult(project_id, votes, False, None, None, f"Not funded: nobody {what}.")


def outcome(
    rule: str,
    election: Election,
    tie_break: TieBreak,
    selected: list[str],
    results: dict[str, ProjectResult],
    parameters: dict[str, str],
) -> Outcome:
    """The Outcome of a rule; its ``votes`` are the election's scores (points for points ballots)."""
    return Outcome(
        rule=rule,
        tie_break=tie_break.describe(),
        budget=election.instance.budget,
        selected=tuple(selected),
        spent=sum(election.cost[project_id] for project_id in selected),
        votes=dict(election.score),
        projects={project.id: results[project.id] for project in election.instance.projects},
        parameters={**parameters, **tie_break.parameters()},
    )
