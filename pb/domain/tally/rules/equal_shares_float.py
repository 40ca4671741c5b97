"""Equal Shares in floats, with a proof of every decision or no answer at all (approval ballots).

Add1 needs, at most of the shares it reads, only which projects a run funds, to see whether the run
overspends or is exhaustive; the run it keeps is then made exactly by the engine. This module answers
that question in floats alone: no money classes, no exact prices. Each decision is shown to be the exact
one by error bounds; when one cannot be, the run gives up (``None``) and the caller makes it exactly.

Notation as in ``equal_shares_engine``: a project's supporters (weights ``w``, ``W`` in all) pay its cost
``C`` at the price ``pi`` solving ``sum w * min(money, pi) == C``; its key is ``pi / C``.

Runs at several shares at once. Add1 reads shares next to each other, whose runs make the same first
decisions. A batch holds the runs at several shares that have decided alike so far, one column of money
per share, so that each numpy call serves every share. Its bounds hold for all of them at once: one error
per group, the largest price, the least weight of those who pay. A project may be affordable at some of
its shares only (its key is then infinite at the others). When the shares' winners differ, the batch
splits into one batch per winner; when a decision cannot be proven at every share, it splits in halves,
which redo the round. Fewer than three shares run one by one from the batch's state (a lone run costs
fewer numpy calls); a lone run that cannot prove a decision gives up.

Runs go round by round together, and after each round those that have bought the same projects, in
whatever order, merge into one batch again: shares often part only over the order of two purchases,
and from then on decide alike (each share's money is its own; the merged batch takes the larger error of
each group and the lower bound of each project waiting, which hold for both). Sixteen neighbouring shares
of Wieliczka 2023 make about four times fewer distinct rounds than sixteen separate runs when they never
merge again, and twice fewer again when they do; Toulouse 2024, four times fewer again.

Error bounds. Each group's float money is within its error of its exact money; errors start at the
rounding of the share. A quote of a project takes ``E``, the largest error among its supporters, and finds
the float price ``p`` by water-filling. Supporters whose float money is above ``p + 2E + 2 * first``
(``first``: a first estimate of the error) are rich at every price within ``2 * first`` of ``p``; their
money does not move ``sum w * min(money, x)`` there, and they make it rise at least as fast as their
weight ``S``. So the exact price is within ``delta = ((W - S) * E + rho) / S`` of ``p`` (``rho``: the
rounding of the float sums), provided ``delta <= 2 * first``. Each supporter of the winner is left with
``max(money - price, 0)``, exactly and in floats, which moves its float value by at most its error plus
``delta`` and one rounding: the winner's supporters' errors grow so, and nobody else's. (A single global
bound, grown every round, would soon be too wide to tell near keys apart in an election of a hundred
rounds such as Toulouse 2024.)

Exact keys. A supporter nobody has charged yet has exactly the share ``b``; a project all of whose
supporters are untouched is affordable exactly when ``W * b >= C``, checked in integers, and then costs
each of them ``C / W``: its key is exactly ``1 / W``. A supporter whose money was certainly below a price
it was charged has exactly 0 left (and, in a lone run, no error). When every supporter of a project either certainly pays its price or
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
from dataclasses import dataclass, field
from fractions import Fraction

import numpy as np

from pb.domain.tally.rules.equal_shares_engine import _DOT_PIECE, _UNIT, EngineElection, water_fill, within_reach
from pb.domain.tally.rules.equal_shares_engine import dot as long_dot

least, most = np.minimum.reduce, np.maximum.reduce
# A batch's money and "exactly 0" columns take 9 bytes a (group, share): shares are batched up to this many of
# them (a city of a million voters has too many groups for more than a share or two at once).
_BATCH_CELLS = 1 << 20
# Shares times a project's supporters, on average, that a batch is kept within: where projects have thousands of
# supporters (Amsterdam 621) each numpy call is long anyway, and a few shares at a time lose little.
_BATCH_SUPPORTS = 1 << 13
_WATER_PASSES = 60
_UNPROVEN, _ENDED = -1, -2  # a share's winner when the bounds cannot tell, or when no project is affordable
# Shares run together from this many: a batch's numpy calls cost more than a single run's, and fewer shares
# hardly share enough rounds to make up for it.
_BATCH_FROM = 3


class _Unsure(Exception):
    """A decision the floats cannot prove for every share of the batch."""


def _weigh(w: np.ndarray, columns: np.ndarray) -> np.ndarray:
    """w's float dot product with each column, in single-threaded pieces when long (see equal_shares_engine.dot)."""
    if columns.size <= _DOT_PIECE:
        return w @ columns
    height = max(1, _DOT_PIECE // columns.shape[1])
    return sum(w[i : i + height] @ columns[i : i + height] for i in range(0, len(w), height))


def _water_fill(
    cost: float, total: float, money: np.ndarray, w: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray] | None:
    """Water-filling (as equal_shares_engine.water_fill) in every column at once, from the equal price.

    Returns each column's price, who pays all they have, what they pay (weighted) and the weight of the others;
    None when some column's filling does not end or ends with everyone poor. Weights are whole numbers, so
    their float sums are exact: a column whose poor weigh no more after a pass has no more poor.
    """
    poor = money < cost / total
    poor_weight = _weigh(w, poor)
    for _ in range(_WATER_PASSES):
        rich_weight = total - poor_weight
        if least(rich_weight) <= 0.0:
            return None
        poor_money = _weigh(w, money * poor)
        price = (cost - poor_money) / rich_weight
        poor = poor | (money < price)
        grown_weight = _weigh(w, poor)
        if not (grown_weight - poor_weight).any():
            return price, poor, poor_money, rich_weight
        poor_weight = grown_weight
    return None


@dataclass(slots=True)
class _Quotes:
    """One project's quote in every share of a batch: keys and prices per share, error bounds for them all."""

    project: int
    key: np.ndarray
    error: float  # |exact key - key| <= error in every share
    price: np.ndarray
    price_error: float  # |exact price - price| <= price_error in every share
    steady: np.ndarray  # the weight of those certainly paying the price, per share
    zero: np.ndarray | float  # the weight of those with exactly nothing left, per share
    total: float
    money_error: float  # a bound on the error of the supporters' float money
    low: float = field(init=False)  # the least lower end of the keys
    high: float = field(init=False)  # the greatest upper end of the keys (inf when unaffordable in some share)

    def __post_init__(self) -> None:
        self.low, self.high = float(least(self.key)) - self.error, float(most(self.key)) + self.error

    def payers(self, share: int) -> float | None:
        """R when the share's exact key is 1 / R: everyone certainly pays the price or has exactly nothing."""
        steady = float(self.steady[share])
        zero = self.zero if isinstance(self.zero, float) else float(self.zero[share])
        return steady if steady + zero == self.total else None

    def widened(self, columns: np.ndarray) -> "_Quotes":
        """The quote in every share of the batch from its quote in the columns given: key inf in the others."""
        key, price, steady = np.full(len(columns), np.inf), np.zeros(len(columns)), np.zeros(len(columns))
        key[columns], price[columns], steady[columns] = self.key, self.price, self.steady
        zero = self.zero
        if not isinstance(zero, float):
            zero = np.zeros(len(columns))
            zero[columns] = self.zero
        return _Quotes(self.project, key, self.error, price, self.price_error, steady, zero, self.total,
                       self.money_error)

    def shares(self, keep: np.ndarray) -> "_Quotes":
        zero = self.zero if isinstance(self.zero, float) else self.zero[keep]
        return _Quotes(self.project, self.key[keep], self.error, self.price[keep], self.price_error,
                       self.steady[keep], zero, self.total, self.money_error)


@dataclass(slots=True)
class _Quote:
    project: int
    key: float
    error: float  # |exact key - key| <= error
    price: float
    price_error: float  # |exact price - price| <= price_error
    payers: int | None  # when the exact key is known: the weight R of those who pay the price (key 1 / R)
    money_error: float  # a bound on the error of the supporters' float money


class _Run:
    """One float run's state: every group's float money, its error bound, and who has paid so far."""

    def __init__(self, batch: "_Batch", column: int) -> None:
        """The run at one of the batch's shares, from the decisions the batch has made (its bounds hold here)."""
        self.engine = batch.engine
        share = batch.shares[column]
        self.share, self.denominator = share.numerator, share.denominator
        self.budget_float = batch.largest  # only bounds the size of money (see the error bounds)
        self.money = batch.money[:, column].copy()
        self.error = batch.error.copy()
        self.is_touched = batch.is_touched.copy()
        self.is_zero = batch.is_zero[:, column].copy()  # certainly paid all they had: exactly 0 left
        # A quote depends only on its supporters' money (and errors): one made since none of them last paid is
        # still right. changed: the round in which each group last paid.
        self.round = 1
        self.changed = np.zeros(batch.engine.group_count, dtype=np.int64)
        self.quotes: dict[int, tuple[int, _Quote]] = {}

    def quote(self, p: int) -> _Quote | None:
        """p's key with its error bound; None when p is unaffordable; _Unsure when that cannot be told."""
        engine = self.engine
        supporters = engine.supporters[p]
        made = self.quotes.get(p)
        if made is not None and most(self.changed[supporters]) < made[0]:
            return made[1]
        quote = self._quote(p)
        if quote is not None:
            self.quotes[p] = (self.round, quote)
        return quote

    def _quote(self, p: int) -> _Quote | None:
        engine = self.engine
        supporters, w = engine.supporters[p], engine.weight_float[p]
        money, e_m = self.money[supporters], float(most(self.error[supporters]))
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
            filled, poor, poor_money, rich_utility = water_fill(cost, total, money, w, _WATER_PASSES, dot)
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
        return _Quote(p, price / cost, price_error / cost + 4 * _UNIT * price / cost, price, price_error, payers, e_m)

    def _untouched_quote(self, p: int) -> _Quote | None:
        """The exact quote of a project none of whose supporters has paid yet; _Unsure for any other."""
        engine = self.engine
        if np.count_nonzero(self.is_touched[engine.supporters[p]]):
            raise _Unsure
        cost, count = engine.cost[p], engine.supporter_count[p]
        if count * self.share < cost * self.denominator:
            return None
        price = cost / count
        return _Quote(p, price / cost, 8 * _UNIT * price / cost, price, 4 * _UNIT * price, count, 0.0)

    def pay(self, quote: _Quote) -> None:
        """The winner's supporters pay the price, or all they have."""
        supporters = self.engine.supporters[quote.project]
        money = self.money[supporters]
        # Money certainly below the price is all paid: exactly 0 is left (and 0.0 in floats).
        below = quote.price - (quote.money_error + quote.price_error + 8 * _UNIT * self.budget_float)
        zero = supporters[money < below]
        self.money[supporters] = np.maximum(money - quote.price, 0.0)
        self.is_touched[supporters] = True
        self.error[supporters] += quote.price_error + 2 * _UNIT * self.budget_float
        self.is_zero[zero] = True
        self.error[zero] = 0.0
        self.changed[supporters] = self.round
        self.round += 1


def _winner(quotes: list[_Quote], rank: list[int]) -> _Quote:
    """The quote with the lowest exact key (then tie-break rank), when the bounds prove which it is."""
    best = min(quotes, key=lambda quote: quote.key)
    upper = best.key + best.error
    # Every other quote lying wholly above the best one's, best_upper in _Single.run is the best one's
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


class _Single:
    """One share of a batch, run on its own from the decisions the batch made: alone it takes fewer numpy calls."""

    def __init__(self, batch: "_Batch", column: int) -> None:
        self.engine, self.state = batch.engine, _Run(batch, column)
        self.answer, self.share = batch.answers[column], batch.shares[column]
        self.waiting, self.selected = list(batch.waiting), batch.sequence(column)
        self.spent, self.bought = batch.spent, batch.bought

    def step(self, found: list[tuple[list[int], int] | None], spend_limit: int) -> list["_Batch | _Single"]:
        """One round: [self] while the run goes on; its answer goes into found when it ends (None stays when a
        decision cannot be proven)."""
        run, waiting = self.state, self.waiting
        best_upper = float("inf")
        quotes, quoted = [], []
        try:
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
                found[self.answer] = (self.selected, self.spent)
                return []
            winner = _winner(quotes, self.engine.rank)
        except _Unsure:
            return []
        for entry in quoted:
            if entry[2] != winner.project:
                heapq.heappush(waiting, entry)
        run.pay(winner)
        self.selected.append(winner.project)
        self.spent += self.engine.cost[winner.project]
        self.bought |= 1 << winner.project
        if self.spent > spend_limit:
            found[self.answer] = (self.selected, self.spent)
            return []
        return [self]

    width = 1

    def columns(self) -> "_Columns":
        state = self.state
        return _Columns([self.answer], [self.share], [self.selected], state.money[:, None], state.is_zero[:, None],
                        state.error, state.budget_float, state.is_touched, self.waiting)


@dataclass
class _Columns:
    """What a batch or a lone run holds, share by share, for merging runs that have bought the same projects."""

    answers: list[int]
    shares: list[Fraction]
    sequences: list[list[int]]
    money: np.ndarray
    is_zero: np.ndarray
    error: np.ndarray
    largest: float
    is_touched: np.ndarray
    waiting: list[tuple[float, int, int]]


class _Batch:
    """Float runs at several shares (a column of money each) that have made the same decisions so far."""

    def __init__(self, engine: EngineElection, answers: list[int], shares: list[Fraction]) -> None:
        self.engine = engine
        self.answers = answers  # where each share's answer goes
        self.shares = shares
        self.largest = float(max(shares))
        self.money = np.empty((engine.group_count, len(shares)))
        self.money[:] = [float(share) for share in shares]
        # Each group's |float money - exact money| <= error, in every share (the rounding of the shares, at first).
        self.error = np.full(engine.group_count, 2 * _UNIT * self.largest)
        self.is_zero = np.zeros(self.money.shape, dtype=bool)  # certainly paid all they had: exactly 0 left
        self.is_touched = np.zeros(engine.group_count, dtype=bool)  # the same in every share: the same projects won
        # Projects by a lower bound on their key (then rank), as the engine scans them, less those out of reach at
        # every share (the largest share reaches furthest).
        rank = engine.rank
        self.waiting = [
            (bound, rank[p], p)
            for p, (bound, is_within_reach) in enumerate(
                zip(engine.first_bound.tolist(), within_reach(engine, max(shares)))
            )
            if is_within_reach
        ]
        heapq.heapify(self.waiting)
        self.prefixes: list[tuple[int, ...]] = [()] * len(shares)  # each share's purchases before this batch's own
        self.selected: list[int] = []
        self.spent = 0
        self.bought = 0  # the projects bought, as bits

    @classmethod
    def merged(cls, members: list["_Batch | _Single"]) -> "_Batch":
        """One batch of runs that have bought the same projects (perhaps in different orders): their money,
        the larger of their errors, and for each project waiting the lower of their bounds."""
        batch = object.__new__(cls)
        parts = [member.columns() for member in members]
        batch.engine, first = members[0].engine, parts[0]
        batch.answers = [answer for part in parts for answer in part.answers]
        batch.shares = [share for part in parts for share in part.shares]
        batch.prefixes = [tuple(sequence) for part in parts for sequence in part.sequences]
        batch.money = np.concatenate([part.money for part in parts], axis=1)
        batch.is_zero = np.concatenate([part.is_zero for part in parts], axis=1)
        batch.error = most([part.error for part in parts], axis=0)
        batch.largest = max(part.largest for part in parts)
        batch.is_touched = first.is_touched.copy()  # the same in every member: the same projects were bought
        bounds: dict[int, tuple[float, int, int]] = {}
        for part in parts:
            for entry in part.waiting:
                if entry[2] not in bounds or entry < bounds[entry[2]]:
                    bounds[entry[2]] = entry
        batch.waiting = list(bounds.values())
        heapq.heapify(batch.waiting)
        batch.selected, batch.spent, batch.bought = [], members[0].spent, members[0].bought
        return batch

    @property
    def width(self) -> int:
        return len(self.shares)

    def columns(self) -> _Columns:
        sequences = [self.sequence(column) for column in range(len(self.shares))]
        return _Columns(self.answers, self.shares, sequences, self.money, self.is_zero, self.error, self.largest,
                        self.is_touched, self.waiting)

    def sequence(self, column: int) -> list[int]:
        """The projects the share's run has bought, in order."""
        return [*self.prefixes[column], *self.selected]

    def part(self, keep: np.ndarray) -> "_Batch":
        """A batch of the shares kept, with the decisions made so far and a state of its own."""
        part = object.__new__(_Batch)
        kept = np.flatnonzero(keep).tolist()
        part.engine, part.largest, part.error = self.engine, self.largest, self.error.copy()
        part.answers, part.shares = [self.answers[i] for i in kept], [self.shares[i] for i in kept]
        part.money, part.is_zero = self.money[:, keep], self.is_zero[:, keep]
        part.is_touched, part.waiting = self.is_touched.copy(), list(self.waiting)
        part.prefixes = [self.prefixes[i] for i in kept]
        part.selected, part.spent, part.bought = list(self.selected), self.spent, self.bought
        return part

    def quote(self, p: int) -> _Quotes | None:
        """p's quote in every share (key inf where it is unaffordable); None when it is unaffordable in all of them;
        _Unsure when some decision is not proven."""
        engine = self.engine
        supporters, w = engine.supporters[p], engine.weight_float[p]
        money, e_m = self.money[supporters], float(most(self.error[supporters]))
        cost, count, size = engine.cost[p], engine.supporter_count[p], len(supporters)
        available = _weigh(w, money)
        most_available = float(most(available))
        slack = count * e_m + (size + 4) * _UNIT * 2 * (most_available + cost)
        if most_available <= cost - slack:
            return None
        if least(available) >= cost + slack:
            return self._priced(p, money, e_m, None)
        is_affordable = available >= cost + slack
        if ((available > cost - slack) & ~is_affordable).any():  # too close to tell in some share
            return self._untouched_quote(p)
        return self._priced(p, money[:, is_affordable], e_m, is_affordable)

    def _priced(self, p: int, money: np.ndarray, e_m: float, columns: np.ndarray | None) -> _Quotes | None:
        """p's quote where its supporters can certainly pay its cost: in every share (columns None), or in the
        columns given (money: theirs there, within e_m; key inf elsewhere)."""
        engine = self.engine
        w, cost, count, size = engine.weight_float[p], engine.cost[p], engine.supporter_count[p], len(money)
        total = engine.total_utility_float[p]
        equal = cost / total
        poorest = float(least(money, axis=None))
        if poorest >= equal:  # nobody is short in any share: everyone pays the equal price
            price, poor_money, rich_weight = np.full(money.shape[1], equal), 0.0, np.full(money.shape[1], total)
            margin = poorest - equal  # the least money of those who pay, above the price
        else:
            filled = _water_fill(cost, total, money, w)
            if filled is None:
                return self._untouched_quote(p)
            price, poor, paid, rich_weight = filled
            poor_money = float(most(paid))
            margin = float(least(np.where(poor, np.inf, money - price), axis=None))
        highest = float(most(price))
        rho = 4 * (size + 8) * _UNIT * (cost + poor_money + highest * total)
        clear = 2 * e_m + 8 * _UNIT * (self.largest + e_m + highest)
        # The least weight of those clearly above the price (s), and of those steadily so (steady): when everyone
        # who pays is above the line, it is the weight of those who pay; otherwise the weights are summed.
        s = float(least(rich_weight if margin > clear else _weigh(w, money > price + clear)))
        if s <= 0:
            return self._untouched_quote(p)
        first = (count * e_m + rho) / s * 1.01
        steady = rich_weight if margin >= 2 * e_m + 2 * first else _weigh(w, money >= price + (2 * e_m + 2 * first))
        least_steady = float(least(steady))
        if least_steady <= 0:
            return self._untouched_quote(p)
        # Groups with exactly nothing left have no error either (and none is among the steadily rich).
        if least_steady == total:
            zero = 0.0
        else:
            is_zero = self.is_zero[engine.supporters[p]]
            zero = _weigh(w, is_zero if columns is None else is_zero[:, columns])
        delta = (float(most(total - steady - zero)) * e_m + rho) / least_steady * 1.01
        if delta > 2 * first:
            return self._untouched_quote(p)
        price_error = delta + 4 * _UNIT * highest
        quote = _Quotes(p, price / cost, price_error / cost + 4 * _UNIT * highest / cost, price, price_error, steady,
                        zero, total, e_m)
        return quote if columns is None else quote.widened(columns)

    def _untouched_quote(self, p: int) -> _Quotes | None:
        """The exact quote of a project none of whose supporters has paid yet; _Unsure for any other, or when it is
        affordable at some shares only."""
        engine = self.engine
        if np.count_nonzero(self.is_touched[engine.supporters[p]]):
            raise _Unsure
        cost, count = engine.cost[p], engine.supporter_count[p]
        is_affordable = np.array([count * share.numerator >= cost * share.denominator for share in self.shares])
        if not is_affordable.any():
            return None
        price, shares = cost / count, int(np.count_nonzero(is_affordable))
        quote = _Quotes(p, np.full(shares, price / cost), 8 * _UNIT * price / cost, np.full(shares, price),
                        4 * _UNIT * price, np.full(shares, float(count)), 0.0, float(count), 0.0)
        return quote if is_affordable.all() else quote.widened(is_affordable)

    def pay(self, quote: _Quotes) -> None:
        """The winner's supporters pay the price, or all they have, in every share."""
        supporters = self.engine.supporters[quote.project]
        money = self.money[supporters]
        # Money certainly below the price is all paid: exactly 0 is left (and 0.0 in floats).
        is_zero = money < quote.price - (quote.money_error + quote.price_error + 8 * _UNIT * self.largest)
        if is_zero.any():
            self.is_zero[supporters] |= is_zero
        self.money[supporters] = np.maximum(money - quote.price, 0.0)
        self.is_touched[supporters] = True
        self.error[supporters] += quote.price_error + 2 * _UNIT * self.largest
        self.selected.append(quote.project)
        self.spent += self.engine.cost[quote.project]
        self.bought |= 1 << quote.project

    def step(self, found: list[tuple[list[int], int] | None], spend_limit: int) -> list["_Batch | _Single"]:
        """One round: the batch (or its parts, when the shares' winners differ) while runs go on."""
        popped: list[tuple[float, int, int]] = []
        try:
            quotes, entries = self._round(popped)
        except _Unsure:  # some share cannot be proven: each half of the shares redoes the round
            for entry in popped:
                heapq.heappush(self.waiting, entry)
            return [part for half in self._halves() for part in half.step(found, spend_limit)]
        if not quotes:  # nothing affordable: every share's run ends
            self._end(found)
            return []
        winners = self._winners(quotes)
        if isinstance(winners, _Quotes):
            return [self] if self.buy(winners, entries, found, spend_limit) else []
        for column in np.flatnonzero(winners == _ENDED).tolist():  # nothing affordable: the run ends
            found[self.answers[column]] = (self.sequence(column), self.spent)
        # _UNPROVEN: too close to call, the answer stays None (the exact engine makes this run)
        parts = []
        for index in np.unique(winners[winners >= 0]).tolist():
            part = self.part(winners == index)
            if part.buy(quotes[index].shares(winners == index), entries, found, spend_limit):
                parts.extend(part.alone())
        return parts

    def alone(self) -> list["_Batch | _Single"]:
        """The batch, or its shares one by one when there are too few to be worth a batch."""
        if len(self.shares) >= _BATCH_FROM:
            return [self]
        return [_Single(self, column) for column in range(len(self.shares))]

    def _halves(self) -> list["_Batch | _Single"]:
        """Two batches of half the shares each (or the shares one by one)."""
        first = np.arange(len(self.shares)) < len(self.shares) // 2
        return self.part(first).alone() + self.part(~first).alone()

    def _end(self, found: list[tuple[list[int], int] | None]) -> None:
        for column, answer in enumerate(self.answers):
            found[answer] = (self.sequence(column), self.spent)

    def buy(self, winner: _Quotes, entries: list[tuple[float, int, int]], found, spend_limit: int) -> bool:
        """Fund the winner and put the round's other quotes back; False when that ends every share's run."""
        for entry in entries:
            if entry[2] != winner.project:
                heapq.heappush(self.waiting, entry)
        self.pay(winner)
        if self.spent > spend_limit:
            self._end(found)
            return False
        return True

    def _round(self, popped: list[tuple[float, int, int]]) -> tuple[list[_Quotes], list[tuple[float, int, int]]]:
        """One round's quotes and their heap entries (popped lists every entry taken from the heap)."""
        quotes, entries = [], []
        # Each share's round is complete once no project waiting can be below its best quote's upper end.
        best_upper, limit = np.full(len(self.shares), np.inf), float("inf")
        while self.waiting and self.waiting[0][0] <= limit:
            entry = heapq.heappop(self.waiting)
            popped.append(entry)
            bound, project_rank, p = entry
            quote = self.quote(p)
            if quote is None:
                continue  # unaffordable now, so for good: money only falls
            quotes.append(quote)
            # Keys only rise as money falls: the quote's lower end stays a bound in later rounds.
            entries.append((max(bound, quote.low), project_rank, p))
            np.minimum(best_upper, quote.key + quote.error, out=best_upper)
            limit = float(most(best_upper))
        return quotes, entries

    def _winners(self, quotes: list[_Quotes]) -> "_Quotes | np.ndarray":
        """The quote that wins in every share, if one does; else each share's winner (index into quotes),
        _UNPROVEN where the bounds cannot prove which it is, _ENDED where no project is affordable."""
        best = min(quotes, key=lambda quote: quote.high)
        high = best.high
        if high < np.inf and all(quote is best or quote.low > high for quote in quotes):
            return best
        shares = np.arange(len(self.shares))
        key = np.array([quote.key for quote in quotes])
        error = np.array([quote.error for quote in quotes])[:, None]
        best_index = key.argmin(axis=0)
        upper = key[best_index, shares] + error[best_index, 0]
        # Every other quote lying wholly above the best one's, best_high in _round is above that one's upper
        # end, so every project left unquoted has a bound above it too.
        is_close = key - error <= upper
        is_close[best_index, shares] = False
        has_winner = upper < np.inf
        winners = np.where(has_winner, best_index, _ENDED)
        rank = self.engine.rank
        for share in np.flatnonzero(is_close.any(axis=0) & has_winner).tolist():
            close = np.flatnonzero(is_close[:, share]).tolist() + [int(best_index[share])]
            payers = [quotes[index].payers(share) for index in close]
            if None in payers:
                winners[share] = _UNPROVEN
                continue
            # Any quote outside close has an exact key above upper, which is at least the exact keys compared
            # here. The lowest key 1 / R is the largest R.
            winners[share] = min(
                zip(close, payers), key=lambda item: (-item[1], rank[quotes[item[0]].project])
            )[0]
        return winners


def batch_size(engine: EngineElection) -> int:
    """How many shares float_selections runs together at most (the others after them)."""
    mean_supporters = engine.incidences / max(1, len(engine.ids))
    by_memory = _BATCH_CELLS // max(1, engine.group_count)
    return max(1, min(by_memory, int(_BATCH_SUPPORTS / max(1.0, mean_supporters))))


def float_selections(
    engine: EngineElection, voter_budgets: list[Fraction], spend_limit: int
) -> list[tuple[list[int], int] | None]:
    """For each share, the projects Equal Shares funds, in order, and what they cost, if floats prove it.

    A run stops as soon as more than spend_limit is spent (its selection then ends with the project that
    overspent). None for a share where some decision is too close to prove in floats.
    """
    found: list[tuple[list[int], int] | None] = [None] * len(voter_budgets)
    if engine.is_points or not voter_budgets:
        return found
    size = batch_size(engine)
    # A price is divided by a weight of 0 when rounding leaves nobody paying it; that column is then unproven.
    with np.errstate(divide="ignore", invalid="ignore"):
        for start in range(0, len(voter_budgets), size):
            shares = voter_budgets[start : start + size]
            runs = _Batch(engine, list(range(start, start + len(shares))), shares).alone()
            while runs:
                runs = _merged([going for run in runs for going in run.step(found, spend_limit)])
    return found


def _merged(runs: list["_Batch | _Single"]) -> list["_Batch | _Single"]:
    """The runs, those that have bought the same projects (in whatever order) merged into one batch: runs that
    parted over an order of purchases that changed nothing for the rounds after decide alike again."""
    by_bought: dict[int, list[_Batch | _Single]] = {}
    for run in runs:
        by_bought.setdefault(run.bought, []).append(run)
    merged = []
    for members in by_bought.values():
        if len(members) > 1 and sum(member.width for member in members) >= _BATCH_FROM:
            merged.append(_Batch.merged(members))
        else:
            merged.extend(members)
    return merged


def float_selection(engine: EngineElection, voter_budget: Fraction, spend_limit: int) -> tuple[list[int], int] | None:
    """float_selections at one share."""
    return float_selections(engine, [voter_budget], spend_limit)[0]
