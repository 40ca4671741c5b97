"""Equal Shares in floats, with a proof of every decision or no answer at all (approval ballots).

Add1 needs, at most of the shares it reads, only which projects a run funds, to see whether the run
overspends or is exhaustive; the run it keeps is then made exactly by the engine. This module answers
that question in floats alone: no money classes, no exact prices. Each decision is shown to be the exact
one by error bounds; when one cannot be, the run gives up (``None``) and the caller makes it exactly.

Notation as in ``equal_shares_engine``: a project's supporters (weights ``w``, ``W`` in all) pay its cost
``C`` at the price ``pi`` solving ``sum w * min(money, pi) == C``; its key is ``pi / C``.

Error bound. ``E`` bounds ``|float money - exact money|`` for every group; it starts at the rounding of
the share. A quote finds the float price ``p`` by water-filling. Supporters whose float money is above
``p + 2E + 2 * first`` (``first``: a first estimate of the error) are rich at every price within ``2 * first``
of ``p``; their money does not move ``sum w * min(money, x)`` there, and they make it rise at least as
fast as their weight ``S``. So the exact price is within ``delta = ((W - S) * E + rho) / S`` of ``p``
(``rho``: the rounding of the float sums), provided ``delta <= 2 * first``. Each supporter is left with
``max(money - price, 0)``, exactly and in floats, which moves its float value by at most ``E + delta``
plus one rounding: ``E`` grows by ``delta`` and a rounding per round, and by hardly more than the
rounding when the winner's supporters all pay its price.

Exact keys. A supporter nobody has charged yet has exactly the share ``b``; a project all of whose
supporters are untouched is affordable exactly when ``W * b >= C``, checked in integers, and then costs
each of them ``C / W``: its key is exactly ``1 / W``. A supporter whose money was certainly below a price
it was charged has exactly 0 left. When every supporter of a project either certainly pays its price or
has exactly 0, the price is ``C / R`` (``R``: the weight of those who pay) and the key exactly ``1 / R``;
such keys tie often (Toulouse 2024), and are then compared exactly.

Decisions. A round quotes projects by their lower bound on their key (as the engine does); a quote is
an interval that holds the exact key. The project with the lowest float key wins when every other
quote's interval lies wholly above its own; when some overlap it, and all of them have exact keys, the
lowest exact key wins, ties going to the tie-break rank, as in the engine. Affordability
(``sum w * money >= C``) is decided when the float sum is further from the cost than its error. Anything
closer gives up.
"""

import heapq
from dataclasses import dataclass
from fractions import Fraction

import numpy as np

from pb.domain.tally.rules.equal_shares_engine import _DOT_PIECE, _UNIT, EngineElection, water_fill, within_reach
from pb.domain.tally.rules.equal_shares_engine import dot as long_dot

least = np.minimum.reduce


class _Unsure(Exception):
    """A decision the floats cannot prove."""


@dataclass(slots=True)
class _Quote:
    project: int
    key: float
    error: float  # |exact key - key| <= error
    price: float
    price_error: float  # |exact price - price| <= price_error
    payers: int | None  # when the exact key is known: the weight R of those who pay the price (key 1 / R)


class _Run:
    """One float run's state: every group's float money, its error bound, and who has paid so far."""

    def __init__(self, engine: EngineElection, voter_budget: Fraction) -> None:
        self.engine = engine
        self.share, self.denominator = voter_budget.numerator, voter_budget.denominator
        self.budget_float = float(voter_budget)
        self.money = np.full(engine.group_count, self.budget_float)
        self.e_m = 2 * _UNIT * self.budget_float
        self.is_touched = np.zeros(engine.group_count, dtype=bool)
        self.is_zero = np.zeros(engine.group_count, dtype=bool)  # certainly paid all they had: exactly 0 left

    def quote(self, p: int) -> _Quote | None:
        """p's key with its error bound; None when p is unaffordable; _Unsure when that cannot be told."""
        engine, e_m = self.engine, self.e_m
        supporters, w = engine.supporters[p], engine.weight_float[p]
        money = self.money[supporters]
        cost, count = engine.cost[p], engine.supporter_count[p]
        # Short products need no cutting into pieces (see equal_shares_engine.dot).
        dot = np.dot if len(money) <= _DOT_PIECE else long_dot
        available = dot(w, money)
        slack = count * e_m + (len(money) + 4) * _UNIT * 2 * (available + cost)
        if available <= cost - slack:
            return None
        if available < cost + slack:
            return self._untouched_quote(p)
        total = engine.total_utility_float[p]
        poor_money, rich_utility = 0.0, total
        price = cost / total
        poorest = least(money)
        poorest_rich = poorest  # the least money among those who pay the price
        if poorest < price:
            filled, poor, poor_money, rich_utility = water_fill(cost, total, money, w, 60, dot)
            if filled is None or rich_utility <= 0.0:
                raise _Unsure
            price = filled
            poorest_rich = least(np.where(poor, np.inf, money))
        rho = 4 * (len(money) + 8) * _UNIT * (cost + poor_money + price * total)
        clear_above = price + (2 * e_m + 8 * _UNIT * (self.budget_float + e_m + price))
        # The weights of those clearly above the price (s), and of those steadily so (s_steady): when the
        # poorest who pays is above the line, everyone who pays is; otherwise they are summed.
        s = rich_utility if poorest_rich > clear_above else dot(w, money > clear_above)
        if s <= 0:
            return self._untouched_quote(p)
        first = (count * e_m + rho) / s * 1.01
        steady_from = price + (2 * e_m + 2 * first)
        s_steady = rich_utility if poorest_rich >= steady_from else dot(w, money >= steady_from)
        if s_steady <= 0:
            return self._untouched_quote(p)
        # Groups with exactly nothing left have no error either.
        zero = 0.0 if s_steady == total else dot(w, self.is_zero[supporters])
        delta = ((total - s_steady - zero) * e_m + rho) / s_steady * 1.01
        if delta > 2 * first:
            return self._untouched_quote(p)
        price_error = delta + 4 * _UNIT * price
        # Everyone certainly pays the price or has exactly nothing: the price is exactly C over the weight of
        # those who pay it, and the key exactly 1 over that weight (an integer, summed exactly in floats).
        payers = int(s_steady) if s_steady + zero == total else None
        return _Quote(p, price / cost, price_error / cost + 4 * _UNIT * price / cost, price, price_error, payers)

    def _untouched_quote(self, p: int) -> _Quote | None:
        """The exact quote of a project none of whose supporters has paid yet; _Unsure for any other."""
        engine = self.engine
        if np.count_nonzero(self.is_touched[engine.supporters[p]]):
            raise _Unsure
        cost, count = engine.cost[p], engine.supporter_count[p]
        if count * self.share < cost * self.denominator:
            return None
        price = cost / count
        return _Quote(p, price / cost, 8 * _UNIT * price / cost, price, 4 * _UNIT * price, count)

    def pay(self, quote: _Quote) -> None:
        """The winner's supporters pay the price, or all they have."""
        supporters = self.engine.supporters[quote.project]
        money = self.money[supporters]
        # Money certainly below the price is all paid: exactly 0 is left (and 0.0 in floats).
        below = quote.price - (self.e_m + quote.price_error + 8 * _UNIT * self.budget_float)
        self.is_zero[supporters[money < below]] = True
        self.money[supporters] = np.maximum(money - quote.price, 0.0)
        self.is_touched[supporters] = True
        self.e_m += quote.price_error + 2 * _UNIT * self.budget_float


def _winner(quotes: list[_Quote], rank: list[int]) -> _Quote:
    """The quote with the lowest exact key (then tie-break rank), when the bounds prove which it is."""
    best = min(quotes, key=lambda quote: quote.key)
    upper = best.key + best.error
    # Every other quote lying wholly above the best one's, best_upper in float_selection is the best one's
    # upper bound (another's would be below it), so every project left unquoted has a bound above it too.
    close = [quote for quote in quotes if quote is not best and quote.key - quote.error <= upper]
    if not close:
        return best
    close.append(best)
    if any(quote.payers is None for quote in close):
        raise _Unsure
    # Any quote outside close has an exact key above upper, which is at least the exact keys compared here.
    # The lowest key 1 / R is the largest R.
    return min(close, key=lambda quote: (-quote.payers, rank[quote.project]))


def float_selection(engine: EngineElection, voter_budget: Fraction, spend_limit: int) -> tuple[list[int], int] | None:
    """The projects Equal Shares funds at voter_budget, in order, and what they cost, if floats prove it.

    Stops as soon as more than spend_limit is spent (the selection then ends with the project that
    overspent). None when some decision is too close to prove in floats.
    """
    if engine.is_points:
        return None
    run = _Run(engine, voter_budget)
    rank = engine.rank
    # Projects by a lower bound on their key (then rank), as the engine scans them, less those out of reach.
    waiting = [
        (bound, rank[p], p)
        for p, (bound, is_within_reach) in enumerate(
            zip(engine.first_bound.tolist(), within_reach(engine, voter_budget))
        )
        if is_within_reach
    ]
    heapq.heapify(waiting)
    selected: list[int] = []
    spent = 0
    try:
        while waiting:
            best_upper = float("inf")
            quotes, quoted = [], []
            while waiting and waiting[0][0] <= best_upper:
                bound, project_rank, p = heapq.heappop(waiting)
                quote = run.quote(p)
                if quote is None:
                    continue  # unaffordable now, so for good: money only falls
                quotes.append(quote)
                # Keys only rise as money falls: the quote's lower end stays a bound in later rounds.
                quoted.append((max(bound, quote.key - quote.error), project_rank, p))
                best_upper = min(best_upper, quote.key + quote.error)
            if not quotes:
                break
            winner = _winner(quotes, rank)
            for entry in quoted:
                if entry[2] != winner.project:
                    heapq.heappush(waiting, entry)
            run.pay(winner)
            selected.append(winner.project)
            spent += engine.cost[winner.project]
            if spent > spend_limit:
                break
    except _Unsure:
        return None
    return selected, spent
