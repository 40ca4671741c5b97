"""Add1's scan of the shares against the definition, share by share.

The definition: run Equal Shares at first + k for k = 0, 1, 2, ...; keep the run before the first that
overspends, or the first exhaustive one (exhaustive stop), or the one at k == budget (without it).
"""

import json
import os
import subprocess
import sys
from fractions import Fraction
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings

from pb.domain.tally import ApprovalProfile, Instance, PointsProfile, Project
from pb.domain.tally.pabulib import read_file
from pb.domain.tally.rules import add1, equal_shares_engine
from pb.domain.tally.rules.add1 import add1_run, is_exhaustive
from pb.domain.tally.rules.equal_shares_engine import EngineElection, Run, run_equal_shares, split
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
    kept = add1_run(engine, instance.budget, first, exhaustive_stop=True)
    assert kept.voter_budget == first + 150  # the first exhaustive share (see RULES.md)
    assert _same(kept, run_equal_shares(engine, first + 150, spend_limit=instance.budget))
    assert calls["float"] >= 100 and calls["exact"] <= 12, calls


def _wieliczka() -> tuple[EngineElection, int, Fraction]:
    election = read_file(DATA / "Poland_Wieliczka_2023_Green_Budget.pb")
    instance, profile = election.instance(), election.profile()
    return _engine(instance, profile), instance.budget, Fraction(instance.budget, profile.voter_count)


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
    scan = add1._Scan(engine, budget, first, exhaustive_stop=True)
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
    assert split(0, 10, None) == 5  # no guess: the middle
    assert split(0, 10, 0.5) == 4  # guessed to change at share 5: shares 1 to 4 should repeat
    assert split(0, 10, 0.0) == 1 and split(0, 10, 1.0) == 9  # never an empty part
    assert split(100, 164, 0.26) == 116  # 100 + ceil(16.64) = 117 is the first share guessed to change


def test_guessing_where_the_outcome_changes_saves_checks_and_keeps_the_same_run(monkeypatch):
    """Assen 2025: splitting failed blocks where the keys at their ends say the outcome turns, not in the middle."""
    election = read_file(DATA / "Netherlands_Assen_2025.pb")
    instance, profile = election.instance(), election.profile()
    engine = _engine(instance, profile)
    first = Fraction(instance.budget, profile.voter_count)
    checks = []
    check_range = equal_shares_engine.check_range

    def counted(*args, **kwargs):
        checks.append(args[2])
        return check_range(*args, **kwargs)

    monkeypatch.setattr(equal_shares_engine, "check_range", counted)
    guessed = add1_run(engine, instance.budget, first, exhaustive_stop=True)
    with_guesses = len(checks)
    checks.clear()
    monkeypatch.setattr(add1, "_GUESSES", 0)
    halved = add1_run(engine, instance.budget, first, exhaustive_stop=True)
    assert _same(guessed, halved) and guessed.voter_budget == first + 270
    assert with_guesses < 0.85 * len(checks), (with_guesses, len(checks))


def test_a_long_checked_scan_keeps_the_run_the_definition_keeps():
    """Assen 2024 raises the share 843 times, most of them skipped in checked blocks."""
    election = read_file(DATA / "Netherlands_Assen_2024.pb")
    instance, profile = election.instance(), election.profile()
    engine = _engine(instance, profile)
    first = Fraction(instance.budget, profile.voter_count)
    kept = add1_run(engine, instance.budget, first, exhaustive_stop=True)
    assert kept.voter_budget == first + 843
    assert _same(kept, _by_definition(engine, instance.budget, first, True))


# Budgets of any size. Two projects that cost nearly the whole budget, six voters: b (cost B - 2, four supporters)
# comes within reach at the share B / 6 + k for the first k >= (B - 6) / 12, and is then exhaustive (mes-add1). Without
# the exhaustive stop, a (cost B - 1, three supporters, one of them also b's) comes within reach after b, and funding
# it overspends, at the first k >= (3B - 6) / 12: the run before it is kept. Every share in between changes nothing.
SIX_VOTERS = [["a"], ["a"], ["a", "b"], ["b"], ["b"], ["b"]]


def _near_budget(budget: int) -> tuple[Instance, ApprovalProfile]:
    projects = (Project("a", budget - 1), Project("b", budget - 2))
    return Instance(budget, projects), ApprovalProfile.from_ballots(SIX_VOTERS)


def _ceil_div(numerator: int, denominator: int) -> int:
    return -(-numerator // denominator)


def _expected_near_budget_k(budget: int, exhaustive_stop: bool) -> int:
    return _ceil_div(budget - 6, 12) if exhaustive_stop else _ceil_div(3 * budget - 6, 12) - 1


@pytest.mark.parametrize("budget", [60, 600, 1_000])
@pytest.mark.parametrize("exhaustive_stop", [True, False])
def test_the_near_budget_shape_keeps_the_share_the_definition_keeps(budget, exhaustive_stop):
    """The formula below is the definition's on budgets small enough to run it share by share."""
    instance, profile = _near_budget(budget)
    engine, first = _engine(instance, profile), Fraction(budget, 6)
    expected = _by_definition(engine, budget, first, exhaustive_stop)
    assert expected.voter_budget == first + _expected_near_budget_k(budget, exhaustive_stop)
    assert _same(add1_run(engine, budget, first, exhaustive_stop=exhaustive_stop), expected)


_HUGE_BUDGET_SCRIPT = """
import json, sys
from fractions import Fraction
from pb.domain.tally import PointsProfile
from pb.domain.tally.rules.add1 import add1_run
from tests.domain.tally.test_add1 import _engine, _near_budget

budget, exhaustive_stop, points = int(sys.argv[1]), sys.argv[2] == "1", sys.argv[3] == "1"
instance, profile = _near_budget(budget)
if points:
    ballots = [{"a": 3}, {"a": 1, "b": 2}, {"b": 5}, {"a": 2, "b": 2}, {"b": 1}, {"a": 4}]
    profile = PointsProfile.from_ballots(ballots)
engine, first = _engine(instance, profile), Fraction(budget, 6)
run = add1_run(engine, budget, first, exhaustive_stop=exhaustive_stop)
print(json.dumps({"k": str(run.voter_budget - first), "selected": [engine.ids[p] for p in run.selected()]}))
"""


def _add1_in_a_process(budget: int, exhaustive_stop: bool, points: bool = False) -> dict:
    """Add1 on the near-budget shape in a fresh process: a scan that visits shares one by one fails on the
    timeout (generous: each of these takes well under a second) rather than hang the test session."""
    root = Path(__file__).resolve().parents[3]
    args = [str(budget), str(int(exhaustive_stop)), str(int(points))]
    done = subprocess.run(
        [sys.executable, "-c", _HUGE_BUDGET_SCRIPT, *args], capture_output=True, text=True, cwd=root, timeout=60,
        env={**os.environ, "PYTHONPATH": str(root)}, check=False,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize("budget", [10**7, 10**9, 10**12, 10**30, 10**199])
@pytest.mark.parametrize("exhaustive_stop", [True, False])
def test_a_huge_budget_keeps_the_share_the_definition_keeps_without_visiting_every_share(budget, exhaustive_stop):
    found = _add1_in_a_process(budget, exhaustive_stop)
    assert found == {"k": str(_expected_near_budget_k(budget, exhaustive_stop)), "selected": ["b"]}


@pytest.mark.parametrize("exhaustive_stop", [True, False])
def test_a_huge_budget_on_points_ballots_keeps_the_run_a_small_one_keeps(exhaustive_stop):
    """Points ballots take the halving path: b is funded alone, as with the same shape at a budget of 600."""
    instance, _ = _near_budget(600)
    ballots = [{"a": 3}, {"a": 1, "b": 2}, {"b": 5}, {"a": 2, "b": 2}, {"b": 1}, {"a": 4}]
    engine = _engine(instance, PointsProfile.from_ballots(ballots))
    small = [engine.ids[p] for p in _by_definition(engine, 600, Fraction(600, 6), exhaustive_stop).selected()]
    for budget in (10**30, 10**199):
        assert _add1_in_a_process(budget, exhaustive_stop, points=True)["selected"] == small
