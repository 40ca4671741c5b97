"""The Add1 shortcuts of the Equal Shares engine against plain runs at every budget they claim to cover.

check_range claims that every voter budget in a range makes the same first decisions (all of them when
it returns a run), and that in the affine rounds the run at any budget inside is known by interpolation;
add1_runs claims to yield, in order, runs whose selections stand for every budget it skips. Each claim
is compared with Equal Shares run from scratch at each budget, integer and in between.
"""

from fractions import Fraction

import numpy as np
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from pb.domain.tally import LEXICOGRAPHIC, ApprovalProfile, Instance, PointsProfile, Project
from pb.domain.tally.rules.common import prepare
from pb.domain.tally.rules.equal_shares_engine import (
    EngineElection,
    Purchase,
    add1_runs,
    check_range,
    engine_election,
    run_equal_shares,
)

SETTINGS = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@st.composite
def elections(draw):
    """Few projects with few distinct costs (near ties), ballot groups of varied weight, small shares."""
    project_count = draw(st.integers(2, 7))
    ids = [f"p{index}" for index in range(project_count)]
    unit = draw(st.sampled_from([1, 3, 10]))
    projects = tuple(Project(pid, unit * draw(st.integers(1, 8))) for pid in ids)
    ballot = st.lists(st.sampled_from(ids), min_size=1, max_size=project_count, unique=True)
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


@SETTINGS
@given(elections())
def test_check_range_claims_hold_at_every_budget_in_the_range(election):
    instance, profile, low_budget, width = election
    engine = _engine(instance, profile)
    low = run_equal_shares(engine, low_budget)
    high, bracket, search = check_range(engine, low, low_budget + width)
    plain_high = run_equal_shares(engine, low_budget + width)
    for budget in _budgets_between(low_budget, width):
        plain = run_equal_shares(engine, budget)
        if high is not None:
            assert plain.selected() == low.selected()
        assert plain.selected()[: len(bracket.decisions)] == bracket.decisions
        interpolated = bracket.purchases_at(budget)
        assert all(_same(mine, purchase) for mine, purchase in zip(interpolated, plain.purchases))
    finished = high if high is not None else search.finish()
    assert len(finished.purchases) == len(plain_high.purchases)
    assert all(_same(_as_tuple(mine), plain) for mine, plain in zip(finished.purchases, plain_high.purchases))


@SETTINGS
@given(elections())
def test_a_check_inside_a_failed_bracket_starts_from_what_it_showed(election):
    instance, profile, low_budget, width = election
    engine = _engine(instance, profile)
    low = run_equal_shares(engine, low_budget)
    _, bracket, search = check_range(engine, low, low_budget + width + 1)
    middle = run_equal_shares(engine, low_budget + 1)
    high, inner, inner_search = check_range(engine, middle, low_budget + width + 1, bracket, search)
    assert inner.decisions[: len(bracket.decisions)] == bracket.decisions
    plain_high = run_equal_shares(engine, low_budget + width + 1)
    finished = high if high is not None else inner_search.finish()
    assert all(_same(_as_tuple(mine), plain) for mine, plain in zip(finished.purchases, plain_high.purchases))
    assert len(finished.purchases) == len(plain_high.purchases)
    for budget in _budgets_between(low_budget + 1, width):
        plain = run_equal_shares(engine, budget)
        if high is not None:
            assert plain.selected() == middle.selected()
        assert plain.selected()[: len(inner.decisions)] == inner.decisions


@SETTINGS
@given(elections())
def test_add1_runs_stand_for_every_share_they_skip(election):
    instance, profile, first, width = election
    engine = _engine(instance, profile)
    low = run_equal_shares(engine, first, spend_limit=instance.budget)
    assume(not low.is_overspent)  # Add1 stops before an overspent run; nothing is checked from one
    last_k = 0
    for k, run in add1_runs(engine, low, 0, 4 * width, first, instance.budget):
        assert k > last_k
        for skipped in range(last_k + 1, k + 1):
            plain = run_equal_shares(engine, first + skipped, spend_limit=instance.budget)
            assert plain.selected() == run.selected() and plain.is_overspent == run.is_overspent
        if run.is_overspent:
            return
        last_k = k
    assert last_k == 4 * width
