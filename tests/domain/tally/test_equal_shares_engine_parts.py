"""The Equal Shares engine's small exact helpers against their plain definitions.

The engine's fast paths (class numbering by table or by sort, exact sums by gathered rows or by class,
prices interpolated with one normalisation, the steadiness test on masks) must give exactly what the
plain formulas give, whichever path a case takes.
"""

from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pb.domain.tally import LEXICOGRAPHIC, ApprovalProfile, PointsProfile, Project
from pb.domain.tally.model import Instance
from pb.domain.tally.rules.common import ones_views, prepare, stable_order
from pb.domain.tally.rules.equal_shares_engine import (
    _affordable_from,
    _crossing,
    _interpolate,
    _is_steady,
    _numbered,
    _Search,
    _shown_part,
    _stays_ahead,
    engine_election,
    water_fill,
)

SETTINGS = settings(max_examples=300, deadline=None)


@SETTINGS
@given(
    st.integers(1, 2000).flatmap(
        lambda bound: st.tuples(st.just(bound), st.lists(st.integers(0, bound - 1), min_size=1))
    )
)
def test_numbering_matches_numpy_unique(case):
    """Both paths (a table for many keys, a sort for few) number keys as np.unique does."""
    bound, keys = case
    key = np.asarray(keys, dtype=np.int64)
    unique, inverse = _numbered(key, bound)
    expected_unique, expected_inverse = np.unique(key, return_inverse=True)
    assert unique.tolist() == expected_unique.tolist() and inverse.tolist() == expected_inverse.tolist()


fractions = st.fractions(max_denominator=10**12).filter(lambda value: abs(value) < 10**9)


@SETTINGS
@given(fractions, fractions, fractions)
def test_interpolation_is_the_fraction_formula(start, end, share):
    assert _interpolate(start, end, share) == start + (end - start) * share


masks = st.integers(1, 6).flatmap(
    lambda n: st.lists(st.lists(st.booleans(), min_size=n, max_size=n), min_size=4, max_size=4)
)


@SETTINGS
@given(masks)
def test_steadiness_is_its_definition(arrays):
    """Not poor at one budget and rich (neither poor nor zero) at the other, and someone poor at neither."""
    poor_low, zero_low, poor_high, zero_high = (np.asarray(mask, dtype=bool) for mask in arrays)
    rich_low, rich_high = ~poor_low & ~zero_low, ~poor_high & ~zero_high
    expected = not ((poor_low & rich_high).any() or (rich_low & poor_high).any()) and bool(
        (~poor_low & ~poor_high).any()
    )
    assert _is_steady(poor_low, zero_low, poor_high, zero_high) == expected


def test_exact_sums_match_sums_of_exact_values_on_both_paths():
    """Points ballots of 60 groups make many money classes: sums over one group gather rows, over all group by class."""
    rng = np.random.default_rng(7)
    ids = [f"p{index}" for index in range(8)]
    projects = tuple(Project(pid, int(rng.integers(20, 120))) for pid in ids)
    ballots = []
    for _ in range(60):
        chosen = rng.choice(len(ids), size=int(rng.integers(1, 5)), replace=False)
        ballots.extend([{ids[p]: int(rng.integers(1, 4)) for p in chosen}] * int(rng.integers(1, 4)))
    instance, profile = Instance(300, projects), PointsProfile.from_ballots(ballots)
    election = prepare(instance, profile, LEXICOGRAPHIC)
    engine = engine_election(
        ids, election.cost, election.rank, election.supporters, election.points, election.multiplicities
    )
    search = _Search(engine, Fraction(instance.budget, profile.voter_count) * 3)
    paths = set()
    while True:
        money = search.money
        for p in range(len(engine.ids)):
            classes, weights = money.group_class[engine.supporters[p]], engine.weight[p]
            values = money.exact_values(classes)
            for i in range(len(classes)):
                paths.add(money.count > 16)
                assert money.exact_sum(classes[i : i + 1], weights[i : i + 1]) == int(weights[i]) * values[i]
            assert money.exact_sum(classes, weights) == sum(int(w) * v for w, v in zip(weights, values))
        chosen = search.choose()
        if chosen is None:
            break
        search.buy(*chosen)
    assert paths == {False, True}, "both summing paths should have been taken"


def test_a_search_leaves_out_from_the_start_only_what_whole_shares_cannot_pay():
    """Two voters with shares of 5 can pay exactly 10 (kept, and funded), never 11 (left out before any quote)."""
    ids = ["exact", "dear", "cheap"]
    instance = Instance(10, (Project("exact", 10), Project("dear", 11), Project("cheap", 3)))
    profile = ApprovalProfile.from_ballots([{"exact", "dear"}, {"exact", "dear", "cheap"}])
    election = prepare(instance, profile, LEXICOGRAPHIC)
    engine = engine_election(ids, election.cost, election.rank, election.supporters, None, election.multiplicities)
    search = _Search(engine, Fraction(5))
    assert search.is_remaining.tolist() == [True, False, True]
    assert [engine.ids[p] for p in search.finish().selected()] == ["exact"]
    assert _Search(engine, Fraction(11, 2)).is_remaining.tolist() == [True, True, True]
    # With shares of 8 "dear" is kept and ties "exact" (each supporter pays half the cost); the id decides.
    assert [engine.ids[p] for p in _Search(engine, Fraction(8)).finish().selected()] == ["dear"]


@SETTINGS
@given(
    st.lists(st.tuples(st.integers(1, 5), st.integers(0, 400)), min_size=1, max_size=30),
    st.integers(1, 5000),
)
def test_water_filling_finds_the_price_its_supporters_pay_in_full(groups, cost):
    """Weights and money (in cents); the price p solves sum w * min(money, p) == cost, the poor have less than p."""
    w = np.array([weight for weight, _ in groups], dtype=np.float64)
    money = np.array([cents / 100 for _, cents in groups])
    total = float(w.sum())
    cost_units = cost / 100
    if money.min() >= cost_units / total:
        return  # nobody falls short: the caller keeps the equal price
    price, poor, poor_money, rich_utility = water_fill(cost_units, total, money, w, 60)
    if float(w @ money) < cost_units or rich_utility <= 0:
        return  # unaffordable: no price exists (callers check affordability first)
    assert price is not None
    assert poor.tolist() == (money < price).tolist()
    assert abs(float(w @ np.minimum(money, price)) - cost_units) <= 1e-9 * max(1.0, cost_units)
    assert poor_money == pytest.approx(float(w @ (money * poor))) and rich_utility == float(w @ ~poor)


def test_approval_utilities_are_read_only_views_of_one_array_of_ones():
    """Approvals are each worth 1: the engine's utilities take no memory the size of the profile and cannot be
    written through (a write would change every project's utilities at once)."""
    views = ones_views([3, 0, 5], np.int64)
    assert [view.tolist() for view in views] == [[1, 1, 1], [], [1, 1, 1, 1, 1]]
    assert all(view.dtype == np.int64 and np.shares_memory(view, views[2]) for view in (views[0], views[2]))
    with pytest.raises(ValueError):
        views[0][0] = 2
    assert ones_views([], np.float64) == []


@settings(max_examples=200, deadline=None)
@given(st.lists(st.integers(0, 70_000), max_size=300), st.booleans())
def test_stable_order_is_numpys_stable_argsort_whatever_the_size_of_the_keys(keys, small):
    """Keys below 2**16 are sorted as 16-bit numbers (numpy's radix sort), larger ones as they are: same order."""
    bound = 1 << 16 if small else 70_001
    array = np.asarray([key % bound for key in keys], dtype=np.int64)
    assert stable_order(array, bound).tolist() == np.argsort(array, kind="stable").tolist()


# Keys over the budgets [0, 1]: (key at 0, key at 1, least and most it falls per unit of budget).
WINNER = (Fraction(4), Fraction(2), Fraction(0), Fraction(2))  # from 4 to 2, at most 2 per unit: a straight line


@pytest.mark.parametrize(
    ("rival", "is_tie_won", "expected"),
    [
        # From 5 to 5/2, at most 5/2 per unit: its lowest possible key, 5 - 5x/2, stays above the winner's highest.
        ((Fraction(5), Fraction(5, 2), Fraction(0), Fraction(5, 2)), False, True),
        # The same ends, but falling up to 5 per unit: at x = 1/2 it could be at 5/2 while the winner is still at 3.
        ((Fraction(5), Fraction(5, 2), Fraction(0), Fraction(5)), False, False),
        # ... unless it also falls at least 2 per unit: then it is at least 5/2 + 2 * (1 - x), 7/2 at x = 1/2.
        ((Fraction(5), Fraction(5, 2), Fraction(2), Fraction(5)), False, True),
        # Level with the winner at budget 1 (both at 2): a tie there, which the tie-break decides.
        ((Fraction(5), Fraction(2), Fraction(0), Fraction(3)), True, True),
        ((Fraction(5), Fraction(2), Fraction(0), Fraction(3)), False, False),
        # Below the winner's key at budget 1: overtaken, whatever the bounds.
        ((Fraction(5), Fraction(3, 2), Fraction(7, 2), Fraction(7, 2)), True, False),
    ],
)
def test_a_key_stays_ahead_where_neither_can_fall_fast_enough_to_cross(rival, is_tie_won, expected):
    assert _stays_ahead(WINNER, rival, Fraction(0), Fraction(1), is_tie_won=is_tie_won) is expected


def test_the_least_a_winning_key_falls_keeps_it_ahead_of_a_rival_that_falls_fast():
    """The rival may fall from 5 to 3 by x = 1/2; the winner, from 9/2 to 1, falls at most 8 per unit.

    With no more known, the winner could still be at 9/2 at x = 1/2; falling at least 16/5 per unit, it is
    at most 29/10 there, below the rival's 3 (and below it everywhere else too).
    """
    rival = (Fraction(5), Fraction(3), Fraction(0), Fraction(4))
    slow = (Fraction(9, 2), Fraction(1), Fraction(0), Fraction(8))
    assert not _stays_ahead(slow, rival, Fraction(0), Fraction(1), is_tie_won=False)
    steady = (Fraction(9, 2), Fraction(1), Fraction(16, 5), Fraction(8))
    assert _stays_ahead(steady, rival, Fraction(0), Fraction(1), is_tie_won=False)


def test_staying_ahead_is_checked_where_a_bound_bends_not_only_at_the_ends():
    """The winner's bound stays at 4 up to x = 3/4, then falls fast; the rival's falls from 9/2 at once.

    At both ends the rival's bound is above the winner's (9/2 > 4 at 0, 3 > 2 at 1), yet at x = 3/4, where
    the winner's bends, the winner may still be at 4 while the rival may already be down to its key at 1, 3.
    """
    winner = (Fraction(4), Fraction(2), Fraction(0), Fraction(8))
    rival = (Fraction(9, 2), Fraction(3), Fraction(0), Fraction(3))
    assert not _stays_ahead(winner, rival, Fraction(0), Fraction(1), is_tie_won=True)


def test_a_guess_at_how_far_a_failed_slope_argument_reaches():
    """With both keys straight, the argument reaches about as far as the guess, and not much further."""
    winner, rival = (Fraction(4), Fraction(2), 0.0, 2.0), (Fraction(5), Fraction(5, 2), 0.0, 5.0)
    part = _shown_part(winner, rival, Fraction(1), False)
    assert 0 < part < 1

    def reaches(share):
        winner_line = (4, 4 - 2 * share, 0, 2)
        rival_line = (5, 5 - Fraction(5, 2) * share, 0, 5)
        return _stays_ahead(winner_line, rival_line, 0, share, is_tie_won=False)

    assert reaches(Fraction(part)) and not reaches(Fraction(part) + Fraction(1, 1000))


def test_where_two_straight_keys_cross():
    assert _crossing((Fraction(4), Fraction(2)), (Fraction(5), Fraction(1))) == 0.5
    assert _crossing((Fraction(4), Fraction(2)), (Fraction(5), Fraction(7, 4))) == 0.8
    assert _crossing((Fraction(4), Fraction(2)), (Fraction(5), Fraction(3))) is None  # still behind at the end


def test_where_supporters_come_to_afford_a_project():
    assert _affordable_from(10, 6.0, 14.0) == 0.5
    assert _affordable_from(10, 10.5, 14.0) is None  # affordable from the start
    assert _affordable_from(10, 6.0, 9.0) is None  # never within the range
