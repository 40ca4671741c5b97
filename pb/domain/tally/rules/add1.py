"""Add1's scan of the voter shares: which runs it makes, in what order, and how.

Add1 runs Equal Shares at the shares ``first + k`` for k = 0, 1, 2, ... and stops at the first run that
stops it (see ``equal_shares``): a run that overspends the real budget (Add1 then keeps the run before it),
an exhaustive run when ``exhaustive_stop`` (kept), or the run at ``last_k`` (kept). Whether a run stops
Add1 depends only on the projects it funds, so most shares need only those; the kept run is made exactly.

The scan takes the shares in blocks, from the last share read. A block is first checked against the run at
its start (``check_range``):

* when the check proves that every share in the block funds what the run at its end funds, the block is
  skipped: its last share stands for all of them, and the next block is twice as long;
* otherwise the outcome may change inside the block. The block is split in two and each part checked from
  the decisions the failed check proved, down to single shares, whose run is made by finishing the check's
  search (as ``add1_runs`` does); the next block is half as long, but not below 32 shares. The split is
  just before the share where the check guessed the outcome turns (``Bracket.turn``: where the rival it
  failed on overtakes low's winner if both keys are straight lines between the block's ends, where the
  argument that failed would stop showing it, or where a project comes within its supporters' reach), so
  that the part before is shown at once and the change found in a few checks; in the middle without a
  guess. On Budapest 2024, which changes its outcome 123 times in 22,001 shares, this and the slope
  arguments of ``check_range`` take the scan from 3,572 checks to 848.

Budgets of any size. Blocks that pass double, so a scan reaches share 10**30 in a hundred checks; what
could make it visit shares one by one is a guess that keeps missing: floats cannot place a turn to the share
among 10**20 shares, and a guess of "at the block's end" would cut off one share per check. After eight
splits at a guess in a row that find no change, failed blocks are halved until one does (``add1_runs``), so
each change of outcome costs at most some nine checks per doubling of the block, whatever the budget: two
projects and six voters with a budget of 10**30 take 500 to 900 checks, under half a second. Amounts of
more than 200 digits are refused (``model.MONEY_LIMIT``: floats must hold every sum of money).

Some elections change their outcome at almost every share for a while (Wieliczka 2023, most of its 150
shares), where checks nearly always fail and halving costs about two checks per share. Once a block has
changed at a quarter of its shares or more, the scan reads each of the next 32 shares, with no check,
by Equal Shares in floats (``equal_shares_float``: the projects a run funds, every decision proven by error
bounds, or no answer, and then the exact engine makes the run; neighbouring shares run together as long as
they decide alike), and goes on so while they change as often; then it makes the run at the last share
read exactly and checks blocks again.

Points ballots have no float reading; their blocks are always checked and halved (``add1_runs``).

Everything happens in this one process. An earlier version forked a helper process that read half of the
shares at once; it saved about a quarter of Budapest 2024's scan on two cores, but a helper outlives a
``pb-tally`` killed by a signal (``timeout``, a gunicorn worker timeout), needs memory of its own and makes
the scan much harder to follow, so it was taken out.
"""

from collections.abc import Iterator
from dataclasses import dataclass
from fractions import Fraction

from pb.domain.tally.rules.equal_shares_engine import EngineElection, Run, add1_runs, run_equal_shares
from pb.domain.tally.rules.equal_shares_float import batch_size, float_selections

_MIN_BLOCK = 32  # a block this short whose outcome changes inside is read share by share
_GUESSES = 8  # splits at a guess in a row that find no change, after which blocks are halved (see add1_runs)


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

    def read(self, shares: range) -> Iterator[Reading]:
        """The runs at the shares, in order: in floats when they prove them, else made exactly. Shares are run
        together a batch at a time, and no batch is run before the readings before it are taken (a scan that
        stops early in a block reads no further)."""
        size = batch_size(self.engine)
        for start in range(0, len(shares), size):
            batch = shares[start : start + size]
            found = float_selections(self.engine, [self.first + k for k in batch], self.budget)
            yield from (self._reading(k, selection) for k, selection in zip(batch, found))

    def _reading(self, k: int, found: tuple[list[int], int] | None) -> Reading:
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
            high_k = k + (_MIN_BLOCK if self.is_dense else step)
            if self.last_k is not None:
                high_k = min(high_k, self.last_k)
            blocks = self.read(range(k + 1, high_k + 1)) if self.is_dense else self._block(k, run, high_k)
            reads = changes = 0
            for next_reading in blocks:
                reads += 1
                changes += next_reading.selected != reading.selected
                reading = next_reading
                yield reading
            if reads > 1:
                # Outcomes that changed at a quarter of the block's shares or more will change as often in the
                # next: reading it share by share is then cheaper than checking and halving it.
                self.is_dense = 4 * changes >= high_k - k and not self.engine.is_points
            k = high_k
            run = reading.run if reading.run is not None or self.is_dense else self.run_at(k)
            step = 2 * step if reads == 1 else max(_MIN_BLOCK, step // 2)

    def _block(self, k: int, run: Run, high_k: int) -> Iterator[Reading]:
        """Readings for the shares k + 1 to high_k, the last made exactly, from the exact run at k (add1_runs:
        checked blocks, split where the check guesses the outcome turns; points ballots in the middle)."""
        guesses = 0 if self.engine.is_points else _GUESSES
        for share, found in add1_runs(self.engine, run, k, high_k, self.first, self.budget, guesses=guesses):
            yield Reading.of(share, found)


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
