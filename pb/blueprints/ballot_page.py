"""What the online ballot page shows for each design: the running summary of a ballot and a stored ballot in words.

The figures are worked out here, not in the templates: the same summary is shown without JavaScript (from the stored
or the refused ballot) and kept current by ballot.js as the voter changes their choices.
"""

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace

from flask_babel import gettext as _
from flask_babel import ngettext

from pb.domain.ballot_words import describe
from pb.domain.ballots import CUMULATIVE, KNAPSACK, RANKING, BallotRules
from pb.domain.messages import Message


@dataclass(frozen=True)
class BallotProject:
    """One project as the ballot shows it: its title, cost, summary, category name and the voter's value (0: none)."""

    id: int
    title: str
    cost: int
    summary: str
    category: str | None
    value: int


@dataclass(frozen=True)
class Summary:
    """The running summary of one ballot, as the page shows it before any script runs."""

    total: int  # the cost of the chosen (given points, ranked) projects
    left: int  # money left (knapsack)
    is_over_budget: bool
    is_under_min_spend: bool
    chosen: int  # projects chosen, given points or ranked
    is_over_max: bool
    points_given: int
    points_left: int
    is_over_points: bool
    is_over_cap: bool
    repeated_ranks: tuple[int, ...]
    order: tuple[str, ...]  # the ranked projects, best first, in words ("1st: Park benches")


def ordinal(rank: int) -> str:
    """1st, 2nd, 3rd, 4th ... in words a translator can change."""
    if rank % 100 not in (11, 12, 13):
        if rank % 10 == 1:
            return _("%(rank)sst", rank=rank)
        if rank % 10 == 2:
            return _("%(rank)snd", rank=rank)
        if rank % 10 == 3:
            return _("%(rank)srd", rank=rank)
    return _("%(rank)sth", rank=rank)


def ballot_projects(projects: Sequence, values: Mapping[int, int]) -> list[BallotProject]:
    """The projects in the voter's order, each with its value on the ballot shown."""
    return [
        BallotProject(project.id, project.title, project.cost, project.summary,
                      project.category.name if project.category else None, values.get(project.id, 0))
        for project in projects
    ]


def design_words(rules: BallotRules, projects: Sequence) -> list[Message]:
    """The ballot's rules in the sentences the cycle page uses, limited to the categories this ballot has projects in."""
    names = {project.category.id: project.category.name for project in projects if project.category}
    design = replace(rules.the_design, category_limits=tuple(
        limit for limit in rules.the_design.category_limits if limit.category_id in names))
    return describe(design, rules.budget, rules.currency, names)


def summary(rules: BallotRules, projects: Sequence[BallotProject]) -> Summary:
    """The summary of the ballot the projects' values make up."""
    design = rules.the_design
    given = [project for project in projects if project.value > 0]
    total = sum(project.cost for project in given)
    points = sum(project.value for project in given) if design.kind == CUMULATIVE else 0
    ranks = Counter(project.value for project in given) if design.kind == RANKING else Counter()
    return Summary(
        total=total, left=rules.budget - total,
        is_over_budget=design.kind == KNAPSACK and total > rules.budget,
        is_under_min_spend=design.kind == KNAPSACK and bool(given) and total < rules.min_spend,
        chosen=len(given),
        is_over_max=design.max_projects is not None and len(given) > design.max_projects,
        points_given=points, points_left=design.points - points, is_over_points=points > design.points,
        is_over_cap=(design.kind == CUMULATIVE and design.max_points_per_project is not None
                     and any(project.value > design.max_points_per_project for project in given)),
        repeated_ranks=tuple(sorted(rank for rank, times in ranks.items() if times > 1)),
        order=tuple(in_words(RANKING, {project.id: project.value for project in given},
                             {project.id: project.title for project in given})) if design.kind == RANKING else (),
    )


def in_words(kind: str, values: Mapping[int, int], titles: Mapping[int, str]) -> list[str]:
    """A stored ballot as lines a voter reads: "1st: Park benches", "4 points: Playground" or the project's title."""
    known = {project_id: value for project_id, value in values.items() if project_id in titles}
    if kind == RANKING:
        return [_("%(rank)s: %(title)s", rank=ordinal(rank), title=titles[project_id])
                for project_id, rank in sorted(known.items(), key=lambda item: item[1])]
    if kind == CUMULATIVE:
        return [ngettext("%(num)s point: %(title)s", "%(num)s points: %(title)s", points, title=titles[project_id])
                for project_id, points in sorted(known.items(), key=lambda item: (-item[1], titles[item[0]]))]
    return sorted(titles[project_id] for project_id in known)

