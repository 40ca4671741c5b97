"""What every rule shares: the election prepared once, greedy filling by votes, and building the Outcome."""

from dataclasses import dataclass
from operator import itemgetter
from typing import Any

import numpy as np

from pb.domain.messages import N_, Message, Nn_
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
    supporters: dict[str, np.ndarray]  # project -> indices (int64, ascending) of the ballot groups approving it
    score_kind: str  # "votes" (approval ballots) or "points" (points ballots)
    score: dict[str, int]  # project -> votes (approval) or total points (points ballots)
    by_score: tuple[str, ...]  # projects with a score, highest first, ties by the tie-break
    points: dict[str, np.ndarray]  # project -> points (int64) from each group in supporters (all 1 for approval)

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


def stable_order(keys: np.ndarray, bound: int) -> np.ndarray:
    """np.argsort(keys, kind="stable") for whole-number keys in range(bound). Keys that fit in 16 bits are sorted
    as such: numpy then sorts by radix, five times faster than its merge sort for 64-bit keys."""
    if bound <= 1 << 16:
        keys = keys.astype(np.uint16)
    return np.argsort(keys, kind="stable")


def ones_views(lengths: list[int], dtype: type) -> list[np.ndarray]:
    """Read-only arrays of ones of the given lengths, all views of one array (approvals are each worth 1): no
    memory the size of the profile, and slicing costs far less than np.broadcast_to for each."""
    ones = np.ones(max(lengths, default=0), dtype=dtype)
    ones.flags.writeable = False
    return [ones[:length] for length in lengths]


def prepare(instance: Instance, profile: Profile, tie_break: TieBreak) -> Election:
    """Validate the ballots against the instance and index them by project, for approval and points ballots."""
    ids = [project.id for project in instance.projects]
    position = {project_id: index for index, project_id in enumerate(ids)}
    is_points = isinstance(profile, PointsProfile)
    # The profile keeps its ballots as numbers (BallotCodes): one lookup per project id it names turns them into
    # flat (ballot group, project) pairs, which numpy then sorts by project. A city-wide election has millions.
    # Project numbers are 16-bit when they fit: numpy sorts those by radix, several times faster.
    number = np.int16 if len(ids) < 2**15 else np.int64
    codes = profile.codes
    table = np.fromiter((position.get(project_id, -1) for project_id in codes.project_ids), dtype=np.int64,
                        count=len(codes.project_ids))
    if len(table) and table.min() < 0:
        profile.validate(instance)  # names the unknown projects
        raise TallyError("A ballot names a project that is not on the ballot paper.")
    pair_project = table.astype(number)[codes.codes]
    sizes = codes.sizes
    given = codes.points
    ballots = profile.groups
    multiplicities = tuple(map(itemgetter(1), profile.groups))
    pair_group = np.repeat(np.arange(len(ballots), dtype=np.int64), sizes)
    # A stable sort keeps each project's supporters in ballot group order.
    order = stable_order(pair_project, len(ids))
    groups_by_project = pair_group[order]
    given_by_project = given[order] if is_points else None
    del order
    starts = np.zeros(len(ids) + 1, dtype=np.int64)
    np.cumsum(np.bincount(pair_project, minlength=len(ids)), out=starts[1:])
    bounds = starts.tolist()
    supporters = {project_id: groups_by_project[bounds[j] : bounds[j + 1]] for j, project_id in enumerate(ids)}
    group_weight = np.asarray(multiplicities, dtype=np.int64)
    votes = dict(zip(ids, _weighted_sums(pair_project, pair_group, group_weight, None, len(ids))))
    if is_points:
        score = dict(zip(ids, _weighted_sums(pair_project, pair_group, group_weight, given, len(ids))))
        points_of = {project_id: given_by_project[bounds[j] : bounds[j + 1]] for j, project_id in enumerate(ids)}
    else:
        score = votes
        ones = ones_views([len(supporters[project_id]) for project_id in ids], np.int64)
        points_of = dict(zip(ids, ones))
    order_ids = tie_break.order(ids, instance, _CountedProfile(profile, votes))  # type: ignore[arg-type]
    rank = {project_id: index for index, project_id in enumerate(order_ids)}
    by_votes = tuple(sorted((p for p in ids if votes[p] > 0), key=lambda p: (-votes[p], rank[p])))
    by_score = tuple(sorted((p for p in ids if score[p] > 0), key=lambda p: (-score[p], rank[p])))
    return Election(
        instance=instance,
        votes=votes,
        cost={project.id: project.cost for project in instance.projects},
        by_votes=by_votes,
        rank=rank,
        multiplicities=multiplicities,
        supporters=supporters,
        score_kind="points" if is_points else "votes",
        score=score,
        by_score=by_score,
        points=points_of,
    )


def _weighted_sums(
    project: np.ndarray, group: np.ndarray, weight: np.ndarray, points: np.ndarray | None, length: int
) -> list[int]:
    """Exact sums by project of weight[group] (times points), over (group, project) pairs, as Python integers.

    In slices, so that no array the size of the profile is made for them (a city-wide election has millions
    of pairs).
    """
    sums = np.zeros(length, dtype=np.int64)
    piece = 1 << 20
    for first in range(0, len(project), piece):
        values = weight[group[first : first + piece]]
        if points is not None:
            values *= points[first : first + piece]
        keys = project[first : first + piece]
        if int(values.sum()) < 2**53:
            # Every partial sum is then an integer below 2**53, which float64 holds exactly.
            sums += np.bincount(keys, weights=values, minlength=length).astype(np.int64)
        else:
            np.add.at(sums, keys, values)
    return sums.tolist()


def approval_profile(profile: Profile) -> ApprovalProfile:
    """Approval ballots as they are; points ballots as the approval of every project given any points."""
    return profile.as_approval() if isinstance(profile, PointsProfile) else profile


def supporters_phrase(votes: int, together: str) -> Message:
    """ "its only supporter", "its 1,234 supporters" or, with `together`, "its 1,234 supporters together"."""
    if votes == 1:
        return N_("its only supporter")
    if together:
        return Nn_("its {count:,} supporter together", "its {count:,} supporters together", votes)
    return Nn_("its {count:,} supporter", "its {count:,} supporters", votes)


def score_phrase(election: Election, project_id: str) -> Message:
    """ "1,234 votes" or "3,456 points", as the greedy count saw the project."""
    score = election.score[project_id]
    if election.is_points:
        return Nn_("{count:,} point", "{count:,} points", score)
    return Nn_("{count:,} vote", "{count:,} votes", score)


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
    explanation = N_("Not funded: nobody gave it any points.") if is_points else N_("Not funded: nobody voted for it.")
    return ProjectResult(project_id, votes, False, None, None, explanation)


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
