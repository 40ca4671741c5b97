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

Some elections change their outcome at almost every share for a while (Wieliczka 2023, most of its 150
shares), where checks nearly always fail and halving costs about two checks per share. Once a block has
changed at a quarter of its shares or more, the scan reads each of the next 32 shares, with no check,
by Equal Shares in floats (``equal_shares_float``: the projects a run funds, every decision proven by error
bounds, or no answer, and then the exact engine makes the run; neighbouring shares run together as long as
they decide alike), and goes on so while they change as often; then it makes the run at the last share
read exactly and checks blocks again.

Points ballots have no float reading; their blocks are always checked and halved (``add1_runs``).

The runs at different shares are independent, so when eight shares or more are read so, a helper process
reads the later half while this one reads the first; their readings are then taken in order of k,
so the outcome cannot depend on the helper. It is forked (for elections of up to a million supports, so
that it cannot double a very large scan's memory) at the scan's first such block (sharing the
election without copying it) and ended with the scan. There is no helper where a fork is not available
or not safe: without the fork start method, inside a daemonic process (which may have no children), or
while other threads run (a fork copies only the calling thread, and locks the others hold would stay held
in the child). If the helper is gone, its shares are read here.

A scan still checking blocks past 1,024 shares is a long one (a small currency unit: Budapest 2024 raises
the share 22,001 times, by one forint each). The rest is read in segments of 3,072 shares, each from the
exact run at its start: this process reads the first, the helper the second, and so on, both at once. The
helper's readings are taken in their turn, so here too the order is that of k. On Budapest the restarts cost
about 1% more work (the same 848 checks, and one exact run at each segment's start); reading by turns takes
its scan from 2.4 s to about 1.8 s.
"""

import itertools
import math
import multiprocessing
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from fractions import Fraction
from multiprocessing.connection import Connection

from pb.domain.tally.rules.equal_shares_engine import (
    Bracket,
    EngineElection,
    Run,
    _Search,
    add1_runs,
    check_range,
    run_equal_shares,
)
from pb.domain.tally.rules.equal_shares_float import batch_size, float_selections

_MIN_BLOCK = 32  # a block this short whose outcome changes inside is read share by share
_HELPER_FROM = 8  # shares read one by one at once, from which a helper process reads half of them
# A scan still checking blocks this many shares on reads the rest in segments of _SEGMENT shares, every other
# one by a helper process (Budapest 2024 checks 22,001 shares; no other election in pabulib's set reaches this).
_SEGMENTS_FROM = 1024
_SEGMENT = 3072
# A helper's own arrays grow with the election: above this many (group, project) supports (a city of a
# million voters has some three million) it could take the scan past 1 GB, and reads there are short anyway.
_HELPER_MAX_INCIDENCES = 1_000_000


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
        self,
        engine: EngineElection,
        budget: int,
        first_voter_budget: Fraction,
        exhaustive_stop: bool,
        use_helper: bool = True,
    ) -> None:
        self.engine, self.budget, self.first = engine, budget, first_voter_budget
        self.exhaustive_stop = exhaustive_stop
        # Without the exhaustive stop Add1 stops at the latest when the share has been raised by the whole budget.
        self.last_k = None if exhaustive_stop else budget
        self.is_dense = False  # whether outcomes have lately changed at many shares (see readings)
        self.use_helper = use_helper
        self.helper: _Helper | None = None

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

    def _float_readings(self, shares: range) -> Iterator[Reading]:
        """Readings of the shares, in order; a helper process reads the later half when there are enough."""
        helper = self._helper(len(shares))
        if helper is None:
            yield from self.read(shares)
            return
        mine = len(shares) // 2
        helper.send(shares[mine:])
        yield from self.read(shares[:mine])
        yield from (self._reading(share, found) for share, found in helper.receive(self, shares[mine:]))

    def _helper(self, share_count: int) -> "_Helper | None":
        """The scan's helper for reading share_count shares in floats (None: too few to be worth one)."""
        return self._forked_helper() if share_count >= _HELPER_FROM else None

    def close(self) -> None:
        if self.helper is not None:
            self.helper.close()
            self.helper = None

    def readings(self) -> Iterator[Reading]:
        """The readings in order of k, each standing for the shares after the one before it, up to one that stops."""
        k, run = 0, self.run_at(0)
        reading = Reading.of(k, run)
        yield reading
        step = 2
        while self.last_k is None or k < self.last_k:
            if k >= _SEGMENTS_FROM and not self.is_dense and self._forked_helper() is not None:
                yield from self._segments(k)
                return
            high_k = k + step if self.last_k is None else min(k + step, self.last_k)
            if self.is_dense:
                high_k = k + _MIN_BLOCK if self.last_k is None else min(k + _MIN_BLOCK, self.last_k)
                blocks = self._float_readings(range(k + 1, high_k + 1))
            else:
                blocks = self._block(k, run, high_k)
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

    def _forked_helper(self) -> "_Helper | None":
        """The scan's helper process, forked at its first use, or None where there is none to be had (use_helper
        off, an election too large to share, or no fork safe here)."""
        if self.helper is None and self.use_helper and self.engine.incidences <= _HELPER_MAX_INCIDENCES and _can_fork():
            self.helper = _Helper(self)
        return self.helper

    def _segments(self, k: int) -> Iterator[Reading]:
        """The readings after k, segment by segment: this process reads the first segment, the helper the second,
        and so on, both at once; the helper's readings are taken in their turn, so the order is that of k."""
        helper = self._forked_helper()
        assert helper is not None
        helper.send(("segments", k))
        for index in itertools.count():
            start, end = self.segment_bounds(k, index)
            if start >= end:
                return
            if index % 2 == 0:
                yield from self.segment(start, end)
            else:
                yield from helper.receive_segment(self, start, end)

    def segment_bounds(self, k: int, index: int) -> tuple[int, int]:
        """The shares after start up to end that make segment index of the segments after k (empty past last_k)."""
        start = k + index * _SEGMENT
        return start, start + _SEGMENT if self.last_k is None else min(start + _SEGMENT, self.last_k)

    def segment(self, start: int, end: int) -> Iterator[Reading]:
        """The readings after start up to end, from the exact run at start, by checked blocks only; the last is at
        end unless a reading before it stops the scan."""
        k, run, step = start, self.run_at(start), _MIN_BLOCK
        while k < end:
            high_k = min(k + step, end)
            reads = 0
            for reading in self._block(k, run, high_k):
                reads += 1
                yield reading
                if self.stops(reading):
                    return
            k = high_k
            run = reading.run if reading.run is not None else self.run_at(k)
            step = 2 * step if reads == 1 else max(_MIN_BLOCK, step // 2)

    def _block(
        self, k: int, run: Run, high_k: int, within: Bracket | None = None, high_search: _Search | None = None
    ) -> Iterator[Reading]:
        """Readings for the shares k + 1 to high_k, the last made exactly, from the exact run at k.

        Like add1_runs (which points ballots use): a block shown to repeat run's decisions is read at its end
        only; a failed check is halved, each half checked from the decisions it showed, down to single shares,
        whose run is made by finishing the check's search.
        """
        if self.engine.is_points:
            for share, found in add1_runs(self.engine, run, k, high_k, self.first, self.budget, within, high_search):
                yield Reading.of(share, found)
            return
        high, bracket, search = check_range(
            self.engine, run, self.first + high_k, within, high_search, wants_turn=high_k - k > 2
        )
        if high is not None:
            yield Reading.of(high_k, high)
            return
        if high_k - k == 1:
            yield Reading.of(high_k, search.finish(self.budget))
            return
        middle_k = _split(k, high_k, bracket.turn)
        for reading in self._block(k, run, middle_k, bracket, search):
            yield reading
        if reading.run is None or reading.is_overspent:  # the scan stops at an overspent run
            return
        yield from self._block(middle_k, reading.run, high_k, bracket, search)


def _split(k: int, high_k: int, turn: float | None) -> int:
    """Where to split a failed block (k, high_k]: just before the share where the outcome is guessed to change
    (turn, see Bracket), so that the part before it is shown at once and the change is found in a few checks;
    the middle without a guess."""
    if turn is None:
        return (k + high_k) // 2
    first_changed = k + math.ceil(turn * (high_k - k))
    return min(max(first_changed - 1, k + 1), high_k - 1)


def add1_run(
    engine: EngineElection, budget: int, first_voter_budget: Fraction, *, exhaustive_stop: bool, use_helper: bool = True
) -> Run:
    """The run Add1 keeps (see the module); use_helper: whether a helper process may read shares too."""
    scan = _Scan(engine, budget, first_voter_budget, exhaustive_stop, use_helper)
    try:
        previous: Reading | None = None  # the first share cannot overspend, so a stop at k == 0 keeps its run
        for reading in scan.readings():
            if scan.stops(reading):
                kept = previous if reading.is_overspent else reading
                assert kept is not None  # the run at k == 0 spends at most the budget
                return kept.run if kept.run is not None else scan.run_at(kept.k)
            previous = reading
        raise AssertionError("Add1 reads on until a run stops it")
    finally:
        scan.close()


def _can_fork() -> bool:
    """Whether a fork is available and safe: not in a daemonic process (no children allowed), no other thread
    running (a fork copies only the calling thread; locks the others hold would stay held in the child)."""
    return (
        "fork" in multiprocessing.get_all_start_methods()
        and not multiprocessing.current_process().daemon
        and threading.active_count() == 1
    )


class _Helper:
    """A process forked from the scan, which so shares its election without copying it, reading shares in floats."""

    def __init__(self, scan: _Scan) -> None:
        context = multiprocessing.get_context("fork")
        self.connection, there = context.Pipe(duplex=True)
        self.process = context.Process(target=_serve, args=(scan, there), daemon=True)
        self.process.start()
        there.close()
        self.is_alive = True

    def send(self, shares: range) -> None:
        try:
            self.connection.send(shares)
        except OSError:  # the helper is gone (killed from outside, out of memory): receive reads them here
            self.is_alive = False

    def receive_segment(self, scan: _Scan, start: int, end: int) -> Iterator[Reading]:
        """The helper's readings of the segment after start up to end (read here if the helper is gone)."""
        if self.is_alive:
            try:
                found = self.connection.recv()
            except (EOFError, OSError):
                self.is_alive = False
            else:
                return (Reading(k, selected, spent, is_overspent, None) for k, selected, spent, is_overspent in found)
        return scan.segment(start, end)

    def receive(self, scan: _Scan, shares: range) -> list[tuple[int, tuple[list[int], int] | None]]:
        """What the helper found for the shares sent, in order; read here if the helper is gone."""
        if self.is_alive:
            try:
                return self.connection.recv()
            except (EOFError, OSError):
                self.is_alive = False
        return list(zip(shares, float_selections(scan.engine, [scan.first + share for share in shares], scan.budget)))

    def close(self) -> None:
        # It may be in the middle of shares nobody needs; it holds nothing worth a clean exit.
        self.process.kill()
        self.process.join()
        self.connection.close()


def _serve(scan: _Scan, connection: Connection) -> None:
    """The helper's loop. Sent a range of shares, it reads them in floats and sends back what it found; sent
    ("segments", k), it reads every other segment of the scan after k, from the second, sending each segment's
    readings as they are done, until one stops the scan (see _Scan._segments)."""
    while True:
        try:
            request = connection.recv()
        except EOFError:
            return
        if isinstance(request, range):
            shares = [scan.first + share for share in request]
            connection.send(list(zip(request, float_selections(scan.engine, shares, scan.budget))))
            continue
        _, k = request
        for index in itertools.count(1, 2):
            start, end = scan.segment_bounds(k, index)
            if start >= end:
                break
            readings = list(scan.segment(start, end))
            connection.send([(r.k, r.selected, r.spent, r.is_overspent) for r in readings])
            if readings and scan.stops(readings[-1]):
                break
