"""The tally's data: the instance (budget and projects), the approval profile, and the outcome that explains itself."""

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from fractions import Fraction
from itertools import chain
from operator import itemgetter

import numpy as np

from pb.domain.errors import DomainError
from pb.domain.messages import Figure


class TallyError(DomainError):
    """The tally cannot run on this input (bad instance, bad ballot, unknown rule)."""


def format_money(amount: int | Fraction, exponent: int = 0) -> str:
    """Print an amount of the smallest currency unit in the main unit, with comma thousands.

    exponent is the currency's number of decimal places (2 for cents): format_money(1_400_000, 2) -> "14,000",
    and a part of the main unit is written with both decimals, as the site and the files write it:
    format_money(1_156_250, 2) -> "11,562.50", never "11,562.5". With 0, amounts print as they are:
    12000 -> "12,000", 1000/3 -> "333.33". A whole number of the smallest unit prints exactly, every decimal it
    has (a file may count in thousandths: format_money(1_234, 3) -> "1.234"); a fraction of it (an Equal Shares
    payment) is rounded to two decimals.
    """
    text = _main_units(amount, exponent)
    if exponent and "." in text:
        whole, decimals = text.split(".")
        text = f"{whole}.{decimals.ljust(min(2, exponent), '0')}"
    return text


def _main_units(amount: int | Fraction, exponent: int) -> str:
    """format_money without padding: the amount in main units, exact or to two decimals, trailing zeros dropped."""
    # In integers: explanations print thousands of amounts, and Fraction arithmetic is slow.
    if isinstance(amount, int):
        whole, rest = divmod(abs(amount), 10**exponent)
        sign = "-" if amount < 0 else ""
        if rest == 0:
            return f"{sign}{whole:,}"
        return f"{sign}{whole:,}.{rest:0{exponent}d}".rstrip("0")
    value = amount if isinstance(amount, Fraction) else Fraction(amount)
    numerator, denominator = value.numerator, value.denominator * 10**exponent
    whole, rest = divmod(numerator, denominator)
    if rest == 0:
        return f"{whole:,}"
    # Equal Shares payments can be fractions of a unit; two decimals are plenty for a reader. Rounded half to even,
    # as round() rounds a Fraction: the floor of 100 * value, plus one above the half (or at it, when odd).
    hundredths, remainder = divmod(numerator * 100, denominator)
    if 2 * remainder > denominator or (2 * remainder == denominator and hundredths % 2):
        hundredths += 1
    whole, cents = divmod(abs(hundredths), 100)
    sign = "-" if hundredths < 0 else ""
    return f"{sign}{whole:,}.{cents:02d}".rstrip("0").rstrip(".")


@dataclass(frozen=True)
class Project:
    """A project on the ballot; cost is a positive integer of the smallest currency unit."""

    id: str
    cost: int
    name: str = ""
    categories: frozenset[str] = frozenset()

    def __post_init__(self) -> None:
        if not isinstance(self.id, str) or not self.id:
            raise TallyError(f"A project id must be a non-empty text, not {self.id!r}.")
        if isinstance(self.cost, bool) or not isinstance(self.cost, int) or self.cost <= 0:
            raise TallyError(f"Project {self.id!r} must cost a positive whole amount, not {self.cost!r}.")
        if self.cost >= MONEY_LIMIT:
            raise TallyError(f"Project {self.id!r} costs 10**200 of the smallest unit or more, more than pb counts.")

    @property
    def label(self) -> str:
        return self.name or self.id


@dataclass(frozen=True)
class Instance:
    """The budget to share out and the projects competing for it."""

    budget: int
    projects: tuple[Project, ...]
    # Used only by greedy-threshold: a project needs at least this score (votes, or points) to be funded.
    min_project_score: int = 0
    # The currency the amounts are counted in and its decimal places (2 for cents): explanations print main units.
    currency: str = ""
    money_exponent: int = 0
    _by_id: dict[str, Project] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if isinstance(self.budget, bool) or not isinstance(self.budget, int) or self.budget < 0:
            raise TallyError(f"The budget must be a whole amount of at least 0, not {self.budget!r}.")
        if self.budget >= MONEY_LIMIT:
            raise TallyError("The budget is 10**200 of the smallest unit or more, more than pb counts.")
        object.__setattr__(self, "projects", tuple(self.projects))
        by_id: dict[str, Project] = {}
        for project in self.projects:
            if project.id in by_id:
                raise TallyError(f"Two projects share the id {project.id!r}.")
            by_id[project.id] = project
        object.__setattr__(self, "_by_id", by_id)

    def project(self, project_id: str) -> Project:
        return self._by_id[project_id]

    def money(self, amount: int | Fraction) -> str:
        """An amount of the smallest unit as a reader sees it in an explanation: money(1_400_000) -> "14,000 EUR"."""
        # Equal Shares payments finer than a cent are rounded (see docs/results.md).
        text = format_money(amount, self.money_exponent)
        # Written the English way; shown in a message, the web rewrites its digits in the reader's number style.
        return Figure(f"{text} {self.currency}" if self.currency else text, "written")

    def __contains__(self, project_id: object) -> bool:
        return project_id in self._by_id


# Amounts are Python integers, but Equal Shares and Phragmén also work with them as floats, which end near 1.8e308.
# Below 10**200 of the smallest unit leaves room for any product with a count; the pabulib reader, which takes
# numbers of at most 100 digits, never reaches it.
MONEY_LIMIT = 10**200

# The rules count votes and points in 64-bit integers (numpy int64), exactly only below 2**63.
COUNT_LIMIT = 2**63


def _check_countable(total: int, what: str) -> None:
    """TallyError unless a total (all votes, or all points times the voters giving them) fits the counting.

    Every sum a rule makes (a project's votes or points, a partial sum of them) is at most this total, so one check
    here spares every rule its own; no real election comes near (it takes a billion voters each giving ten billion
    points), but a file can write any number.
    """
    if total >= COUNT_LIMIT:
        raise TallyError(
            f"The ballots give {total:,} {what} in all, more than pb counts exactly (below 2**63, about "
            f"{COUNT_LIMIT:.2e}); give the points on a smaller scale."
        )


@dataclass(frozen=True, eq=False)
class BallotCodes:
    """A profile's ballots as numbers, made once with the profile: every count starts from these, not from text.

    project_ids lists each project id the ballots name once; codes holds every vote's project as an index into
    it, ballot after ballot (each ballot in the order the profile iterates it); sizes holds each ballot's length,
    and points (points ballots only) the points of each vote, aligned with codes.
    """

    project_ids: tuple[str, ...]
    codes: np.ndarray
    sizes: np.ndarray
    points: np.ndarray | None = None

    @classmethod
    def of(cls, ballots: list, *, with_points: bool) -> "BallotCodes":
        """Codes for approval ballots (collections of ids) or points ballots (tuples of (id, points) pairs)."""
        sizes = np.fromiter(map(len, ballots), dtype=np.int64, count=len(ballots))
        count = int(sizes.sum())
        points = None
        if with_points:
            votes = list(chain.from_iterable(ballots))
            project_ids = tuple(sorted({project_id for project_id, _ in votes}))
            named = map(itemgetter(0), votes)
            points = np.fromiter(map(itemgetter(1), votes), dtype=np.int64, count=count)
        else:  # no list of every vote: a city-wide election has millions
            project_ids = tuple(sorted(set().union(*ballots)))
            named = chain.from_iterable(ballots)
        index = {project_id: code for code, project_id in enumerate(project_ids)}
        codes = np.fromiter(map(index.__getitem__, named), dtype=np.int32, count=count)
        return cls(project_ids, codes, sizes, points)


@dataclass(frozen=True)
class ApprovalProfile:
    """Approval ballots, identical ones grouped as (approved projects, how many voters cast it).

    A voter with an empty ballot still counts as a voter: under Equal Shares they receive a share
    that nobody spends, as pabutools does when it divides the budget by the number of ballots.
    """

    groups: tuple[tuple[frozenset[str], int], ...]
    codes: BallotCodes = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        groups = tuple((frozenset(approved), multiplicity) for approved, multiplicity in self.groups)
        for approved, multiplicity in groups:
            if isinstance(multiplicity, bool) or not isinstance(multiplicity, int) or multiplicity <= 0:
                raise TallyError(f"A ballot must be cast a positive number of times, not {multiplicity!r}.")
            if not all(isinstance(project_id, str) for project_id in approved):
                raise TallyError("A ballot must name projects by their id.")
        _check_countable(sum(multiplicity for _, multiplicity in groups), "votes")
        object.__setattr__(self, "groups", groups)
        object.__setattr__(self, "codes", BallotCodes.of([approved for approved, _ in groups], with_points=False))

    @classmethod
    def from_ballots(cls, ballots: Iterable[Iterable[str]]) -> "ApprovalProfile":
        counts: Counter[frozenset[str]] = Counter()
        for ballot in ballots:
            if isinstance(ballot, str):
                raise TallyError(f"A ballot must be a collection of project ids, not the text {ballot!r}.")
            counts[frozenset(ballot)] += 1
        return cls(tuple(counts.items()))

    @property
    def voter_count(self) -> int:
        return sum(multiplicity for _, multiplicity in self.groups)

    def approvals(self, project_id: str) -> int:
        return sum(multiplicity for approved, multiplicity in self.groups if project_id in approved)

    def validate(self, instance: Instance) -> None:
        named = {project_id for approved, _ in self.groups for project_id in approved}
        unknown = sorted(project_id for project_id in named if project_id not in instance)
        if unknown:
            names = ", ".join(repr(project_id) for project_id in unknown)
            raise TallyError(f"A ballot approves project(s) that are not on the ballot paper: {names}.")


@dataclass(frozen=True)
class PointsProfile:
    """Cumulative or scoring ballots: each voter gives points to projects; identical ballots are grouped.

    A ballot is a tuple of (project id, points) pairs sorted by project id, with points > 0; ordinal
    ballots reach the rules already turned into points by the reader that knows the city's scoring.
    """

    groups: tuple[tuple[tuple[tuple[str, int], ...], int], ...]
    codes: BallotCodes = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        groups, total = [], 0
        for ballot, multiplicity in self.groups:
            if isinstance(multiplicity, bool) or not isinstance(multiplicity, int) or multiplicity <= 0:
                raise TallyError(f"A ballot must be cast a positive number of times, not {multiplicity!r}.")
            pairs = tuple(sorted(dict(ballot).items()))
            for project_id, points in pairs:
                if not isinstance(project_id, str):
                    raise TallyError("A ballot must name projects by their id.")
                if isinstance(points, bool) or not isinstance(points, int) or points <= 0:
                    raise TallyError(f"Points must be positive whole numbers, not {points!r} for {project_id!r}.")
                total += multiplicity * points
            groups.append((pairs, multiplicity))
        _check_countable(total, "points")
        object.__setattr__(self, "groups", tuple(groups))
        object.__setattr__(self, "codes", BallotCodes.of([pairs for pairs, _ in groups], with_points=True))

    @classmethod
    def from_ballots(cls, ballots: Iterable[Mapping[str, int]]) -> "PointsProfile":
        counts: Counter[tuple[tuple[str, int], ...]] = Counter()
        for ballot in ballots:
            counts[tuple(sorted((pid, points) for pid, points in dict(ballot).items() if points))] += 1
        return cls(tuple(counts.items()))

    @property
    def voter_count(self) -> int:
        return sum(multiplicity for _, multiplicity in self.groups)

    def points(self, project_id: str) -> int:
        return sum(dict(ballot).get(project_id, 0) * multiplicity for ballot, multiplicity in self.groups)

    def approvals(self, project_id: str) -> int:
        """How many voters gave the project any points."""
        return sum(multiplicity for ballot, multiplicity in self.groups if project_id in dict(ballot))

    def as_approval(self) -> ApprovalProfile:
        return ApprovalProfile(tuple((frozenset(pid for pid, _ in ballot), m) for ballot, m in self.groups))

    def validate(self, instance: Instance) -> None:
        self.as_approval().validate(instance)


Profile = ApprovalProfile | PointsProfile


@dataclass(frozen=True)
class ProjectResult:
    """What happened to one project and why, in words a resident can read."""

    project_id: str
    votes: int
    is_selected: bool
    round: int | None
    phase: str | None
    explanation: str
    supporter_payment: str | None = None


@dataclass(frozen=True)
class Outcome:
    """A rule's result: the single source for the results page, charts, exports and the CLI."""

    rule: str
    tie_break: str
    budget: int
    selected: tuple[str, ...]
    spent: int
    votes: dict[str, int]
    projects: dict[str, ProjectResult]
    parameters: dict[str, str]

    @property
    def left(self) -> int:
        return self.budget - self.spent
