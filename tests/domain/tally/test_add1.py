"""Add1's scan of the shares against the definition, share by share.

The definition: run Equal Shares at first + k for k = 0, 1, 2, ...; keep the run before the first that
overspends, or the first exhaustive one (exhaustive stop), or the one at k == budget (without it).
"""

import json
import os
import subprocess
import sys
import threading
from fractions import Fraction
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings

from pb.domain.tally import ApprovalProfile, Instance, Project
from pb.domain.tally.pabulib import read_file
from pb.domain.tally.rules import add1
from pb.domain.tally.rules.add1 import add1_run, is_exhaustive
from pb.domain.tally.rules.equal_shares_engine import EngineElection, Run, run_equal_shares
from pb.domain.tally.rules.equal_shares_float import batch_size
from tests.domain.tally.test_equal_shares_engine import _engine, elections

DATA = Path(__file__).resolve().parents[2] / "data"
SETTINGS = settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture]
)


def _by_definition(engine: EngineElection, budget: int, first: Fraction, exhaustive_stop: bool) -> Run:
    previous = None
    for k in range(budget + 1):
        run = run_equal_shares(engine, first + k, spend_limit=budget)
        if run.is_overspent:
            return previous
        if (exhaustive_stop and is_exhaustive(engine, run.selected(), run.spent, budget)) or (
            not exhaustive_stop and k == budget
        ):
            return run
        previous = run
    raise AssertionError("Add1 stops by k == budget")


def _same(run: Run, expected: Run) -> bool:
    """The same share and the same purchases, prices and splits included."""
    return (
        run.voter_budget == expected.voter_budget
        and run.selected() == expected.selected()
        and [purchase.price for purchase in run.purchases] == [purchase.price for purchase in expected.purchases]
        and all((a.poor == b.poor).all() for a, b in zip(run.purchases, expected.purchases))
    )


@pytest.mark.parametrize("block", [2, 32])
@SETTINGS
@given(election=elections())
def test_the_scan_keeps_the_run_the_definition_keeps(block, election, monkeypatch):
    """Blocks of 2 shares: failed checks of longer blocks are halved; of 32: short blocks are read share by share."""
    monkeypatch.setattr(add1, "_MIN_BLOCK", block)
    instance, profile, _, _ = election
    engine = _engine(instance, profile)
    first = Fraction(instance.budget, profile.voter_count)  # Add1's first share: it cannot overspend
    for exhaustive_stop in (True, False):
        expected = _by_definition(engine, instance.budget, first, exhaustive_stop)
        assert _same(add1_run(engine, instance.budget, first, exhaustive_stop=exhaustive_stop), expected)


def _long_scan() -> tuple[Instance, ApprovalProfile]:
    """Six voters, three projects: Add1 raises the share 66 times before the outcome is exhaustive."""
    instance = Instance(600, (Project("a", 500), Project("b", 300), Project("c", 250)))
    profile = ApprovalProfile.from_ballots([{"a"}, {"a"}, {"a", "b"}, {"b", "c"}, {"c"}, {"c"}])
    return instance, profile


@pytest.mark.parametrize("block", [2, 3, 8, 32])
@pytest.mark.parametrize("exhaustive_stop", [True, False])
def test_a_long_scan_keeps_the_same_run_whatever_the_blocks(block, exhaustive_stop, monkeypatch):
    monkeypatch.setattr(add1, "_MIN_BLOCK", block)
    instance, profile = _long_scan()
    engine = _engine(instance, profile)
    first = Fraction(instance.budget, 6)
    expected = _by_definition(engine, instance.budget, first, exhaustive_stop)
    assert expected.voter_budget == first + 66
    assert _same(add1_run(engine, instance.budget, first, exhaustive_stop=exhaustive_stop), expected)


def test_the_shares_inside_a_changing_block_are_read_in_floats(monkeypatch):
    """Wieliczka 2023 changes its outcome at most shares: those are read in floats, not run exactly."""
    election = read_file(DATA / "Poland_Wieliczka_2023_Green_Budget.pb")
    instance, profile = election.instance(), election.profile()
    engine = _engine(instance, profile)
    first = Fraction(instance.budget, profile.voter_count)
    calls = {"float": 0, "exact": 0}
    float_selections, exact_run = add1.float_selections, add1.run_equal_shares

    def counted_float(engine, shares, limit):
        calls["float"] += len(shares)
        return float_selections(engine, shares, limit)

    def counted_exact(*args, **kwargs):
        calls["exact"] += 1
        return exact_run(*args, **kwargs)

    monkeypatch.setattr(add1, "float_selections", counted_float)
    monkeypatch.setattr(add1, "run_equal_shares", counted_exact)
    kept = add1_run(engine, instance.budget, first, exhaustive_stop=True, use_helper=False)
    assert kept.voter_budget == first + 150  # the first exhaustive share (see RULES.md)
    assert _same(kept, run_equal_shares(engine, first + 150, spend_limit=instance.budget))
    assert calls["float"] >= 100 and calls["exact"] <= 12, calls


def _wieliczka() -> tuple[EngineElection, int, Fraction]:
    election = read_file(DATA / "Poland_Wieliczka_2023_Green_Budget.pb")
    instance, profile = election.instance(), election.profile()
    return _engine(instance, profile), instance.budget, Fraction(instance.budget, profile.voter_count)


# The helper is forked only where no other thread runs, and a test session may have some (Playwright's
# browser driver has a thread waiting on it): the helper itself is therefore tested in a fresh process.
_HELPER_SCRIPT = """
import json, sys
from fractions import Fraction
from pb.domain.tally.pabulib import read_file
from pb.domain.tally.rules import add1
from pb.domain.tally.rules.add1 import add1_run
from pb.domain.tally.rules.equal_shares_engine import run_equal_shares
from tests.domain.tally.test_add1 import _engine, _same

election = read_file(sys.argv[1])
instance, profile = election.instance(), election.profile()
engine, budget = _engine(instance, profile), instance.budget
first = Fraction(budget, profile.voter_count)
helpers, original = [], add1._Helper.__init__

def spy(self, scan):
    helpers.append(str(scan.first))
    original(self, scan)
    if sys.argv[2] == "killed":
        self.process.kill()  # as if the system had ended it: its shares must be read here
        self.process.join()

add1._Helper.__init__ = spy
if sys.argv[2] == "large":
    add1._HELPER_MAX_INCIDENCES = engine.incidences - 1  # as if the election were too large to share
alone = add1_run(engine, budget, first, exhaustive_stop=True, use_helper=False)
forked_alone = list(helpers)
helped = add1_run(engine, budget, first, exhaustive_stop=True)
expected = run_equal_shares(engine, first + 150, spend_limit=budget)
print(json.dumps({"alone": forked_alone, "helped": helpers, "same": _same(helped, alone) and _same(helped, expected)}))
"""


def _run_script(script: str, data_file: str, mode: str) -> dict:
    """Run a test script in a fresh Python process (no thread of this session's in it) and read its JSON line."""
    root = Path(__file__).resolve().parents[3]
    done = subprocess.run(
        [sys.executable, "-c", script, str(DATA / data_file), mode],
        check=False,
        capture_output=True,
        text=True,
        cwd=root,
        env={**os.environ, "PYTHONPATH": str(root)},
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize("helper", ["working", "killed", "large"])
def test_a_helper_process_reads_shares_too_and_the_run_kept_is_the_same(helper):
    found = _run_script(_HELPER_SCRIPT, "Poland_Wieliczka_2023_Green_Budget.pb", helper)
    assert found["alone"] == [], "no helper without use_helper"
    if helper == "large":
        assert found["helped"] == [], "no helper for an election above the size limit"
    else:
        assert len(found["helped"]) == 1, "a long changing scan should fork one helper"
    assert found["same"], "the run kept with a helper should be the run at the first exhaustive share"


def test_no_helper_is_forked_while_another_thread_runs(monkeypatch):
    def refuse(self, scan):
        raise AssertionError("forked while another thread ran")

    monkeypatch.setattr(add1._Helper, "__init__", refuse)
    engine, budget, first = _wieliczka()
    stop = threading.Event()
    other = threading.Thread(target=stop.wait)
    other.start()
    try:
        kept = add1_run(engine, budget, first, exhaustive_stop=True)
    finally:
        stop.set()
        other.join()
    assert kept.voter_budget == first + 150


def test_a_block_read_in_floats_is_run_a_batch_at_a_time_as_its_readings_are_taken(monkeypatch):
    """A scan that stops early in a block of shares read in floats runs no batch past the one holding its stop."""
    engine, budget, first = _wieliczka()
    batches = []
    float_selections = add1.float_selections

    def counted(engine, shares, limit):
        batches.append(len(shares))
        return float_selections(engine, shares, limit)

    monkeypatch.setattr(add1, "float_selections", counted)
    monkeypatch.setattr(add1, "batch_size", lambda engine: 3)
    scan = add1._Scan(engine, budget, first, exhaustive_stop=True, use_helper=False)
    readings = scan.read(range(10, 20))
    taken = [next(readings) for _ in range(4)]
    assert [reading.k for reading in taken] == [10, 11, 12, 13] and batches == [3, 3]
    assert [reading.k for reading in readings] == list(range(14, 20)) and batches == [3, 3, 3, 1]


def test_shares_are_batched_fewer_at_a_time_where_projects_have_more_supporters():
    """Wieliczka's projects have about 110 supporting ballot groups each; with every ballot over ten projects
    cast, each has 512, its numpy calls are longer, and fewer shares run together."""
    engine, _, _ = _wieliczka()
    instance = Instance(100, tuple(Project(f"p{index}", 10) for index in range(10)))
    every_ballot = [{f"p{index}" for index in range(10) if mask >> index & 1} for mask in range(1, 1024)]
    crowded = _engine(instance, ApprovalProfile.from_ballots(every_ballot))
    assert batch_size(engine) > 4 * batch_size(crowded) >= 4 * 8


def test_a_failed_block_is_split_just_before_the_share_guessed_to_change():
    assert add1._split(0, 10, None) == 5  # no guess: the middle
    assert add1._split(0, 10, 0.5) == 4  # guessed to change at share 5: shares 1 to 4 should repeat
    assert add1._split(0, 10, 0.0) == 1 and add1._split(0, 10, 1.0) == 9  # never an empty part
    assert add1._split(100, 164, 0.26) == 116  # 100 + ceil(16.64) = 117 is the first share guessed to change


def test_guessing_where_the_outcome_changes_saves_checks_and_keeps_the_same_run(monkeypatch):
    """Assen 2025: splitting failed blocks where the keys at their ends say the outcome turns, not in the middle."""
    election = read_file(DATA / "Netherlands_Assen_2025.pb")
    instance, profile = election.instance(), election.profile()
    engine = _engine(instance, profile)
    first = Fraction(instance.budget, profile.voter_count)
    checks = []
    check_range = add1.check_range

    def counted(*args, **kwargs):
        checks.append(args[2])
        return check_range(*args, **kwargs)

    monkeypatch.setattr(add1, "check_range", counted)
    guessed = add1_run(engine, instance.budget, first, exhaustive_stop=True, use_helper=False)
    with_guesses = len(checks)
    checks.clear()
    monkeypatch.setattr(add1, "_split", lambda k, high_k, turn: (k + high_k) // 2)
    halved = add1_run(engine, instance.budget, first, exhaustive_stop=True, use_helper=False)
    assert _same(guessed, halved) and guessed.voter_budget == first + 270
    assert with_guesses < 0.85 * len(checks), (with_guesses, len(checks))


# Segments read by a helper are tested in a fresh process, for the same reason as the helper above.
_SEGMENTS_SCRIPT = """
import json, sys
from fractions import Fraction
from pb.domain.tally.pabulib import read_file
from pb.domain.tally.rules import add1
from pb.domain.tally.rules.add1 import add1_run
from tests.domain.tally.test_add1 import _by_definition, _engine, _same

election = read_file(sys.argv[1])
instance, profile = election.instance(), election.profile()
engine, budget = _engine(instance, profile), instance.budget
first = Fraction(budget, profile.voter_count)
add1._SEGMENTS_FROM, add1._SEGMENT = 64, 96  # Assen 2024 checks 843 shares: short segments, read by turns
segments = {"here": [], "helper": []}
segment, receive, start_helper = add1._Scan.segment, add1._Helper.receive_segment, add1._Helper.__init__

def read_here(scan, start, end):
    segments["here"].append(start)
    return segment(scan, start, end)

def received(helper, scan, start, end):
    segments["helper"].append(start)
    return receive(helper, scan, start, end)

def started(helper, scan):
    start_helper(helper, scan)
    if sys.argv[2] == "killed":
        helper.process.kill()  # as if the system had ended it: its segments must be read here
        helper.process.join()

add1._Scan.segment, add1._Helper.receive_segment, add1._Helper.__init__ = read_here, received, started
helped = add1_run(engine, budget, first, exhaustive_stop=True)
alone = add1_run(engine, budget, first, exhaustive_stop=True, use_helper=False)
expected = _by_definition(engine, budget, first, True)
print(json.dumps({**segments, "k": int(helped.voter_budget - first), "same": _same(helped, alone) and _same(helped, expected)}))
"""


@pytest.mark.parametrize("helper", ["working", "killed"])
def test_a_long_scan_is_read_in_segments_by_turns_and_keeps_the_same_run(helper):
    found = _run_script(_SEGMENTS_SCRIPT, "Netherlands_Assen_2024.pb", helper)
    assert found["k"] == 843 and found["same"], "the run kept should be the definition's, at share 843"
    starts = sorted(set(found["here"] + found["helper"]))  # every segment once, by turns, with no gap
    assert len(found["helper"]) >= 3 and starts == list(range(starts[0], starts[0] + 96 * len(starts), 96))
    assert set(found["helper"]) == set(starts[1::2])
    # A segment the helper should have read is read here when it is gone: every segment then appears twice.
    assert (set(found["helper"]) <= set(found["here"])) == (helper == "killed")
