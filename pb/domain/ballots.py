"""Ballot designs and their rules: what a knapsack, approval, cumulative or ranking ballot may hold, as problems in words.

A ballot is a mapping of project id to a value: 1 for a chosen project on a knapsack or approval ballot, the points
given on a cumulative ballot, the rank (1 = first) on a ranking ballot. Every check returns every problem at once, so a
voter fixes their ballot in one go.
"""

import json
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field

from pb.domain.errors import BallotError, ValidationError
from pb.domain.messages import N_, Nn_
from pb.domain.money import format_amount

KNAPSACK = "knapsack"
APPROVAL = "approval"
CUMULATIVE = "cumulative"
RANKING = "ranking"
DESIGNS = (KNAPSACK, APPROVAL, CUMULATIVE, RANKING)

DESIGN_LABELS = {
    KNAPSACK: N_("Knapsack: choose projects within the budget"),
    APPROVAL: N_("Approval: choose up to a number of projects, whatever they cost"),
    CUMULATIVE: N_("Cumulative: spread points among projects"),
    RANKING: N_("Ranking: rank your favourite projects"),
}

# The counting rules that fit each design's ballots (see docs/ballots.md): every rule reads approvals or points; a
# ranking reaches them as rank scores (K points for the first of K ranks, down to 1 for the last), as Kraków counts.
FITTING_RULES = {
    KNAPSACK: ("greedy", "greedy-no-skip", "mes", "mes-add1", "mes-add1-no-completion", "mes-add1-comparison",
               "phragmen"),
    APPROVAL: ("greedy", "greedy-no-skip", "mes", "mes-add1", "mes-add1-no-completion", "mes-add1-comparison",
               "phragmen"),
    CUMULATIVE: ("greedy", "greedy-no-skip", "mes", "mes-add1", "mes-add1-no-completion"),
    RANKING: ("greedy", "greedy-no-skip"),
}

# The pabulib vote_type each design's ballots are written as.
PABULIB_VOTE_TYPES = {KNAPSACK: "approval", APPROVAL: "approval", CUMULATIVE: "cumulative", RANKING: "ordinal"}

LARGEST_SETTING = 1_000_000  # no city spreads more points, or ranks more projects, than this


@dataclass(frozen=True)
class CategoryLimit:
    """A limit on the projects of one category a ballot may choose: how many, or what share of the budget."""

    category_id: int
    max_projects: int | None = None
    max_share_percent: int | None = None  # the chosen projects of the category may cost at most this share


@dataclass(frozen=True)
class BallotDesign:
    """What kind of ballot a cycle (or one district) uses, and its limits.

    min_projects and max_projects count the projects chosen, given points or ranked; for a ranking, max_projects is
    the number of ranks K. min_spend_percent (knapsack) is the share of the budget a ballot must at least spend.
    points (cumulative) is what each voter spreads, at most max_points_per_project on one project.
    """

    kind: str = KNAPSACK
    min_projects: int = 1
    max_projects: int | None = None
    min_spend_percent: int = 0
    points: int = 0
    max_points_per_project: int | None = None
    category_limits: tuple[CategoryLimit, ...] = field(default=())

    @property
    def has_budget_cap(self) -> bool:
        return self.kind == KNAPSACK

    @property
    def has_values(self) -> bool:
        """Whether a ballot holds a number per project (points or ranks) rather than a plain choice."""
        return self.kind in (CUMULATIVE, RANKING)

    @property
    def is_points(self) -> bool:
        """Whether the count reads points (cumulative points, or rank scores) rather than approvals."""
        return self.has_values

    @property
    def fitting_rules(self) -> tuple[str, ...]:
        return FITTING_RULES[self.kind]

    @property
    def pabulib_vote_type(self) -> str:
        return PABULIB_VOTE_TYPES[self.kind]

    def rank_score(self, rank: int) -> int:
        """The points a project ranked `rank` (1 = first) scores: K for the first of K ranks, down to 1."""
        return (self.max_projects or 1) - rank + 1

    def scores(self, ballot: Mapping[int, int]) -> dict[int, int]:
        """What a valid ballot gives each project in the count: 1 per choice, its points, or its rank score."""
        if self.kind == CUMULATIVE:
            return {project_id: value for project_id, value in ballot.items() if value > 0}
        if self.kind == RANKING:
            return {project_id: self.rank_score(rank) for project_id, rank in ballot.items()}
        return dict.fromkeys(ballot, 1)

    def to_data(self) -> dict:
        data = asdict(self)
        data["category_limits"] = [asdict(limit) for limit in self.category_limits]
        return data

    def to_json(self) -> str:
        return json.dumps(self.to_data(), sort_keys=True, separators=(",", ":"))

    @classmethod
    def from_data(cls, data: Mapping) -> "BallotDesign":
        """A design from its stored form; ValidationError (naming the setting) when it is not one."""
        if not isinstance(data, Mapping):
            raise ValidationError(N_("The ballot settings are damaged; set them again."))
        try:
            limits = tuple(
                CategoryLimit(int(limit["category_id"]), _whole_or_none(limit.get("max_projects")),
                              _whole_or_none(limit.get("max_share_percent")))
                for limit in data.get("category_limits", ())
            )
            design = cls(
                kind=str(data.get("kind", KNAPSACK)), min_projects=int(data.get("min_projects", 1)),
                max_projects=_whole_or_none(data.get("max_projects")),
                min_spend_percent=int(data.get("min_spend_percent", 0) or 0), points=int(data.get("points", 0) or 0),
                max_points_per_project=_whole_or_none(data.get("max_points_per_project")), category_limits=limits,
            )
        except (KeyError, TypeError, ValueError, AttributeError, OverflowError):  # OverflowError: int(Infinity)
            raise ValidationError(N_("The ballot settings are damaged; set them again.")) from None
        return design

    @classmethod
    def from_json(cls, text: str) -> "BallotDesign":
        try:
            data = json.loads(text)
        except ValueError:
            raise ValidationError(N_("The ballot settings are damaged; set them again.")) from None
        return cls.from_data(data)


def _whole_or_none(value: object) -> int | None:
    return None if value is None or value == "" else int(value)  # type: ignore[call-overload]


def design_problems(design: BallotDesign, category_ids: Iterable[int] = ()) -> list[tuple[str, str]]:
    """Everything wrong with a design's settings, as (setting, problem) pairs: empty when a city may use it."""
    found: list[tuple[str, str]] = []
    if design.kind not in DESIGNS:
        found.append(("kind", N_("Choose one of the ballot designs.")))
        return found
    if not 1 <= design.min_projects <= LARGEST_SETTING:
        found.append(("min_projects", N_("A ballot must allow at least one project.")))
    if design.max_projects is not None:
        if not 1 <= design.max_projects <= LARGEST_SETTING:
            found.append(("max_projects", N_("The most projects per ballot must be between 1 and {largest:,}.",
                                             largest=LARGEST_SETTING)))
        elif design.max_projects < design.min_projects:
            found.append(("max_projects", N_("The most projects per ballot cannot be fewer than the least.")))
    if design.kind == KNAPSACK and not 0 <= design.min_spend_percent <= 100:
        found.append(("min_spend_percent", N_("The share of the budget a ballot must spend is between 0 and 100%.")))
    if design.kind == RANKING and design.max_projects is None:
        found.append(("max_projects", N_("Say how many projects a voter may rank.")))
    if design.kind == CUMULATIVE:
        if not 1 <= design.points <= LARGEST_SETTING:
            found.append(("points", N_("Each voter needs between 1 and {largest:,} points to spread.",
                                       largest=LARGEST_SETTING)))
        if design.max_points_per_project is not None and not 1 <= design.max_points_per_project <= max(design.points, 1):
            found.append(("max_points_per_project",
                          N_("The most points on one project is between 1 and the points each voter spreads.")))
    known = set(category_ids)
    seen: set[int] = set()
    for limit in design.category_limits:
        if limit.category_id not in known:
            found.append(("category_limits", N_("A category limit names a category this cycle does not have.")))
        if limit.category_id in seen:
            found.append(("category_limits", N_("A category has two limits; keep one.")))
        seen.add(limit.category_id)
        if limit.max_projects is None and limit.max_share_percent is None:
            found.append(("category_limits", N_("A category limit needs a number of projects or a share of the budget.")))
        if limit.max_projects is not None and not 0 <= limit.max_projects <= LARGEST_SETTING:
            found.append(("category_limits", N_("A category's most projects must be 0 or more.")))
        if limit.max_share_percent is not None and not 0 <= limit.max_share_percent <= 100:
            found.append(("category_limits", N_("A category's share of the budget is between 0 and 100%.")))
    return found


def check_design(design: BallotDesign, category_ids: Iterable[int] = ()) -> BallotDesign:
    """The design if a city may use it, or a ValidationError carrying every problem (its field: the first one's)."""
    found = design_problems(design, category_ids)
    if found:
        raise ValidationError(N_("The ballot settings were not saved: {problems}", problems=tuple(p for _, p in found)),
                              problems=[p for _, p in found], field=found[0][0])
    return design


@dataclass(frozen=True)
class BallotRules:
    """The limits one district's ballot has: its budget and currency, and the design in force there."""

    budget: int
    currency: str
    min_projects: int = 0
    max_projects: int | None = None
    design: BallotDesign | None = None

    def __post_init__(self) -> None:
        if self.design is None:  # a plain knapsack with the counts given
            design = BallotDesign(kind=KNAPSACK, min_projects=self.min_projects, max_projects=self.max_projects)
            object.__setattr__(self, "design", design)
        else:
            object.__setattr__(self, "min_projects", self.design.min_projects)
            object.__setattr__(self, "max_projects", self.design.max_projects)

    @property
    def kind(self) -> str:
        return self.the_design.kind

    @property
    def the_design(self) -> BallotDesign:
        assert self.design is not None
        return self.design

    @property
    def min_spend(self) -> int:
        """The least a knapsack ballot must spend, in the smallest currency unit (rounded up)."""
        return -(-self.budget * self.the_design.min_spend_percent // 100) if self.kind == KNAPSACK else 0

    def category_budget(self, limit: CategoryLimit) -> int | None:
        return None if limit.max_share_percent is None else self.budget * limit.max_share_percent // 100


def as_ballot(choices: Mapping[int, int] | Iterable[int]) -> tuple[dict[int, int], bool]:
    """A submitted ballot as project id -> value, and whether a project was named twice (plain lists of choices)."""
    if isinstance(choices, Mapping):
        return dict(choices), False
    listed = list(choices)
    return dict.fromkeys(listed, 1), len(set(listed)) != len(listed)


def problems(
    choices: Mapping[int, int] | Iterable[int], costs: Mapping[int, int], rules: BallotRules,
    categories: Mapping[int, int | None] | None = None, category_names: Mapping[int, str] | None = None,
) -> list[str]:
    """Everything wrong with a ballot among projects with `costs` (and `categories`, project id -> category id)."""
    design = rules.the_design
    ballot, repeated = as_ballot(choices)
    found: list[str] = []
    if repeated:
        found.append(N_("A project was chosen more than once."))
    if any(project_id not in costs for project_id in ballot):
        found.append(N_("Some choices are not projects on this ballot; reload the page and choose again."))
    known = {project_id: value for project_id, value in ballot.items() if project_id in costs}
    found += _value_problems(design, known)
    counted = [project_id for project_id, value in known.items() if value > 0]
    total = sum(costs[project_id] for project_id in counted)
    if design.kind == KNAPSACK and total > rules.budget:
        found.append(N_(
            "Your choices cost {total}, {excess} more than the budget of {budget}.",
            total=format_amount(total, rules.currency), excess=format_amount(total - rules.budget, rules.currency),
            budget=format_amount(rules.budget, rules.currency),
        ))
    if design.kind == KNAPSACK and counted and total < rules.min_spend:
        found.append(N_(
            "Your choices cost {total}; a ballot must spend at least {least} ({percent}% of the budget).",
            total=format_amount(total, rules.currency), least=format_amount(rules.min_spend, rules.currency),
            percent=design.min_spend_percent,
        ))
    if not ballot:
        found.append(_EMPTY[design.kind])
    elif len(counted) < design.min_projects:
        found.append(_too_few(design, len(counted)))
    if design.max_projects is not None and len(counted) > design.max_projects:
        found.append(_too_many(design, len(counted)))
    found += _category_problems(rules, counted, costs, categories or {}, category_names or {})
    return found


_EMPTY = {
    KNAPSACK: N_("Choose at least one project."),
    APPROVAL: N_("Choose at least one project."),
    CUMULATIVE: N_("Give points to at least one project."),
    RANKING: N_("Rank at least one project."),
}


def _too_few(design: BallotDesign, count: int) -> str:
    if design.kind == CUMULATIVE:
        return Nn_("Give points to at least {count} project (you gave points to {chosen}).",
                   "Give points to at least {count} projects (you gave points to {chosen}).",
                   design.min_projects, chosen=count)
    if design.kind == RANKING:
        return Nn_("Rank at least {count} project (you ranked {chosen}).",
                   "Rank at least {count} projects (you ranked {chosen}).", design.min_projects, chosen=count)
    return Nn_("Choose at least {count} project (you chose {chosen}).",
               "Choose at least {count} projects (you chose {chosen}).", design.min_projects, chosen=count)


def _too_many(design: BallotDesign, count: int) -> str:
    limit = design.max_projects or 0
    if design.kind == CUMULATIVE:
        return Nn_("Give points to at most {count} project (you gave points to {chosen}).",
                   "Give points to at most {count} projects (you gave points to {chosen}).", limit, chosen=count)
    if design.kind == RANKING:
        return Nn_("Rank at most {count} project (you ranked {chosen}).",
                   "Rank at most {count} projects (you ranked {chosen}).", limit, chosen=count)
    return Nn_("Choose at most {count} project (you chose {chosen}).",
               "Choose at most {count} projects (you chose {chosen}).", limit, chosen=count)


def _value_problems(design: BallotDesign, ballot: Mapping[int, int]) -> list[str]:
    values = list(ballot.values())
    if design.kind in (KNAPSACK, APPROVAL):
        return [] if all(value == 1 for value in values) else [N_("A choice is either made or not; reload the page.")]
    if design.kind == CUMULATIVE:
        found = []
        if any(value < 0 for value in values):
            found.append(N_("Points cannot be fewer than 0."))
        cap = design.max_points_per_project
        if cap is not None and any(value > cap for value in values):
            found.append(N_("At most {cap:,} points may go to one project.", cap=cap))
        given = sum(value for value in values if value > 0)
        if given > design.points:
            found.append(N_("You gave {given:,} points, {excess:,} more than the {points:,} you have.",
                            given=given, excess=given - design.points, points=design.points))
        return found
    ranks = sorted(values)
    if any(rank < 1 for rank in ranks):
        return [N_("Ranks start at 1 (your first choice).")]
    repeated = sorted(rank for rank, times in Counter(ranks).items() if times > 1)
    if repeated:
        return [N_("Two projects share rank {rank}; give each rank to one project.", rank=repeated[0])]
    if ranks != list(range(1, len(ranks) + 1)):
        missing = next(rank for rank in range(1, len(ranks) + 1) if rank not in ranks)
        return [N_("Rank {rank} is missing: number your choices 1, 2, 3 and so on without gaps.", rank=missing)]
    return []


def _category_problems(
    rules: BallotRules, counted: list[int], costs: Mapping[int, int], categories: Mapping[int, int | None],
    names: Mapping[int, str],
) -> list[str]:
    found = []
    for limit in rules.the_design.category_limits:
        inside = [project_id for project_id in counted if categories.get(project_id) == limit.category_id]
        name = names.get(limit.category_id, str(limit.category_id))
        if limit.max_projects is not None and len(inside) > limit.max_projects:
            found.append(Nn_("At most {count} project may be chosen in {category} (you chose {chosen}).",
                             "At most {count} projects may be chosen in {category} (you chose {chosen}).",
                             limit.max_projects, category=name, chosen=len(inside)))
        cap = rules.category_budget(limit)
        spent = sum(costs[project_id] for project_id in inside)
        if cap is not None and spent > cap:
            found.append(N_("Your choices in {category} cost {spent}, more than the {cap} ({percent}% of the budget) "
                            "allowed there.", category=name, spent=format_amount(spent, rules.currency),
                            cap=format_amount(cap, rules.currency), percent=limit.max_share_percent))
    return found


def check(
    choices: Mapping[int, int] | Iterable[int], costs: Mapping[int, int], rules: BallotRules,
    categories: Mapping[int, int | None] | None = None, category_names: Mapping[int, str] | None = None,
) -> dict[int, int]:
    """The validated ballot (project id -> value, zero points dropped), or a BallotError carrying every problem."""
    given = choices if isinstance(choices, Mapping) else list(choices)  # read twice: once here, once for problems
    ballot, _ = as_ballot(given)
    found = problems(given, costs, rules, categories, category_names)
    if found:
        raise BallotError(N_("Your ballot was not saved: {problems}", problems=tuple(found)), problems=found)
    return {project_id: value for project_id, value in ballot.items() if value > 0}
