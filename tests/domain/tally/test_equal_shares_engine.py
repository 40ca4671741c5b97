"""The Add1 shortcuts of the Equal Shares engine against plain runs at every budget they claim to cover.

check_range claims that every voter budget in a range makes the same first decisions, step by step (a
step of several projects no group supports two of may be funded in any order), and funds the same
projects when it returns a run, which is then the plain run at its budget; in the affine rounds the run
at any budget inside is known by interpolation. add1_runs claims to yield, in order, the plain runs at
some budgets, whose selections stand for every budget it skips. Each claim is compared with Equal
Shares run from scratch at each budget, integer and in between. Ballots are sometimes drawn within
districts (no ballot spans two), so that order-free steps occur.
"""

from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from pb.domain.tally import LEXICOGRAPHIC, ApprovalProfile, Instance, PointsProfile, Project
from pb.domain.tally.pabulib import read_file
from pb.domain.tally.rules import equal_shares_engine
from pb.domain.tally.rules.common import prepare
from pb.domain.tally.rules.equal_shares_engine import (
    EngineElection,
    Purchase,
    Run,
    _Search,
    _Slopes,
    add1_runs,
    check_range,
    engine_election,
    run_equal_shares,
)

DATA = Path(__file__).resolve().parents[2] / "data"
SETTINGS = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@st.composite
def elections(draw):
    """Few projects with few distinct costs (near ties), ballot groups of varied weight, small shares."""
    project_count = draw(st.integers(2, 7))
    ids = [f"p{index}" for index in range(project_count)]
    unit = draw(st.sampled_from([1, 3, 10]))
    projects = tuple(Project(pid, unit * draw(st.integers(1, 8))) for pid in ids)
    district_count = draw(st.integers(1, min(3, project_count)))
    districts = [ids[first::district_count] for first in range(district_count)]
    ballot = st.sampled_from(districts).flatmap(lambda pool: st.lists(st.sampled_from(pool), min_size=1, unique=True))
    groups = draw(st.lists(st.tuples(ballot, st.integers(1, 5)), min_size=1, max_size=10))
    budget = draw(st.integers(1, sum(project.cost for project in projects)))
    if draw(st.booleans()):
        ballots = [{pid: draw(st.integers(1, 3)) for pid in approved} for approved, m in groups for _ in range(m)]
        profile = PointsProfile.from_ballots(ballots)
    else:
        profile = ApprovalProfile.from_ballots([approved for approved, m in groups for _ in range(m)])
    start = Fraction(budget, profile.voter_count) + draw(st.integers(0, 3))
    return Instance(budget, projects), profile, start, draw(st.integers(1, 6))


def _engine(instance: Instance, profile: ApprovalProfile | PointsProfile) -> EngineElection:
    election = prepare(instance, profile, LEXICOGRAPHIC)
    points = election.points if election.is_points else None
    ids = [project.id for project in instance.projects]
    return engine_election(ids, election.cost, election.rank, election.supporters, points, election.multiplicities)


def _same(mine: tuple[int, Fraction, np.ndarray, np.ndarray], plain: Purchase) -> bool:
    project, price, poor, zero = mine
    return (
        project == plain.project and price == plain.price and (poor == plain.poor).all() and (zero == plain.zero).all()
    )


def _as_tuple(purchase: Purchase) -> tuple[int, Fraction, np.ndarray, np.ndarray]:
    return purchase.project, purchase.price, purchase.poor, purchase.zero


def _budgets_between(low: Fraction, width: int) -> list[Fraction]:
    return [low + Fraction(step, 2) for step in range(1, 2 * width + 1)]


def _is_identical(mine: Run, plain: Run) -> bool:
    return len(mine.purchases) == len(plain.purchases) and all(
        _same(_as_tuple(a), b) for a, b in zip(mine.purchases, plain.purchases)
    )


def _checked(election) -> tuple[EngineElection, Run, Fraction, int, tuple]:
    """The engine, the run at the low budget, the range and check_range's answer on it."""
    instance, profile, low_budget, width = election
    engine = _engine(instance, profile)
    low = run_equal_shares(engine, low_budget)
    return engine, low, low_budget, width, check_range(engine, low, low_budget + width)


@SETTINGS
@given(elections())
def test_check_range_claims_hold_at_every_budget_in_the_range(election):
    engine, low, low_budget, width, (high, bracket, search) = _checked(election)
    plain_high = run_equal_shares(engine, low_budget + width)
    for budget in _budgets_between(low_budget, width):
        plain = run_equal_shares(engine, budget)
        if high is not None:
            assert sorted(plain.selected()) == sorted(low.selected())
        assert bracket.is_made_by(plain)
        interpolated = bracket.purchases_at(budget)
        assert all(_same(mine, purchase) for mine, purchase in zip(interpolated, plain.purchases))
    finished = high if high is not None else search.finish()
    assert _is_identical(finished, plain_high)


@SETTINGS
@given(elections())
def test_a_check_inside_a_failed_bracket_starts_from_what_it_showed(election):
    instance, profile, low_budget, width = election
    engine = _engine(instance, profile)
    low = run_equal_shares(engine, low_budget)
    _, bracket, search = check_range(engine, low, low_budget + width + 1)
    middle = run_equal_shares(engine, low_budget + 1)
    high, inner, inner_search = check_range(engine, middle, low_budget + width + 1, bracket, search)
    assert inner.steps[: len(bracket.steps)] == bracket.steps
    plain_high = run_equal_shares(engine, low_budget + width + 1)
    finished = high if high is not None else inner_search.finish()
    assert _is_identical(finished, plain_high)
    for budget in _budgets_between(low_budget + 1, width):
        plain = run_equal_shares(engine, budget)
        if high is not None:
            assert sorted(plain.selected()) == sorted(middle.selected())
        assert inner.is_made_by(plain)


@pytest.mark.parametrize("guesses", [0, 1, 8])
@SETTINGS
@given(election=elections())
def test_add1_runs_stand_for_every_share_they_skip(guesses, election):
    """Failed ranges split in the middle, or at guesses (as many in a row as allowed) and then in the middle."""
    instance, profile, first, width = election
    engine = _engine(instance, profile)
    low = run_equal_shares(engine, first, spend_limit=instance.budget)
    assume(not low.is_overspent)  # Add1 stops before an overspent run; nothing is checked from one
    last_k = 0
    for k, run in add1_runs(engine, low, 0, 4 * width, first, instance.budget, guesses=guesses):
        assert k > last_k
        for skipped in range(last_k + 1, k):
            plain = run_equal_shares(engine, first + skipped, spend_limit=instance.budget)
            assert sorted(plain.selected()) == sorted(run.selected()) and not plain.is_overspent
        plain = run_equal_shares(engine, first + k, spend_limit=instance.budget)
        assert plain.is_overspent == run.is_overspent
        assert _is_identical(run, plain) if not run.is_overspent else plain.selected() == run.selected()
        if run.is_overspent:
            return
        last_k = k
    assert last_k == 4 * width


def test_an_order_free_step_covers_projects_that_swap_places_inside_the_range():
    """p1 and p0 share no supporter: low funds p1 first, high p0, and the range is still proven."""
    projects = (Project("p0", 1), Project("p1", 4), Project("p2", 8), Project("p3", 8))
    ballots = [["p0", "p2"], ["p2"], ["p2"], ["p0"], ["p1"], ["p1"], ["p0", "p2"]]
    instance, profile = Instance(15, projects), ApprovalProfile.from_ballots(ballots)
    engine = _engine(instance, profile)
    low_budget, width = Fraction(15, 7), 3
    low = run_equal_shares(engine, low_budget)
    high, bracket, _ = check_range(engine, low, low_budget + width)
    assert high is not None and bracket.steps == [(2,), (1, 0)]
    assert low.selected() == [2, 1, 0] and high.selected() == [2, 0, 1]
    assert _is_identical(high, run_equal_shares(engine, low_budget + width))
    for budget in _budgets_between(low_budget, width):
        plain = run_equal_shares(engine, budget)
        assert sorted(plain.selected()) == [0, 1, 2] and bracket.is_made_by(plain)


def test_projects_a_group_supports_both_of_are_never_one_order_free_step():
    """p2 and p5 share a supporter who runs out of money: funding one raises the other's price.

    Taken as one order-free step they would be priced as if independent; the run at high must be the plain one.
    """
    projects = tuple(Project(f"p{index}", cost) for index, cost in enumerate((5, 3, 4, 2, 8, 8)))
    ballots = (
        [["p3"]] * 3
        + [["p1", "p4", "p3", "p0"]] * 4
        + [["p3", "p2", "p1"]] * 4
        + [["p5"]] * 3
        + [["p4", "p5"]] * 2
        + [["p0", "p2", "p1"], ["p2", "p4", "p0", "p1", "p5"]]
    )
    instance, profile = Instance(23, projects), ApprovalProfile.from_ballots(ballots)
    engine = _engine(instance, profile)
    low_budget, width = Fraction(23, 9), Fraction(1, 2)
    low = run_equal_shares(engine, low_budget)
    high, bracket, search = check_range(engine, low, low_budget + width)
    assert (2, 5) not in bracket.steps
    finished = high if high is not None else search.finish()
    assert _is_identical(finished, run_equal_shares(engine, low_budget + width))


@SETTINGS
@given(elections())
def test_every_quote_bounds_the_exact_key_of_its_project(election):
    """The float key of every affordable project is within its stated error of the exact key, round by round."""
    instance, profile, voter_budget, _ = election
    search = _Search(_engine(instance, profile), voter_budget)
    while True:
        for p in np.flatnonzero(search.is_remaining).tolist():
            quote = search.quote(p)
            if quote is not None and quote.error != float("inf"):
                exact_key, _ = search.exact_key(quote)
                assert abs(exact_key - Fraction(quote.key)) <= Fraction(quote.error)
        chosen = search.choose()
        if chosen is None:
            return
        search.buy(*chosen)


def _state_after(engine: EngineElection, run: Run, rounds: int) -> _Search:
    """A search at run's budget that has made run's first rounds."""
    search = _Search(engine, run.voter_budget)
    for purchase in run.purchases[:rounds]:
        search.replay(purchase)
    return search


@SETTINGS
@given(elections())
def test_slope_bounds_hold_between_any_two_budgets_of_a_checked_range(election):
    """Over the decisions a check shows, every group's money and every project's key moves within _Slopes' bounds."""
    engine, low, low_budget, width, (_, bracket, search) = _checked(election)
    rounds = len(bracket.decisions)
    slopes = _Slopes(engine, low, search)
    slopes.advance(rounds)
    budgets = [low_budget, *_budgets_between(low_budget, width)]
    runs = [low, *(run_equal_shares(engine, budget) for budget in budgets[1:])]
    states = [_state_after(engine, run, rounds) for run in runs]
    money = [state.money.exact_values(state.money.group_class) for state in states]
    at_low, at_high = states[0], states[-1]
    falls = {}
    for p in np.flatnonzero(at_low.is_remaining).tolist():
        quote = at_low.quote(p)
        if quote is not None:
            poor_low, poor_high = at_low.exact_price(quote)[1], at_high.exact_price(at_high.quote(p))[1]
            falls[p] = [Fraction(slopes.least_key_fall(p, poor_high)), Fraction(slopes.most_key_fall(p, poor_low))]
    keys = [{p: state.exact_key(state.quote(p))[0] for p in falls} for state in states]
    growth = list(zip(slopes.least.tolist(), slopes.most.tolist()))
    for i, x in enumerate(budgets):
        for j in range(i + 1, len(budgets)):
            y = budgets[j]
            for group, (least, most) in enumerate(growth):
                assert Fraction(least) * (y - x) <= money[j][group] - money[i][group] <= Fraction(most) * (y - x)
            for p, (least, most) in falls.items():
                assert least * (y - x) <= keys[i][p] - keys[j][p] <= most * (y - x)


def test_the_slope_argument_shows_a_range_no_other_argument_does(monkeypatch):
    """Assen 2025, shares 6 to 14 of Add1: only bounds on how fast keys fall show that every share funds the same.

    The rivals' keys at low are not even needed: the least each falls from its key at high keeps it behind.
    """
    election = read_file(DATA / "Netherlands_Assen_2025.pb")
    instance, profile = election.instance(), election.profile()
    engine = _engine(instance, profile)
    first = Fraction(instance.budget, profile.voter_count)
    low = run_equal_shares(engine, first + 6)
    replayed = []
    exact_key = equal_shares_engine._LowState.exact_key
    monkeypatch.setattr(
        equal_shares_engine._LowState,
        "exact_key",
        lambda state, *args: replayed.append(args) or exact_key(state, *args),
    )
    high, _, _ = check_range(engine, low, first + 14)
    assert high is not None
    assert replayed == [], "each rival falls too slowly to cross: shown from its key at high, without low's state"
    for budget in _budgets_between(first + 6, 8):
        assert sorted(run_equal_shares(engine, budget).selected()) == sorted(low.selected())
    monkeypatch.setattr(equal_shares_engine, "_stays_ahead", lambda *args, **kwargs: False)
    assert check_range(engine, low, first + 14)[0] is None
