"""Add1's scan of the voter shares: which runs it makes, in what order, and how.

Add1 runs Equal Shares at the shares ``first + k`` for k = 0, 1, 2, ... and stops at the first run that
stops it (see ``equal_shares``): a run that overspends the real budget (Add1 then keeps the run before it),
an exhaustive run when ``exhaustive_stop`` (kept), or the run at ``last_k`` (kept). Whether a run stops
Add1 depends only on the projects it funds, so most shares need only those; the kept run is made exactly.

The scan takes the shares in blocks, from the last share read. A block is first checked against the run at
its start (``check_range``):

* when the check proves that every share in the block funds what the run at its end funds, the block is
  skipped: its last share stands for all of them, and the next block is twice as long;
* otherwise the outcome changes inside the block. The block is halved and each half checked from the
  decisions the failed check proved, down to single shares, whose run is made by finishing the check's
  search (as ``add1_runs`` does); the next block is half as long, but not below 32 shares.

Some elections change their outcome at almost every share for a while (Wieliczka 2023, most of its 150
shares), where halving costs about two checks per share. Once a block has changed at a quarter of its
shares or more, a failed block of at most 32 shares is instead read share by share by Equal Shares in
floats (``equal_shares_float``: the projects a run funds, every decision proven by error bounds, or no
answer, and then the exact engine makes the run), and its last share exactly by finishing the failed
check's search, which has already made the decisions the check proved. A block that changed at fewer
shares goes back to halving.

Points ballots have no float reading; their blocks are always halved (``add1_runs``).
"""

from collections.abc import Iterator
from dataclasses import dataclass
from fractions import Fraction

from pb.domain.tally.rules.equal_shares_engine import (
    Bracket,
    EngineElection,
    Run,
    _Search,
    add1_runs,
    check_range,
    run_equal_shares,
)
from pb.domain.tally.rules.equal_shares_float import float_selection

_MIN_BLOCK = 32  # a block this short whose outcome changes inside is read share by share


@dataclass(frozen=True)
class Reading:
    """What the scan knows of the run at one share: what it funds and spends, and the run when made exactly."""

    k: int
    selected: tuple[int, ...]
    spent: int
    is_overspent: bool
    run: Run | None

    @classmethod
    def of(cls, k: int, run: Run) -> "Reading":
        return cls(k, tuple(run.selected()), run.spent, run.is_overspent, run)


def is_exhaustive(engine: EngineElection, selected: tuple[int, ...] | list[int], spent: int, budget: int) -> bool:
    """Whether no project left unfunded fits in what is left of the real budget."""
    funded = set(selected)
    left = budget - spent
    return all(engine.cost[p] > left for p in range(len(engine.ids)) if p not in funded)


class _Scan:
    """One Add1 scan's election and stopping rule."""

    def __init__(
        self, engine: EngineElection, budget: int, first_voter_budget: Fraction, exhaustive_stop: bool
    ) -> None:
        self.engine, self.budget, self.first = engine, budget, first_voter_budget
        self.exhaustive_stop = exhaustive_stop
        # Without the exhaustive stop Add1 stops at the latest when the share has been raised by the whole budget.
        self.last_k = None if exhaustive_stop else budget
        self.is_dense = False  # whether outcomes have lately changed at many shares (see readings)

    def stops(self, reading: Reading) -> bool:
        return (
            reading.is_overspent
            or (self.exhaustive_stop and is_exhaustive(self.engine, reading.selected, reading.spent, self.budget))
            or (self.last_k is not None and reading.k >= self.last_k)
        )

    def run_at(self, k: int) -> Run:
        return run_equal_shares(self.engine, self.first + k, spend_limit=self.budget)

    def read(self, k: int) -> Reading:
        """The run at share k: in floats when they prove it, else made exactly."""
        found = float_selection(self.engine, self.first + k, self.budget)
        if found is None:
            return Reading.of(k, self.run_at(k))
        selected, spent = found
        return Reading(k, tuple(selected), spent, spent > self.budget, None)

    def readings(self) -> Iterator[Reading]:
        """The readings in order of k, each standing for the shares after the one before it, up to one that stops."""
        k, run = 0, self.run_at(0)
        reading = Reading.of(k, run)
        yield reading
        step = 2
        while self.last_k is None or k < self.last_k:
            high_k = k + step if self.last_k is None else min(k + step, self.last_k)
            reads = changes = 0
            for next_reading in self._block(k, run, high_k):
                reads += 1
                changes += next_reading.selected != reading.selected
                reading = next_reading
                yield reading
            assert reading.run is not None  # a block ends with an exact run
            if reads > 1:
                # Outcomes that changed at a quarter of the block's shares or more will change as often in the
                # next: reading its shorter blocks share by share is then cheaper than halving them.
                self.is_dense = 4 * changes >= high_k - k
            k, run = high_k, reading.run
            step = 2 * step if reads == 1 else max(_MIN_BLOCK, step // 2)

    def _block(
        self, k: int, run: Run, high_k: int, within: Bracket | None = None, high_search: _Search | None = None
    ) -> Iterator[Reading]:
        """Readings for the shares k + 1 to high_k, the last made exactly, from the exact run at k.

        Like add1_runs: a block shown to repeat run's decisions is read at its end only; a failed check is
        halved, each half checked from the decisions it showed, down to single shares, whose run is made by
        finishing the check's search. While outcomes change densely, a failed block of at most _MIN_BLOCK
        shares is instead read share by share (in floats where they can prove it) and its end by finishing.
        """
        if self.engine.is_points:
            for share, found in add1_runs(self.engine, run, k, high_k, self.first, self.budget, within, high_search):
                yield Reading.of(share, found)
            return
        high, bracket, search = check_range(self.engine, run, self.first + high_k, within, high_search)
        if high is not None:
            yield Reading.of(high_k, high)
            return
        if high_k - k == 1 or (self.is_dense and high_k - k <= _MIN_BLOCK):
            for share in range(k + 1, high_k):
                yield self.read(share)
            yield Reading.of(high_k, search.finish(self.budget))
            return
        middle_k = (k + high_k) // 2
        for reading in self._block(k, run, middle_k, bracket, search):
            yield reading
        if reading.run is None or reading.is_overspent:  # the scan stops at an overspent run
            return
        yield from self._block(middle_k, reading.run, high_k, bracket, search)


def add1_run(engine: EngineElection, budget: int, first_voter_budget: Fraction, *, exhaustive_stop: bool) -> Run:
    """The run Add1 keeps (see the module)."""
    scan = _Scan(engine, budget, first_voter_budget, exhaustive_stop)
    previous: Reading | None = None  # the first share cannot overspend, so a stop at k == 0 keeps its run
    for reading in scan.readings():
        if scan.stops(reading):
            kept = previous if reading.is_overspent else reading
            assert kept is not None  # the run at k == 0 spends at most the budget
            return kept.run if kept.run is not None else scan.run_at(kept.k)
        previous = reading
    raise AssertionError("Add1 reads on until a run stops it")
