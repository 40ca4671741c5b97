"""One run of Equal Shares, fast and exact: floats find the decision, integers and Fractions settle it.

Notation. Each ballot group ``i`` (multiplicity ``w_i``) gives project ``p`` a utility ``u_ip``: 1 for an
approval ballot (the price ``pi`` is then what each supporter pays, and projects compete on
``pi / cost``, i.e. cost utilities) or the points given on a points ballot (each supporter pays
``pi * u_ip`` and projects compete on ``pi``). A project's price solves
``sum_i w_i * min(m_i, pi * u_ip) == cost`` over its supporters' money ``m_i``; each round funds the
project with the lowest key ``pi / scale`` (ties: tie-break rank), until no project is affordable.

Exactness argument (why no float can change a decision):

* Money is kept exactly. A group's money is its "money class": either exhausted (exactly 0) or
  ``b - sum_r pi_r * H[k, r]``, where ``b`` is the exact voter budget, ``pi_r`` the exact price paid in
  round ``r`` and ``H[k, r]`` the integer utility the class paid in round ``r``. Classes never change
  value; paying creates new ones. Exact sums over any set of groups are therefore integer matrix
  products ``counts @ H`` followed by one exact dot product with the prices, kept as integer numerators
  over one common denominator ``D``. Every funded project's price is computed this way, exactly.
* Floats are only used to choose. A class's float money is within ``e_m = (2R + 4) * 2**-53 * b`` of
  its exact value after ``R`` rounds (each of its at most ``R`` subtractions rounds once, each price is
  the correctly rounded exact one and ``pi * u <= m <= b``). For a candidate, ``g(pi) = sum w min(m,
  pi u)`` moves by at most ``W * e_m`` between float and exact money, the float solution solves the
  float equation up to ``rho`` (a bound on the rounding of its sums), and ``g`` rises at least as fast
  as the total utility ``s`` of the supporters that stay rich over the whole error interval; so the
  exact price is within ``(W * e_m + rho) / s`` of the float one (``infinite`` when that cannot be
  shown). A candidate is decided in floats only when its interval cannot reach the best one's; all
  others within reach are re-priced exactly and compared as Fractions with the tie-break. Affordability
  ``sum w m >= cost`` is decided the same way, exactly when within ``W * e_m`` plus rounding.
* Who pays all they have (``m < pi * u``) is re-checked against the exact price: groups whose float
  margin is within ``e_m`` plus rounding are compared exactly; any disagreement re-solves the price
  with exact water-filling.

Add1 (see ``check_range``, ``Bracket`` and ``add1_runs``). Runs at neighbouring budgets are compared
rather than repeated: monotonicity in the budget proves that a whole range of budgets makes the same
decisions, up to the order of consecutive rounds whose projects no group supports two of (their order
changes no price and no money left), and where the supporters of each funded project split the same
way at both ends of a range, money and prices are affine in the budget across it, which both settles
near ties and gives the exact prices at any budget inside without pricing anything. Where they do not,
bounds on how fast money and keys can move with the budget (``_Slopes``) settle most near ties still.

Speed. A run leaves out from the start every project whose supporters' whole shares fall short of its
cost (in Wieliczka's Add1 runs, a third to a half of them). Each round quotes projects by a lower bound
on their key (stale keys only rise; before its first quote a project's key is at least
``cost / total utility`` over its scale), stopping once no bound can come within reach of the best
quote. A quote tests its error bounds on the poorest supporter (the smallest margin over the price)
first, which settles most tests for all supporters at once. New money
classes are numbered with a table rather than a sort when the table is small; exact sums over a few groups
gather their history rows rather than group them by class, and add them up as floats (integers far below
2**53, so exactly). Exact prices are built as one integer numerator over one denominator, normalised once.
Float dot products are cut into pieces small enough that OpenBLAS does not wake its threads for them, and
row sums use einsum, which never calls it. Most calls are on a few hundred numbers, where each numpy call
costs more than its arithmetic: the hot paths count numpy calls (``count_nonzero`` rather than ``any``).
"""

import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from fractions import Fraction
from math import gcd
from operator import mul

import numpy as np

from pb.domain.tally.model import TallyError
from pb.domain.tally.rules.common import ones_views

_UNIT = 2.0**-53
_EXHAUSTED, _FRESH = 0, 1  # the two classes every run starts with
# OpenBLAS splits a float dot product over threads from about 10,000 terms; waking them costs far
# more than the product, so long products are summed in single-threaded pieces.
_DOT_PIECE = 8192


def dot(a: np.ndarray, b: np.ndarray) -> float:
    """Float dot product (any order of summation: the error bounds below allow for it)."""
    n = len(a)
    if n <= _DOT_PIECE:
        return float(a.dot(b))
    return float(sum(np.dot(a[i : i + _DOT_PIECE], b[i : i + _DOT_PIECE]) for i in range(0, n, _DOT_PIECE)))


@dataclass
class EngineElection:
    """The election in array form, built once and shared by every run (Add1 reruns many)."""

    ids: list[str]  # engine index -> project id (projects with at least one supporter)
    cost: list[int]
    scale: list[int]  # key = price / scale: the cost for approval ballots (cost utilities), 1 for points
    rank: list[int]  # tie-break position, lower wins
    supporters: list[np.ndarray]  # group indices (int64)
    utility: list[np.ndarray]  # int64 utilities aligned with supporters
    utility_float: list[np.ndarray]
    weight: list[np.ndarray]  # int64 multiplicities aligned with supporters
    weight_float: list[np.ndarray]
    weighted_utility: list[np.ndarray]  # float w * u
    total_utility: list[int]  # sum w * u
    total_utility_float: list[float]
    supporter_count: list[int]  # sum w
    group_count: int
    voter_count: int
    is_points: bool
    incidences: int  # how many (group, project) supports there are
    first_bound: np.ndarray  # a lower bound on each project's key before any purchase (see _Search)
    max_utility: int  # the most utility any group gets from one project (1 for approval ballots)
    project_max_utility: list[float]  # the most utility any group gets from each project


def engine_election(
    ids: list[str],
    cost: dict[str, int],
    rank: dict[str, int],
    supporters: dict[str, tuple[int, ...]],
    points: dict[str, tuple[int, ...]] | None,
    multiplicities: tuple[int, ...],
) -> EngineElection:
    weights = np.asarray(multiplicities, dtype=np.int64)
    kept = [p for p in ids if len(supporters[p])]
    sup = [np.asarray(supporters[p], dtype=np.int64) for p in kept]
    wts = [weights[s] for s in sup]
    weight_float = [w.astype(np.float64) for w in wts]
    if points is None:
        # Every approval is worth 1: read-only views of ones stand for the utilities, and w * u is w, which
        # spares three arrays the size of the profile (a city-wide election has millions of approvals).
        util = ones_views([len(s) for s in sup], np.int64)
        util_float = ones_views([len(s) for s in sup], np.float64)
        weighted = weight_float
        total = [int(w.sum()) for w in wts]
        max_utility, project_max_utility = 1, [1.0] * len(kept)
    else:
        util = [np.asarray(points[p], dtype=np.int64) for p in kept]
        util_float = [u.astype(np.float64) for u in util]
        weighted = [(w * u).astype(np.float64) for w, u in zip(wts, util)]
        total = [int(np.dot(w, u)) for w, u in zip(wts, util)]
        max_utility = max((int(u.max()) for u in util if len(u)), default=1)
        project_max_utility = [float(u.max()) for u in util]
    # Exact sums of w * u (and of w * the utility paid in a round) over any groups are added as floats: exact
    # because no such sum exceeds voter count * max utility. An election too large for that is refused (no real
    # one comes near: it takes some 9 * 10**15 voter-points, a billion voters giving ten million points each).
    voters = int(weights.sum())
    if voters * max_utility >= 2**53:
        raise TallyError(
            f"Equal Shares cannot count this election exactly: {voters:,} voters and up to {max_utility:,} points on "
            "a ballot are too many to add up exactly; give the points on a smaller scale."
        )
    return EngineElection(
        ids=kept,
        cost=[cost[p] for p in kept],
        scale=[1 if points is not None else cost[p] for p in kept],
        rank=[rank[p] for p in kept],
        supporters=sup,
        utility=util,
        utility_float=util_float,
        weight=wts,
        weight_float=weight_float,
        weighted_utility=weighted,
        total_utility=total,
        total_utility_float=[float(t) for t in total],
        supporter_count=[int(w.sum()) for w in wts],
        group_count=len(multiplicities),
        voter_count=int(weights.sum()),
        is_points=points is not None,
        incidences=sum(len(s) for s in sup),
        # Everyone paying the full price: the price is at least cost / total utility (less a rounding margin).
        first_bound=np.array(
            [
                c / t / (1 if points is not None else c) * (1 - 8 * _UNIT)
                for c, t in zip((cost[p] for p in kept), total)
            ],
            dtype=np.float64,
        ),
        max_utility=max_utility,
        project_max_utility=project_max_utility,
    )


@dataclass
class Purchase:
    """One round: the project (engine index), its exact price and who paid how."""

    project: int
    price: Fraction  # per unit of utility (per supporter for approval ballots)
    poor: np.ndarray  # bool, aligned with the project's supporters: paid all they had (less than price * u)
    poor_classes: np.ndarray  # money class, just before paying, of each supporter in poor (in order)
    zero: np.ndarray  # bool, aligned with the project's supporters: had exactly price * u, so ended with 0


@dataclass
class Run:
    voter_budget: Fraction
    purchases: list[Purchase]
    spent: int
    is_overspent: bool
    money_class: np.ndarray  # final class of every group
    state: "_Money" = field(repr=False)
    # A search at this run's budget replaying its first purchases, kept for checks from this run (see _LowState).
    replay: "_Search | None" = field(default=None, repr=False, compare=False)

    def selected(self) -> list[int]:
        return [purchase.project for purchase in self.purchases]


class _Money:
    """Money classes: exact values as integer histories over exact prices, plus float copies."""

    def __init__(self, election: EngineElection, voter_budget: Fraction) -> None:
        rounds = max(1, len(election.ids))
        # A class pays 0 or one group's utility per round (1 for approval ballots): the narrowest integers
        # that hold that keep new classes cheap to copy.
        dtype = np.min_scalar_type(election.max_utility)
        capacity = 2 + min(election.incidences, 4 * election.group_count + 1024)
        # Rows are written whole when a class is created; only the two starting classes need zeros, and
        # leaving the rest unwritten spares every Add1 run from clearing memory it may never use.
        self.history = np.empty((capacity, rounds), dtype=dtype)
        self.history[:2] = 0
        self.value = np.empty(capacity, dtype=np.float64)
        self.value[_EXHAUSTED], self.value[_FRESH] = 0.0, float(voter_budget)
        self.count = 2
        self.group_class = np.full(election.group_count, _FRESH, dtype=np.int64)
        self.denominator = voter_budget.denominator  # D: every exact price and b are numerators over it
        self.budget_numerator = voter_budget.numerator
        self.price_numerators: list[int] = []
        self.budget_float = float(voter_budget)
        self.rounds = 0
        self.is_points = election.is_points

    def error(self) -> float:
        """e_m: how far any class's float money can be from its exact value."""
        return (2 * self.rounds + 4) * _UNIT * self.budget_float * 1.01

    def exact_sum(self, classes: np.ndarray, weights: np.ndarray) -> Fraction:
        """Exact sum of w * money over groups in the given classes."""
        return Fraction(self.exact_numerator(classes, weights), self.denominator)

    def exact_numerator(self, classes: np.ndarray, weights: np.ndarray) -> int:
        """exact_sum(classes, weights) * D, an integer (D = self.denominator)."""
        weights_float = weights.astype(np.float64)
        live = classes != _EXHAUSTED
        # The float products below add integers whose total, at most the voter count times the largest utility, is
        # far below 2**53: they are exact whatever the order of summation. einsum rather than a matrix product:
        # OpenBLAS would wake its threads for a large one (see _DOT_PIECE).
        if len(classes) * 16 < self.count:
            # Few groups among many classes: gathering every group's history row beats grouping them by class.
            # The exhausted class's row is all zeros, so only its weight needs leaving out.
            live_weight = dot(weights_float, live)
            paid = np.einsum("i,ij->j", weights_float, self.history[classes, : self.rounds])
        else:
            # Class numbers are below self.count: counting by number is cheaper than sorting them.
            by_class = np.bincount(classes[live], weights=weights_float[live])
            unique = by_class.nonzero()[0]
            counts = by_class[unique]
            live_weight = float(counts.sum())
            paid = np.einsum("i,ij->j", counts, self.history[unique, : self.rounds])
        return self.budget_numerator * int(live_weight) - sum(
            map(mul, self.price_numerators, paid.astype(np.int64).tolist())
        )

    def exact_values(self, classes: np.ndarray) -> list[Fraction]:
        paid = self.history[classes, : self.rounds].astype(np.int64).tolist()
        out = []
        for cls, row in zip(classes.tolist(), paid):
            if cls == _EXHAUSTED:
                out.append(Fraction(0))
                continue
            numerator = self.budget_numerator - sum(n * a for n, a in zip(self.price_numerators, row) if a)
            out.append(Fraction(numerator, self.denominator))
        return out

    def add_price(self, price: Fraction) -> None:
        lcm = self.denominator * price.denominator // gcd(self.denominator, price.denominator)
        factor = lcm // self.denominator
        if factor != 1:
            self.price_numerators = [n * factor for n in self.price_numerators]
            self.budget_numerator *= factor
            self.denominator = lcm
        self.price_numerators.append(price.numerator * (lcm // price.denominator))

    def pay(
        self, supporters: np.ndarray, utility: np.ndarray, payers: np.ndarray, zeroed: np.ndarray, price: Fraction
    ) -> None:
        """Round r: groups in payers pay price * u (new classes); zeroed ones end exhausted."""
        r = self.rounds
        self.add_price(price)
        classes = self.group_class
        if np.count_nonzero(zeroed):
            classes[supporters[zeroed]] = _EXHAUSTED
        if np.count_nonzero(payers):
            groups = supporters[payers]
            old = classes[groups]
            if self.is_points:
                u = utility[payers]
                radix = int(u.max()) + 1
                key = old * radix + u
            else:
                # Every payer pays one unit of utility: the new class depends on the old one alone.
                radix, key = 1, old
            unique, inverse = _numbered(key, self.count * radix)
            parents, amounts = np.divmod(unique, radix) if radix > 1 else (unique, 1)
            # New classes are numbered in the order of their keys, after the existing ones.
            first, self.count = self.count, self.count + len(unique)
            self._grow(self.count)
            self.history[first : self.count] = self.history[parents]
            self.history[first : self.count, r] = amounts
            self.value[first : self.count] = self.value[parents] - float(price) * amounts
            inverse += first
            classes[groups] = inverse
        self.rounds += 1

    def _grow(self, needed: int) -> None:
        if needed <= len(self.value):
            return
        size = max(needed, 2 * len(self.value))
        history = np.empty((size, self.history.shape[1]), dtype=self.history.dtype)
        history[: self.count] = self.history[: self.count]
        value = np.empty(size, dtype=np.float64)
        value[: self.count] = self.value[: self.count]
        self.history, self.value = history, value


def _sorted_price(
    cost: int, money: np.ndarray, u: np.ndarray, w: np.ndarray, wu: np.ndarray
) -> tuple[float | None, np.ndarray, float]:
    """Float water-filling by one sort: the first supporter (by money per utility) who can pay the price."""
    order = np.argsort(money / u, kind="stable")
    paid_before = np.concatenate(([0.0], np.cumsum((w * money)[order])[:-1]))
    utility_from = float(wu.sum()) - np.concatenate(([0.0], np.cumsum(wu[order])[:-1]))
    with np.errstate(divide="ignore", invalid="ignore"):
        prices = (cost - paid_before) / utility_from
    fits = (utility_from > 0) & (money[order] >= prices * u[order])
    if not fits.any():
        return None, np.ones(len(money), dtype=bool), 0.0
    k = int(np.argmax(fits))
    poor = np.zeros(len(money), dtype=bool)
    poor[order[:k]] = True
    return float(prices[k]), poor, float(paid_before[k])


def within_reach(election: EngineElection, voter_budget: Fraction) -> Iterator[bool]:
    """For each project, whether its supporters' whole shares cover its cost (exactly, in integers).

    Money only falls, so a project out of reach at the start of a run stays so throughout.
    """
    share, denominator = voter_budget.numerator, voter_budget.denominator
    return (
        supporters * share >= cost * denominator for supporters, cost in zip(election.supporter_count, election.cost)
    )


def water_fill(
    cost: float, total: float, money: np.ndarray, w: np.ndarray, passes: int, dot_product: Callable = dot
) -> tuple[float | None, np.ndarray, float, float]:
    """Float water-filling for approval ballots, from the equal price cost / total (total: the weight w sums to).

    Whoever cannot pay the price pays all they have and the others share the rest, pass after pass, until a
    pass finds nobody more short (the poor only grow, as the price only rises). Returns the price (None if
    passes ran out), who pays all they have, what they pay (weighted) and the weight of the others, which
    is <= 0 when rounding put everyone among the poor (the price is then not meaningful).
    """
    price = cost / total
    poor = money < price
    poor_count = int(np.count_nonzero(poor))
    paying = w * money
    poor_money, rich_utility = 0.0, total
    for _ in range(passes):
        poor_money = dot_product(paying, poor)
        rich_utility = total - dot_product(w, poor)
        if rich_utility <= 0.0:
            return price, poor, poor_money, rich_utility
        price = (cost - poor_money) / rich_utility
        poor |= money < price
        count = int(np.count_nonzero(poor))
        if count == poor_count:
            return price, poor, poor_money, rich_utility
        poor_count = count
    return None, poor, poor_money, rich_utility


def _numbered(key: np.ndarray, bound: int) -> tuple[np.ndarray, np.ndarray]:
    """np.unique(key, return_inverse=True) for keys in range(bound): the distinct keys and each key's index."""
    if len(key) * 16 >= bound:
        # Marking keys in a table is cheaper than sorting them.
        is_key = np.zeros(bound, dtype=bool)
        is_key[key] = True
        unique = is_key.nonzero()[0]
        renumber = np.empty(bound, dtype=np.int64)
        renumber[unique] = np.arange(len(unique))
        return unique, renumber[key]
    order = key.argsort()
    ordered = key[order]
    is_first = np.empty(len(key), dtype=bool)
    is_first[:1] = True
    np.not_equal(ordered[1:], ordered[:-1], out=is_first[1:])
    inverse = np.empty(len(key), dtype=np.int64)
    inverse[order] = is_first.cumsum() - 1
    return ordered[is_first], inverse


@dataclass(slots=True)
class _Quote:
    """A candidate priced in floats: key = price / scale, with a proven bound on its error."""

    project: int
    key: float
    error: float  # |exact key - key| <= error (inf when not shown)
    price: float
    poor: np.ndarray
    money: np.ndarray
    classes: np.ndarray


class _Search:
    """One run's round loop."""

    def __init__(self, election: EngineElection, voter_budget: Fraction) -> None:
        self.election = election
        self.money = _Money(election, voter_budget)
        count = len(election.ids)
        # Projects found unaffordable from the start rather than one quote at a time.
        self.is_remaining = np.fromiter(within_reach(election, voter_budget), dtype=bool, count=count)
        self.rank = np.asarray(election.rank, dtype=np.int64)
        # Stale keys only rise (money only falls): a conservative lower bound orders the scan. It starts
        # at the key with everyone paying the full price: the price is at least cost / total utility.
        self.lower_bound = election.first_bound.copy()
        self.voter_budget = voter_budget
        self.purchases: list[Purchase] = []
        self.spent = 0

    # ---- affordability -------------------------------------------------------------------------
    def is_affordable(self, p: int, money: np.ndarray, classes: np.ndarray, e_m: float) -> bool:
        """Whether p's supporters (float money, money classes) have its cost between them; e_m: error()."""
        e = self.election
        cost = e.cost[p]
        available = dot(e.weight_float[p], money)
        slack = e.supporter_count[p] * e_m + (len(money) + 4) * _UNIT * 2 * (available + cost)
        if available >= cost + slack:
            return True
        if available <= cost - slack:
            return False
        money_state = self.money
        return money_state.exact_numerator(classes, e.weight[p]) >= cost * money_state.denominator

    # ---- float pricing -------------------------------------------------------------------------
    def quote(self, p: int) -> _Quote | None:
        """Price p in floats with an error bound; None if its supporters cannot afford it (exactly)."""
        e = self.election
        if not e.is_points:
            return self._quote_approval(p)
        money_state = self.money
        classes = money_state.group_class[e.supporters[p]]
        money = money_state.value[classes]
        e_m = money_state.error()
        if not self.is_affordable(p, money, classes, e_m):
            return None
        cost, u, w, wu = e.cost[p], e.utility_float[p], e.weight_float[p], e.weighted_utility[p]
        total = e.total_utility_float[p]
        poor_money = 0.0
        price = cost / total
        owed = price * u
        poor = money < owed
        poor_count = int(np.count_nonzero(poor))
        if poor_count:
            # Water-filling: whoever cannot pay the equal price pays all they have; usually two or three
            # passes, cheaper than sorting; a long chain falls back to one sort. The poor only grow (as in
            # exact water-filling, where the price only rises): a pass that adds nobody has found the price.
            paying = w * money
            for passes in range(7):
                poor_money = dot(paying, poor)
                # w * u are integers whose total is far below 2**53: the float sum is exact.
                rich_utility = total - dot(wu, poor)
                if rich_utility <= 0.0:
                    # Rounding put everyone among the poor; only exact arithmetic can price this one.
                    return _Quote(p, 0.0, float("inf"), 0.0, poor, money, classes)
                price = (cost - poor_money) / rich_utility
                owed = price * u
                poor |= money < owed
                count = int(np.count_nonzero(poor))
                if count == poor_count:
                    break
                poor_count = count
            else:
                price, poor, poor_money = _sorted_price(cost, money, u, w, wu)
                if price is None:
                    return _Quote(p, 0.0, float("inf"), 0.0, np.ones(len(money), dtype=bool), money, classes)
                owed = price * u
        margin = money - owed
        # Each bound is tested against the smallest margin first, with the largest utility and float money
        # at most the voter budget plus its error: when that settles it, it holds for every supporter.
        least_margin, most_utility = float(margin.min()), e.project_max_utility[p]
        if least_margin > 2 * e_m + 8 * _UNIT * (money_state.budget_float + e_m + price * most_utility):
            s = total
        else:
            band = np.abs(money)
            band += owed
            band *= 8 * _UNIT
            band += 2 * e_m
            s = dot(wu, margin > band)
        rho = 4 * (len(money) + 8) * _UNIT * (cost + poor_money + price * total)
        error = float("inf")
        if s > 0:
            # Supporters whose margin covers twice the first estimate stay rich over the whole error
            # interval; if their utility alone still gives an error within that, the bound holds.
            first = (e.supporter_count[p] * e_m + rho) / s * 1.01
            if least_margin >= 2 * e_m + 2 * first * most_utility:
                s_steady = total
            else:
                s_steady = dot(wu, margin >= 2 * e_m + 2 * first * u)
            if s_steady > 0:
                delta = (e.supporter_count[p] * e_m + rho) / s_steady * 1.01
                if delta <= 2 * first:
                    error = delta + 4 * _UNIT * price
        scale = e.scale[p]
        return _Quote(p, price / scale, error / scale + 4 * _UNIT * price / scale, price, poor, money, classes)

    def _quote_approval(self, p: int) -> _Quote | None:
        """quote() for approval ballots: every utility is 1, so bounds over all supporters are scalars.

        The same bounds as the general case, each tested against the poorest supporter first: one
        minimum often settles a test for every supporter at once. Weighted sums over a subset are dot
        products with the subset's mask (sums of integer weights, so exact).
        """
        e, money_state = self.election, self.money
        classes = money_state.group_class[e.supporters[p]]
        money = money_state.value[classes]
        cost, w = e.cost[p], e.weight_float[p]
        e_m = money_state.error()
        if not self.is_affordable(p, money, classes, e_m):
            return None
        total = e.total_utility_float[p]
        poor_money = 0.0
        price = cost / total
        poorest = float(money.min())
        if poorest >= price:
            poor = np.zeros(len(money), dtype=bool)
        else:
            # Usually two or three passes, cheaper than sorting; a long chain falls back to one sort.
            filled, poor, poor_money, rich_utility = water_fill(cost, total, money, w, 9)
            if rich_utility <= 0.0:
                # Rounding put everyone among the poor; only exact arithmetic can price this one.
                return _Quote(p, 0.0, float("inf"), 0.0, poor, money, classes)
            if filled is not None:
                price = filled
            else:
                wu = e.weighted_utility[p]
                price, poor, poor_money = _sorted_price(cost, money, e.utility_float[p], w, wu)
                if price is None:
                    return _Quote(p, 0.0, float("inf"), 0.0, np.ones(len(money), dtype=bool), money, classes)
        rho = 4 * (len(money) + 8) * _UNIT * (cost + poor_money + price * total)
        # Float money is at most the voter budget plus its error, so one band serves every supporter.
        clear_above = price + (2 * e_m + 8 * _UNIT * (money_state.budget_float + e_m + price))
        s = total if poorest > clear_above else dot(w, money > clear_above)
        error = float("inf")
        if s > 0:
            # Supporters whose margin covers twice the first estimate stay rich over the whole error
            # interval; if their utility alone still gives an error within that, the bound holds.
            first = (e.supporter_count[p] * e_m + rho) / s * 1.01
            steady_from = price + (2 * e_m + 2 * first)
            s_steady = total if poorest >= steady_from else dot(w, money >= steady_from)
            if s_steady > 0:
                delta = (e.supporter_count[p] * e_m + rho) / s_steady * 1.01
                if delta <= 2 * first:
                    error = delta + 4 * _UNIT * price
        scale = e.scale[p]
        return _Quote(p, price / scale, error / scale + 4 * _UNIT * price / scale, price, poor, money, classes)

    # ---- exact pricing -------------------------------------------------------------------------
    def exact_price(self, quote: _Quote) -> tuple[Fraction, np.ndarray, np.ndarray]:
        """The exact price, who pays all they have (poor) and which payers end with exactly 0."""
        p = quote.project
        poor = quote.poor.copy()
        for _ in range(3):
            price = self._price_for(p, poor, quote.classes)
            ok, poor_new, zero = self._check_classification(p, price, poor, quote)
            if ok:
                return price, poor, zero
            poor = poor_new
        return self._exact_water_filling(p, quote.classes)

    def _price_for(self, p: int, poor: np.ndarray, classes: np.ndarray) -> Fraction | None:
        e, money = self.election, self.money
        # w * u are integers whose total is far below 2**53: the float sum is exact.
        rich_utility = e.total_utility[p] - int(dot(e.weighted_utility[p], poor))
        if rich_utility == 0:
            return None
        # (cost - paid) / rich_utility with paid = paid_numerator / D, normalised once.
        paid_numerator = money.exact_numerator(classes[poor], e.weight[p][poor]) if poor.any() else 0
        return Fraction(e.cost[p] * money.denominator - paid_numerator, money.denominator * rich_utility)

    def _check_classification(
        self, p: int, price: Fraction | None, poor: np.ndarray, quote: _Quote
    ) -> tuple[bool, np.ndarray, np.ndarray]:
        e = self.election
        if price is None or price.numerator < 0:  # a Fraction's sign is its numerator's
            return False, poor, poor
        price_float = float(price)
        if e.is_points:
            owed = price_float * e.utility_float[p]
            margin = quote.money - owed
            tolerance = np.abs(quote.money)
            tolerance += owed
            tolerance *= 8 * _UNIT
            tolerance += 2 * self.money.error()
            is_poor = margin < 0
            np.abs(margin, out=margin)
            unclear = margin <= tolerance
        else:
            # Every utility is 1 and float money is at most the voter budget plus its error: one band.
            e_m = self.money.error()
            tolerance = 2 * e_m + 8 * _UNIT * (self.money.budget_float + e_m + price_float)
            money = quote.money
            unclear = (money >= price_float - tolerance) & (money <= price_float + tolerance)
            is_poor = money < price_float
        zero = np.zeros(len(poor), dtype=bool)
        if np.count_nonzero(unclear):
            where = np.nonzero(unclear)[0]
            values = self.money.exact_values(quote.classes[where])
            utilities = e.utility[p][where].tolist()
            for index, value, utility in zip(where.tolist(), values, utilities):
                owed = price * utility
                is_poor[index] = value < owed
                zero[index] = value == owed
        # Exhausted groups pay 0 and count among those who paid less, whatever the price.
        is_poor |= quote.classes == _EXHAUSTED
        zero &= ~is_poor
        if not np.count_nonzero(is_poor != poor):
            return True, poor, zero
        return False, is_poor, zero

    def _exact_water_filling(self, p: int, classes: np.ndarray) -> tuple[Fraction, np.ndarray, np.ndarray]:
        e = self.election
        values = self.money.exact_values(classes)
        utilities = e.utility[p].tolist()
        weights = e.weight[p].tolist()
        order = sorted(range(len(values)), key=lambda i: values[i] / utilities[i])
        remaining_cost = Fraction(e.cost[p])
        rich_utility = sum(w * u for w, u in zip(weights, utilities))
        poor = np.zeros(len(values), dtype=bool)
        for i in order:
            price = remaining_cost / rich_utility
            if values[i] >= price * utilities[i]:
                break
            poor[i] = True
            remaining_cost -= weights[i] * values[i]
            rich_utility -= weights[i] * utilities[i]
        price = remaining_cost / rich_utility
        zero = np.array([not poor[i] and values[i] == price * utilities[i] for i in range(len(values))], dtype=bool)
        poor |= classes == _EXHAUSTED
        return price, poor, zero

    def exact_key(self, quote: _Quote) -> tuple[Fraction, tuple[Fraction, np.ndarray, np.ndarray]]:
        priced = self.exact_price(quote)
        return priced[0] / self.election.scale[quote.project], priced

    # ---- rounds --------------------------------------------------------------------------------
    def candidates(
        self, bound: float, *, is_fixed_bound: bool = False, known: dict[int, _Quote] | None = None
    ) -> list[_Quote]:
        """Quote remaining projects by rising lower bound until none can come within reach.

        Within reach means a key possibly at most `bound`, and unless is_fixed_bound, at most the best
        upper bound found so far (the usual search for the cheapest key). known: quotes already made in
        this state, used rather than made again.
        """
        quotes: list[_Quote] = []
        best_upper = bound
        remaining = self.is_remaining.nonzero()[0]
        order = remaining[np.lexsort((self.rank[remaining], self.lower_bound[remaining]))]
        for p, lower in zip(order.tolist(), self.lower_bound[order].tolist()):
            if lower > best_upper:
                break
            quote = known[p] if known is not None and p in known else self.quote(p)
            if quote is None:
                self.is_remaining[p] = False
                continue
            self.lower_bound[p] = max(lower, quote.key - quote.error)
            quotes.append(quote)
            if not is_fixed_bound:
                best_upper = min(best_upper, quote.key + quote.error)
        return [q for q in quotes if q.key - q.error <= best_upper]

    def choose(self) -> tuple[_Quote, tuple[Fraction, np.ndarray, np.ndarray]] | None:
        quotes = self.candidates(float("inf"))
        if not quotes:
            return None
        if len(quotes) == 1:
            return quotes[0], self.exact_price(quotes[0])
        rank = self.election.rank
        keyed = [(*self.exact_key(q), q) for q in quotes]
        _, priced, quote = min(keyed, key=lambda item: (item[0], rank[item[2].project]))
        return quote, priced

    def buy(self, quote: _Quote, priced: tuple[Fraction, np.ndarray, np.ndarray]) -> Purchase:
        price, poor, zero = priced
        return self.buy_at(quote.project, price, poor, zero)

    def buy_at(self, p: int, price: Fraction, poor: np.ndarray, zero: np.ndarray) -> Purchase:
        """Fund p at an exact price already known, with who pays all they have (poor) and who ends at 0."""
        e = self.election
        zeroed = poor | zero
        purchase = Purchase(p, price, poor, self.money.group_class[e.supporters[p][poor]], zero)
        self.money.pay(e.supporters[p], e.utility[p], ~zeroed, zeroed, price)
        self.is_remaining[p] = False
        self.purchases.append(purchase)
        self.spent += e.cost[p]
        return purchase

    def take_bounds(self, richer: "_Search") -> None:
        """Adopt the key bounds of a search at a higher budget that has made the same purchases.

        With more money every key is at most as high (monotonicity), so its lower bounds hold here too,
        and a project its supporters cannot afford there they cannot afford here.
        """
        np.maximum(self.lower_bound, richer.lower_bound, out=self.lower_bound)
        self.is_remaining &= richer.is_remaining

    def replay(self, purchase: Purchase) -> None:
        """Make a purchase recorded by a run at the same voter budget (the state then matches that run's)."""
        self.buy_at(purchase.project, purchase.price, purchase.poor, purchase.zero)

    def finish(self, spend_limit: int | None = None) -> Run:
        """Run the remaining rounds; stop as soon as more than spend_limit is spent."""
        while True:
            chosen = self.choose()
            if chosen is None:
                return self.result(is_overspent=False)
            self.buy(*chosen)
            if spend_limit is not None and self.spent > spend_limit:
                return self.result(is_overspent=True)

    def result(self, *, is_overspent: bool) -> Run:
        return Run(self.voter_budget, self.purchases, self.spent, is_overspent, self.money.group_class, self.money)


def run_equal_shares(election: EngineElection, voter_budget: Fraction, spend_limit: int | None = None) -> Run:
    """One run of Equal Shares; stops as soon as it has spent more than spend_limit."""
    return _Search(election, voter_budget).finish(spend_limit)


def _is_steady(poor_low: np.ndarray, zero_low: np.ndarray, poor_high: np.ndarray, zero_high: np.ndarray) -> bool:
    """Whether a project's supporters split the same way at two budgets.

    True when no supporter has less than its share of the price (so pays all it has) at one budget and
    more than its share at the other, and some supporter pays its share at both. Then one formula,
    (cost - money of those paying all they have) / utility of the others, gives the price at both.
    """
    # On booleans a > b is a & ~b: poor at one budget and neither poor nor zero (so rich) at the other.
    if np.count_nonzero(poor_low > (poor_high | zero_high)) or np.count_nonzero(poor_high > (poor_low | zero_low)):
        return False
    return np.count_nonzero(poor_low | poor_high) < len(poor_low)


def _are_disjoint(election: EngineElection, projects: list[int]) -> bool:
    """Whether no ballot group supports two of the projects."""
    is_taken = np.zeros(election.group_count, dtype=bool)
    for p in projects:
        groups = election.supporters[p]
        if is_taken[groups].any():
            return False
        is_taken[groups] = True
    return True


@dataclass
class Bracket:
    """Budgets from low's to high shown to make low's first decisions; the first of them affinely.

    Every budget in between funds the projects in ``steps`` first, step by step. A step of one project
    is one round; a step of several is as many rounds that fund those projects in some order, which may
    differ between budgets: no group supports two of them, so the order changes neither their prices nor
    the money left after the step, and each budget funds them in the order of its own keys (see
    ``check_range``). In the first ``len(prices)`` rounds, moreover, all steps of one project and before
    any step of several, the funded project's supporters split the same way at both ends into those who
    pay all they have and those who pay the price (see ``_is_steady``); then every group's money and every
    price is an affine function of the budget on the whole bracket (see ``check_range``), so those rounds
    are known at any budget inside without pricing anything: prices are interpolated exactly between
    low's and high's, and supporters split as at the ends.
    """

    low: Run
    high: Fraction
    steps: list[tuple[int, ...]]  # the projects funded first, step by step, by every budget in the bracket
    prices: list[Fraction]  # high's price in each affine round
    poor: list[np.ndarray]  # high's split in each affine round
    zero: list[np.ndarray]
    # Where in the range (0 at low, 1 at high) the first decision a failed check could not show is guessed to
    # change, from its two keys at both ends taken as linear (see check_range's wants_turn); None if unknown.
    turn: float | None = None

    @property
    def decisions(self) -> list[int]:
        """The projects of the steps, in low's order."""
        return [p for step in self.steps for p in step]

    def is_made_by(self, run: Run) -> bool:
        """Whether run's first rounds fund the projects of each step, step by step."""
        purchases, start = run.purchases, 0
        try:
            for step in self.steps:
                if len(step) == 1:
                    if purchases[start].project != step[0]:
                        return False
                elif sorted(purchases[start + i].project for i in range(len(step))) != sorted(step):
                    return False
                start += len(step)
        except IndexError:  # run has fewer rounds
            return False
        return True

    def purchases_at(self, voter_budget: Fraction) -> list[tuple[int, Fraction, np.ndarray, np.ndarray]]:
        """(project, exact price, poor, zero) of each affine round at a budget in (low, high]."""
        low = self.low
        rounds = zip(low.purchases, self.prices, self.poor, self.zero)
        if voter_budget == self.high:
            return [(q.project, price, poor, zero) for q, price, poor, zero in rounds]
        share = (voter_budget - low.voter_budget) / (self.high - low.voter_budget)
        # Inside, a margin (money - price * u) that is affine and <= 0 at both ends, < 0 at one, is < 0;
        # one that is 0 at both ends is 0 throughout.
        return [
            (q.project, _interpolate(q.price, price, share), q.poor | poor, q.zero & zero)
            for q, price, poor, zero in rounds
        ]


def _interpolate(start: Fraction, end: Fraction, share: Fraction) -> Fraction:
    """start + (end - start) * share, with integers normalised once rather than by three Fraction operations."""
    a, b = start.numerator, start.denominator
    c, d = end.numerator, end.denominator
    s, t = share.numerator, share.denominator
    return Fraction(a * d * t + (c * b - a * d) * s, b * d * t)


def _buy_in_key_order(search: _Search, priced: list[tuple[_Quote, tuple[Fraction, np.ndarray, np.ndarray]]]) -> None:
    """Fund projects no group supports two of, in the order of their exact keys (then tie-break).

    Funding one changes neither the money nor the key of another, so each is bought at the price it has
    now, and a run that must fund all of them next funds them in this order.
    """
    election = search.election

    def key(item: tuple[_Quote, tuple[Fraction, np.ndarray, np.ndarray]]) -> tuple[Fraction, int]:
        p = item[0].project
        return item[1][0] / election.scale[p], election.rank[p]

    for quote, exact in sorted(priced, key=key):
        search.buy(quote, exact)


def _search_within(
    election: EngineElection, voter_budget: Fraction, within: Bracket | None, high_search: _Search | None
) -> _Search:
    """A search at voter_budget that has made the decisions within shows, pricing only what it must."""
    steps = within.steps if within is not None else []
    shown_count = sum(len(step) for step in steps)
    has_shown = high_search is not None and len(high_search.purchases) == shown_count
    if has_shown and high_search.voter_budget == voter_budget:
        return high_search
    search = _Search(election, voter_budget)
    affine = within.purchases_at(voter_budget) if within is not None else []
    for p, price, poor, zero in affine:
        search.buy_at(p, price, poor, zero)
    # Affine rounds all come before the first step of several projects.
    for step in steps[len(affine) :]:
        priced = []
        for p in step:
            quote = search.quote(p)
            if quote is None:
                raise RuntimeError("A project every budget in a bracket funds must be affordable inside it.")
            priced.append((quote, search.exact_price(quote)))
        if len(priced) == 1:
            search.buy(*priced[0])
        else:
            _buy_in_key_order(search, priced)
    if has_shown and high_search.voter_budget > voter_budget:
        search.take_bounds(high_search)
    return search


def _order_free_step(
    search: _Search,
    low: Run,
    start: int,
    unbeaten: int,
    priced: dict[int, tuple[_Quote, tuple[Fraction, np.ndarray, np.ndarray]]],
    rival_keys: dict[int, tuple[Fraction, tuple[Fraction, np.ndarray, np.ndarray]]],
) -> dict[int, tuple[_Quote, tuple[Fraction, np.ndarray, np.ndarray]]] | None:
    """Low's rounds from start up to the one funding unbeaten, as one order-free step, if shown (else None).

    priced: the step's projects so far (low's rounds from start), each with its quote and exact price at
    high money; rival_keys: exact keys at high money already known. Returns every project of the step,
    priced, in low's order. See check_range for the argument: no group supports two of them, and each of
    them at low money beats every other project at high money. A project that does not lets the step
    grow up to the round low funds it in, if low does.
    """
    election = search.election
    rank, scale = election.rank, election.scale
    while True:
        later = next(
            (j for j in range(start + len(priced), len(low.purchases)) if low.purchases[j].project == unbeaten), None
        )
        if later is None:
            return None
        step = low.purchases[start : later + 1]
        if not _are_disjoint(election, [purchase.project for purchase in step]):
            return None
        for purchase in step[len(priced) :]:
            quote = search.quote(purchase.project)
            if quote is None:  # cannot happen (more money than low, which afforded it); refuse
                return None
            priced[purchase.project] = quote, search.exact_price(quote)
        # The project of the step with the highest key at low money (then tie-break) beats the fewest.
        bar, bar_rank = max((purchase.price / scale[purchase.project], rank[purchase.project]) for purchase in step)
        bar_float = float(bar) * (1 + 8 * _UNIT)
        unbeaten = None
        known = {p: quote for p, (quote, _) in priced.items()}
        for rival in search.candidates(bar_float, is_fixed_bound=True, known=known):
            c = rival.project
            if c in priced or rival.key - rival.error > bar_float:
                continue
            if c not in rival_keys:
                rival_keys[c] = search.exact_key(rival)
            if (rival_keys[c][0], rank[c]) > (bar, bar_rank):
                continue  # beaten at high money by every key of the step at low money (monotonicity)
            unbeaten = c
            break
        if unbeaten is None:
            return priced


_SLOPE_MARGIN = 2.0**-50  # each slope bound is raised by this much, beyond its own rounding, to stay an upper bound


class _Slopes:
    """Bounds on how fast money and keys move with the voter budget over a range [low, high].

    Given that every budget in the range makes low's first decisions (see check_range), for budgets
    ``x < y`` in the range and each group: ``least * (y - x) <= m(y) - m(x) <= most * (y - x)``. Every group
    starts with the voter budget (both bounds 1). Take a round funding ``p`` at price ``pi``, and P(x), the
    supporters poor at x (paying all they have): P(low) includes P(x) (less money, a higher price), which
    includes P(high). What everyone pays totals the cost at x and at y; subtracting, the rich pay
    ``(pi(x) - pi(y)) * u`` less at y and the poor between 0 and their money's growth more, so the price
    falls by at most ``sum over P(low) of w * most / rich utility at low`` per unit of budget, and by at least
    ``sum over P(high) of w * least / rich utility at high``. A supporter poor at high is poor throughout
    and ends with 0 (most 0); one rich at low is rich throughout and ends with ``m - pi * u``, which grows by
    at least ``least + slowest fall * u``; any other ends with ``m - pi * u`` or 0, whose growth is between 0
    and ``most + fastest fall * u``. Orders of rounds inside an order-free step do not matter: no group
    supports two of its projects. Float sums are moved by their rounding bound, so every bound stays one.
    """

    def __init__(self, election: EngineElection, low: Run, high: "_Search") -> None:
        self.election, self.low, self.high = election, low, high
        self.most = np.ones(election.group_count, dtype=np.float64)
        self.least = np.ones(election.group_count, dtype=np.float64)
        self.rounds = 0

    def advance(self, rounds: int) -> None:
        """Take in low's first rounds (which the search at high has made too, step by step)."""
        if rounds <= self.rounds:
            return
        e = self.election
        at_high = {purchase.project: purchase for purchase in self.high.purchases}
        for purchase in self.low.purchases[self.rounds : rounds]:
            p = purchase.project
            groups, utility, poor_high = e.supporters[p], e.utility_float[p], at_high[p].poor
            most, least = self.most[groups], self.least[groups]
            fastest, slowest = self._price_fall(p, purchase.poor, most, 1), self._price_fall(p, poor_high, least, -1)
            most += fastest * utility
            most *= 1 + _SLOPE_MARGIN
            most[poor_high] = 0.0
            least += slowest * utility
            least *= 1 - _SLOPE_MARGIN
            least[purchase.poor] = 0.0
            self.most[groups], self.least[groups] = most, least
        self.rounds = rounds

    def _price_fall(self, p: int, poor: np.ndarray, growth: np.ndarray, outward: int) -> float:
        """sum over poor of w * growth / the others' utility: the most p's price can fall per unit of budget
        (poor: its split at low, growth: most; outward +1, rounded up) or the least it falls (poor: its split at
        high, growth: least; outward -1, rounded down)."""
        e = self.election
        rich_utility = e.total_utility[p] - int(dot(e.weighted_utility[p], poor))
        if rich_utility <= 0:
            return float("inf") if outward > 0 else 0.0
        # A sum of n non-negative float products is within (n + 1) units of rounding of its exact value.
        paid = dot(e.weight_float[p], np.where(poor, growth, 0.0)) * (1 + outward * (len(growth) + 8) * 2 * _UNIT)
        return paid / rich_utility * (1 + outward * _SLOPE_MARGIN)

    def most_key_fall(self, p: int, poor_low: np.ndarray) -> float:
        """The most p's key can fall per unit of budget after the rounds taken in, from its split at low."""
        groups, scale = self.election.supporters[p], self.election.scale[p]
        return self._price_fall(p, poor_low, self.most[groups], 1) / scale * (1 + _SLOPE_MARGIN)

    def least_key_fall(self, p: int, poor_high: np.ndarray) -> float:
        """The least p's key falls per unit of budget after the rounds taken in, from its split at high."""
        groups, scale = self.election.supporters[p], self.election.scale[p]
        return self._price_fall(p, poor_high, self.least[groups], -1) / scale * (1 - _SLOPE_MARGIN)


Line = tuple[Fraction, Fraction, Fraction, Fraction]  # key at low, key at high, least and most fall per unit


def _stays_ahead(winner: Line, rival: Line, low: Fraction, high: Fraction, *, is_tie_won: bool) -> bool:
    """Whether the winner's key stays below the rival's (or level, when is_tie_won) at every budget in [low, high].

    Each is given as (key at low, key at high, least and most it falls per unit of budget); exact when given as
    Fractions. So the winner's key is at most min(at low - least * (x - low), at high + most * (high - x)) and
    the rival's at least max(at high + least * (high - x), at low - most * (x - low)); both bounds are
    piecewise linear, so their difference is largest at an end or where one of them bends.
    """
    (winner_low, winner_high, winner_least, winner_most), (rival_low, rival_high, rival_least, rival_most) = (
        winner,
        rival,
    )
    points = [low, high]
    if winner_most > winner_least:
        points.append(
            (winner_high - winner_low + winner_most * high - winner_least * low) / (winner_most - winner_least)
        )
    if rival_most > rival_least:
        points.append((rival_low - rival_high + rival_most * low - rival_least * high) / (rival_most - rival_least))
    for x in points:
        if not low <= x <= high:
            continue
        most = min(winner_low - winner_least * (x - low), winner_high + winner_most * (high - x))
        least = max(rival_high + rival_least * (high - x), rival_low - rival_most * (x - low))
        if most > least or (most == least and not is_tie_won):
            return False
    return True


def _exactly_stays_ahead(
    winner: tuple[Fraction, Fraction, float, float],
    rival: tuple[Fraction, Fraction, float, float],
    low: Fraction,
    high: Fraction,
    *,
    is_tie_won: bool,
) -> bool:
    """_stays_ahead with the float rates taken exactly (False if a rate is not finite)."""
    lines = []
    for at_low, at_high, least, most in (winner, rival):
        if not math.isfinite(most):
            return False
        lines.append((at_low, at_high, Fraction(least), Fraction(most)))
    return _stays_ahead(*lines, low, high, is_tie_won=is_tie_won)


def _shown_part(winner: Line, rival: Line, width: Fraction, is_tie_won: bool) -> float:
    """Where _stays_ahead fails on a whole range (0 at low, 1 at high): a guess at how far from low it would
    succeed, taking both keys as linear between their ends (found by halving, in floats)."""
    (a, b, *winner_rates), (d, c, *rival_rates) = ([float(value) for value in line] for line in (winner, rival))
    span = float(width)
    shown, failed = 0.0, 1.0
    for _ in range(16):
        part = (shown + failed) / 2
        winner_line = (a, a + (b - a) * part, *winner_rates)
        rival_line = (d, d + (c - d) * part, *rival_rates)
        if _stays_ahead(winner_line, rival_line, 0.0, span * part, is_tie_won=is_tie_won):
            shown = part
        else:
            failed = part
    return shown


def _crossing(winner: tuple[Fraction, Fraction], rival: tuple[Fraction, Fraction]) -> float | None:
    """Where in a range (0 at low, 1 at high) two keys, each given at both ends, cross if both are linear."""
    (winner_low, winner_high), (rival_low, rival_high) = winner, rival
    ahead, behind = float(rival_low - winner_low), float(winner_high - rival_high)
    if ahead < 0 or behind < 0 or ahead + behind <= 0:
        return None
    return ahead / (ahead + behind)


def _affordable_from(cost: int, at_low: float, at_high: float) -> float | None:
    """Where in a range (0 at low, 1 at high) a project's supporters, with at_low and at_high between them at its
    ends, come to afford its cost if their money grows linearly (it cannot be a rival before)."""
    if not at_low < cost <= at_high:
        return None
    return (cost - at_low) / (at_high - at_low)


class _LowState:
    """Low's state at the start of its rounds, rebuilt by replaying its purchases only as far as asked.

    The replay is kept with the run: checks from the same run (a failed range's first halves) go on from it.
    """

    def __init__(self, election: EngineElection, low: Run) -> None:
        self.election, self.low = election, low

    def exact_key(self, p: int, rounds: int) -> tuple[Fraction, tuple[Fraction, np.ndarray, np.ndarray]] | None:
        """p's exact key and pricing after low's first rounds; None if its supporters cannot afford it then."""
        low = self.low
        if low.replay is None or len(low.replay.purchases) > rounds:
            low.replay = _Search(self.election, low.voter_budget)
        for earlier in low.purchases[len(low.replay.purchases) : rounds]:
            low.replay.replay(earlier)
        quote = low.replay.quote(p)
        return None if quote is None else low.replay.exact_key(quote)

    def available(self, p: int) -> float:
        """What p's supporters have between them (in floats) in the state last asked for."""
        assert self.low.replay is not None
        return _available(self.election, self.low.replay.money, p)


def _available(election: EngineElection, money: _Money, p: int) -> float:
    return dot(election.weight_float[p], money.value[money.group_class[election.supporters[p]]])


def check_range(
    election: EngineElection,
    low: Run,
    voter_budget: Fraction,
    within: Bracket | None = None,
    high_search: _Search | None = None,
    *,
    wants_turn: bool = False,
) -> tuple[Run | None, Bracket, _Search]:
    """Whether every voter budget from low's up to voter_budget funds low's selection.

    Returns the run at voter_budget when that is shown (None when it is not), the bracket of what was
    shown, and the search at voter_budget after the decisions shown (its state is then the run's, so a
    failed check can be finished into the run at voter_budget). within: a bracket around this range, whose
    decisions are taken as shown; high_search: a search that has made exactly those decisions, at
    voter_budget (used as it is) or at a higher budget (its key bounds are used). wants_turn: when the check
    fails, guess where in the range what it could not show stops holding (Bracket.turn), at the cost of pricing
    the rival it failed on at low.

    Three arguments, round by round, given that every budget in between made low's earlier decisions:

    * Monotonicity. Paying for a fixed project is monotone: with more money before a round, every group
      has at least as much after it, and every price is at most as high. So money in between lies between
      low's and high's; if low's winner at LOW money beats (key, then tie-break) another project at HIGH
      money, it beats it at every budget in between. If nothing is affordable at the end with high money,
      nothing is in between either.
    * Order-free steps, for a rival that low funds a few rounds later. If no group supports two of low's
      winners from this round to the rival's round, and each of them at LOW money beats every other
      project at HIGH money, then at every budget in between each of them beats every other project (by
      monotonicity, and because funding one of them leaves the others' keys as they were and the other
      projects' keys no lower), so those rounds fund exactly these projects, in the order of their keys
      at that budget. Funding projects that no group supports two of leaves the same money in any order,
      so monotonicity carries on after the step.
    * Affinity, for a project too close for that. If in every round so far each winner's supporters split
      the same way at both budgets (see _is_steady), every group's money is an affine function of the
      budget on the whole interval: the price is (cost - money of those paying all they have) / utility of
      the others, affine, and each group's side is kept in between because an affine margin with the same
      sign at both ends keeps it. A rival that is affordable at both ends and splits its supporters the same
      way at both ends then has an affine key too, so if low's winner beats it at both ends (at low it
      does: low chose the winner), it beats it throughout. (Used only until the first step of several
      projects, after which the order of rounds may differ inside the range.)
    * Slopes, for a rival beaten at both ends where the keys are not affine. Money cannot grow faster
      than the voter budget times a bound built round by round (see _Slopes), so neither key can fall
      faster than its own bound; if those bounds, from each key at both ends, keep low's winner ahead
      everywhere in between (see _stays_ahead), it beats the rival throughout.
    """
    steps = within.steps if within is not None else []
    if within is not None and not within.is_made_by(low):
        raise ValueError("A bracket must contain the range checked inside it.")
    search = _search_within(election, voter_budget, within, high_search)
    bracket = Bracket(low, voter_budget, list(steps), [], [], [])
    is_affine = True  # every winner so far split its supporters the same way at both budgets
    # Only rounds before the first step of several can be affine: inside such a step the order of the
    # rounds may change within the range, and a key that is not affine could change it in the middle.
    single_rounds = next((index for index, step in enumerate(steps) if len(step) > 1), len(steps))
    for at_low, at_high in zip(low.purchases[:single_rounds], search.purchases):
        is_affine = _is_steady(at_low.poor, at_low.zero, at_high.poor, at_high.zero)
        if not is_affine:
            break
        bracket.prices.append(at_high.price)
        bracket.poor.append(at_high.poor)
        bracket.zero.append(at_high.zero)
    is_affine = is_affine and single_rounds == len(steps)
    # Low's state is rebuilt round by round, and slopes bounded, only when the arguments past monotonicity need it.
    low_state = _LowState(election, low)
    width = voter_budget - low.voter_budget
    slopes: _Slopes | None = None
    rank, scale = election.rank, election.scale
    while (start := len(search.purchases)) < len(low.purchases):
        purchase = low.purchases[start]
        winner = purchase.project
        bar = purchase.price / scale[winner]
        bar_float = float(bar) * (1 + 8 * _UNIT)
        quote = search.quote(winner)
        if quote is None:  # cannot happen (more money than low, which afforded it); refuse rather than assume
            return None, bracket, search
        priced = search.exact_price(quote)
        key = priced[0] / scale[winner]
        rival_keys: dict[int, tuple[Fraction, tuple[Fraction, np.ndarray, np.ndarray]]] = {}
        unbeaten = None
        for rival in search.candidates(bar_float, is_fixed_bound=True, known={winner: quote}):
            c = rival.project
            if c == winner or rival.key - rival.error > bar_float:
                continue
            rival_keys[c] = search.exact_key(rival)
            rival_key, rival_priced = rival_keys[c]
            if rival_key > bar or (rival_key == bar and rank[winner] < rank[c]):
                continue  # beaten at high money by low's key: beaten in between (monotonicity)
            is_beaten_at_high = key < rival_key or (key == rival_key and rank[winner] < rank[c])
            is_tie_won = rank[winner] < rank[c]
            if is_beaten_at_high:
                if slopes is None:
                    slopes = _Slopes(election, low, search)
                slopes.advance(start)
                winner_falls = slopes.least_key_fall(winner, priced[1]), slopes.most_key_fall(winner, purchase.poor)
                winner_line = (bar, key, *winner_falls)
                # First without low's state: the rival's key is at least its key at high plus the least it falls.
                least = slopes.least_key_fall(c, rival_priced[1])
                rival_line = (rival_key + Fraction(least) * width, rival_key, least, least)
                if _exactly_stays_ahead(winner_line, rival_line, low.voter_budget, voter_budget, is_tie_won=is_tie_won):
                    continue  # the rival cannot fall fast enough to cross in between
            at_low = low_state.exact_key(c, start) if is_beaten_at_high or wants_turn else None
            if is_beaten_at_high and at_low is not None:
                # Beaten at both ends: shown in between if the keys are affine or cannot move fast enough.
                low_key, (_, poor_low, zero_low) = at_low
                if is_affine and _is_steady(poor_low, zero_low, rival_priced[1], rival_priced[2]):
                    continue  # affine keys, beaten at both ends: beaten in between
                rival_line = (low_key, rival_key, least, slopes.most_key_fall(c, poor_low))
                if _exactly_stays_ahead(winner_line, rival_line, low.voter_budget, voter_budget, is_tie_won=is_tie_won):
                    continue  # neither key can move fast enough to cross in between
                if wants_turn:
                    bracket.turn = _shown_part(winner_line, rival_line, width, is_tie_won)
            elif at_low is not None:
                bracket.turn = _crossing((bar, key), (at_low[0], rival_key))
            elif wants_turn:
                bracket.turn = _affordable_from(
                    election.cost[c], low_state.available(c), dot(election.weight_float[c], rival.money)
                )
            unbeaten = c
            break
        if unbeaten is None:
            is_affine = is_affine and _is_steady(purchase.poor, purchase.zero, priced[1], priced[2])
            if is_affine:
                bracket.prices.append(priced[0])
                bracket.poor.append(priced[1])
                bracket.zero.append(priced[2])
            bracket.steps.append((winner,))
            search.buy(quote, priced)
            continue
        step = _order_free_step(search, low, start, unbeaten, {winner: (quote, priced)}, rival_keys)
        if step is None:
            return None, bracket, search
        bracket.turn = None  # the rival guessed at is funded in the step after all
        is_affine = False
        bracket.steps.append(tuple(step))
        _buy_in_key_order(search, list(step.values()))
    affordable = search.candidates(float("inf"))
    if affordable:
        if wants_turn:  # nothing was affordable at low's end: guess where the first of these comes to be
            turns = (
                _affordable_from(
                    election.cost[q.project],
                    _available(election, low.state, q.project),
                    dot(election.weight_float[q.project], q.money),
                )
                for q in affordable
            )
            bracket.turn = min((turn for turn in turns if turn is not None), default=None)
        return None, bracket, search
    return search.result(is_overspent=False), bracket, search


def add1_runs(
    election: EngineElection,
    low: Run,
    low_k: int,
    high_k: int,
    first_voter_budget: Fraction,
    spend_limit: int,
    *,
    guesses: int = 0,
) -> Iterator[tuple[int, Run]]:
    """The runs at shares first_voter_budget + k for low_k < k <= high_k, in order of k, as (k, run).

    low is the run at low_k, within spend_limit. The caller stops at the first overspent run yielded.

    A range shown to repeat low's decisions (check_range) yields only its last run, which has the same
    selection as every run before it. Otherwise the range is split in two, and each part is checked from the
    decisions the failed check showed for the whole range: those cost no comparison, and in affine rounds
    not even a price. A failed check of a single step is finished into the run at its end.

    A range is split in the middle, or, while guesses allows, just before the share where its check guesses
    the outcome turns (see split). A guess that keeps missing (floats cannot place a turn to the share among
    10**20 shares, nor always tell it from either end) would cut off one share at a time: after that many
    splits at a guess that found no change, ranges are halved again until one does. So a range of n shares
    takes at most about (guesses + 1) * log2(n) checks per change of outcome inside it, whatever n.

    The parts still to read wait on a stack (the innermost last), each with the failed check's bracket and
    search it is checked within: no recursion, however long the range.
    """
    parts: list[tuple[int, Bracket | None, _Search | None]] = [(high_k, None, None)]
    guessed = 0  # splits at a guess since the last change of outcome or the last split in the middle
    while parts:
        end, within, high_search = parts.pop()
        high, bracket, search = check_range(
            election, low, first_voter_budget + end, within, high_search, wants_turn=guesses > 0 and end - low_k > 2
        )
        if high is None and end - low_k > 1:
            turn = bracket.turn if guessed < guesses else None
            guessed = guessed + 1 if turn is not None else 0
            parts += [(end, bracket, search), (split(low_k, end, turn), bracket, search)]
            continue
        run = high if high is not None else search.finish(spend_limit)
        yield end, run
        if run.is_overspent:  # the caller stops at an overspent run
            return
        if run.selected() != low.selected():
            guessed = 0
        low_k, low = end, run


def split(low_k: int, high_k: int, turn: float | None) -> int:
    """Where to split a failed range (low_k, high_k]: just before the share where the outcome is guessed to change
    (turn, see Bracket), so that the part before it is shown at once and the change is found in a few checks;
    the middle without a guess."""
    if turn is None:
        return (low_k + high_k) // 2
    first_changed = low_k + math.ceil(turn * (high_k - low_k))
    return min(max(first_changed - 1, low_k + 1), high_k - 1)
