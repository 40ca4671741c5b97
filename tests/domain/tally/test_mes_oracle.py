"""Equal Shares and its Add1 variants against pabutools (the oracle) on many small random elections.

The elections are drawn to make exact arithmetic matter: few distinct costs (ties in price), budgets
that split into fractional shares, and projects costing exactly what their supporters have left.
Every project gets at least one vote, because our rules never fund a project nobody voted for while
pabutools leaves those to the greedy completion.
"""

import pytest

pabutools = pytest.importorskip("pabutools")

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pabutools.election import (
    Additive_Cardinal_Sat,
    ApprovalBallot,
    ApprovalProfile,
    Cost_Sat,
    CumulativeBallot,
    CumulativeProfile,
)
from pabutools.election import Instance as PabuInstance
from pabutools.election import Project as PabuProject
from pabutools.rules import (
    exhaustion_by_budget_increase,
    greedy_utilitarian_welfare,
    method_of_equal_shares,
)

from pb.domain.tally import LEXICOGRAPHIC, Instance, PointsProfile, Project, mes
from pb.domain.tally import ApprovalProfile as PbApprovalProfile
from pb.domain.tally.rules.equal_shares import mes_add1_run

SETTINGS = settings(max_examples=700, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@st.composite
def elections(draw, *, is_points: bool = False):
    project_count = draw(st.integers(2, 8))
    ids = [f"p{index}" for index in range(project_count)]
    unit = draw(st.sampled_from([1, 2, 3, 5]))
    costs = {pid: unit * draw(st.integers(1, 6)) for pid in ids}
    budget = draw(st.integers(0, sum(costs.values()) + 3))
    ballot = st.lists(st.sampled_from(ids), min_size=1, max_size=project_count, unique=True)
    groups = draw(st.lists(st.tuples(ballot, st.integers(1, 4)), min_size=1, max_size=12))
    unvoted = [pid for pid in ids if not any(pid in approved for approved, _ in groups)]
    if unvoted:
        groups.append((unvoted, 1))
    if draw(st.booleans()):
        groups.append(([], draw(st.integers(1, 3))))  # voters with an empty ballot still get a share
    points = {(i, pid): draw(st.integers(1, 3)) for i, (approved, _) in enumerate(groups) for pid in approved}
    return ids, costs, budget, groups, points if is_points else None


def ours(election):
    ids, costs, budget, groups, points = election
    instance = Instance(budget, tuple(Project(pid, costs[pid]) for pid in ids))
    if points is None:
        counts: dict[frozenset[str], int] = {}
        for approved, multiplicity in groups:
            counts[frozenset(approved)] = counts.get(frozenset(approved), 0) + multiplicity
        return instance, PbApprovalProfile(tuple(counts.items()))
    ballots = []
    for i, (approved, multiplicity) in enumerate(groups):
        ballots += [{pid: points[(i, pid)] for pid in approved}] * multiplicity
    return instance, PointsProfile.from_ballots(ballots)


def theirs(election):
    ids, costs, budget, groups, points = election
    projects = {pid: PabuProject(pid, costs[pid]) for pid in ids}
    instance = PabuInstance(projects.values(), budget_limit=budget)
    if points is None:
        profile = ApprovalProfile(
            [ApprovalBallot([projects[pid] for pid in approved]) for approved, m in groups for _ in range(m)]
        )
    else:
        profile = CumulativeProfile(
            [
                CumulativeBallot({projects[pid]: points[(i, pid)] for pid in approved})
                for i, (approved, m) in enumerate(groups)
                for _ in range(m)
            ]
        )
    return instance, profile


def names(allocation) -> set[str]:
    return {project.name for project in allocation}


@SETTINGS
@given(elections())
def test_equal_shares_and_add1_match_pabutools(election):
    instance, profile = ours(election)
    their_instance, their_profile = theirs(election)
    sat = Cost_Sat

    assert set(mes(instance, profile, tie_break=LEXICOGRAPHIC).selected) == names(
        method_of_equal_shares(their_instance, their_profile, sat_class=sat)
    )

    raised = method_of_equal_shares(their_instance, their_profile, sat_class=sat, voter_budget_increment=1)
    run = mes_add1_run(instance, profile, tie_break=LEXICOGRAPHIC, exhaustive_stop=True, completion=False)
    assert set(run.selected) == names(raised)
    completed = greedy_utilitarian_welfare(
        their_instance, their_profile, sat_class=sat, initial_budget_allocation=raised
    )
    run = mes_add1_run(instance, profile, tie_break=LEXICOGRAPHIC, exhaustive_stop=True, completion=True)
    assert set(run.selected) == names(completed)

    kept = exhaustion_by_budget_increase(
        their_instance,
        their_profile,
        method_of_equal_shares,
        {"sat_class": sat},
        budget_step=their_profile.num_ballots(),
        exhaustive_stop=False,
    )
    run = mes_add1_run(instance, profile, tie_break=LEXICOGRAPHIC, exhaustive_stop=False, completion=False)
    assert set(run.selected) == names(kept)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(elections(is_points=True))
def test_points_equal_shares_matches_pabutools_additive_cardinal(election):
    instance, profile = ours(election)
    their_instance, their_profile = theirs(election)
    sat = Additive_Cardinal_Sat
    assert set(mes(instance, profile, tie_break=LEXICOGRAPHIC).selected) == names(
        method_of_equal_shares(their_instance, their_profile, sat_class=sat)
    )
    raised = method_of_equal_shares(their_instance, their_profile, sat_class=sat, voter_budget_increment=1)
    run = mes_add1_run(instance, profile, tie_break=LEXICOGRAPHIC, exhaustive_stop=True, completion=False)
    assert set(run.selected) == names(raised)


# Budgets large next to the election (tests/domain/tally/test_add1.py runs the same shapes up to 10**199): at a
# budget pabutools can still scan share by share, both stops agree with it.
SIX_VOTERS = [(["a"], 2), (["a", "b"], 1), (["b"], 3)]


@pytest.mark.parametrize(
    "costs",
    [
        lambda budget: {"a": budget - 1, "b": budget - 2},  # both cost nearly the budget
        lambda budget: {"a": budget // 3, "b": budget // 2},  # both affordable
        lambda budget: {"a": budget // 3, "b": budget + 1},  # b costs more than the budget
    ],
    ids=["near", "affordable", "over"],
)
def test_add1_matches_pabutools_where_the_budget_dwarfs_the_election(costs):
    budget = 6_001
    election = (["a", "b"], costs(budget), budget, SIX_VOTERS, None)
    instance, profile = ours(election)
    their_instance, their_profile = theirs(election)
    raised = method_of_equal_shares(their_instance, their_profile, sat_class=Cost_Sat, voter_budget_increment=1)
    run = mes_add1_run(instance, profile, tie_break=LEXICOGRAPHIC, exhaustive_stop=True, completion=False)
    assert set(run.selected) == names(raised)
    kept = exhaustion_by_budget_increase(
        their_instance, their_profile, method_of_equal_shares, {"sat_class": Cost_Sat},
        budget_step=their_profile.num_ballots(), exhaustive_stop=False,
    )
    run = mes_add1_run(instance, profile, tie_break=LEXICOGRAPHIC, exhaustive_stop=False, completion=False)
    assert set(run.selected) == names(kept)
