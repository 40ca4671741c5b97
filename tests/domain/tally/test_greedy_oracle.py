"""pabutools as the oracle: greedy and sequential Phragmén agree with it on random instances with many ties.

pabutools funds projects nobody voted for when money is left (greedy orders them last, Phragmén reaches
them only once every supported project is settled); pb never does. Those are removed from its answer
before comparing. Lexicographic tie-breaking on both sides.
"""

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pabutools.election import ApprovalMultiProfile, FrozenApprovalBallot
from pabutools.election import Instance as PabutoolsInstance
from pabutools.election import Project as PabutoolsProject
from pabutools.election.satisfaction import Cost_Sat
from pabutools.rules import greedy_utilitarian_welfare, sequential_phragmen

from pb.domain.tally import LEXICOGRAPHIC, ApprovalProfile, Instance, PointsProfile, Project, run_rule

# Few distinct costs and small electorates make ties on votes, on costs and on Phragmén times common.
COSTS = st.sampled_from([1, 2, 2, 3, 4, 5, 6, 10])
ORACLE = settings(max_examples=550, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])


@st.composite
def elections(draw):
    count = draw(st.integers(1, 8))
    ids = [f"p{index}" for index in range(count)]
    costs = draw(st.lists(COSTS, min_size=count, max_size=count))
    ballots = draw(st.lists(st.sets(st.sampled_from(ids), max_size=count), min_size=1, max_size=12))
    # Half the time the budget is the cost of some set of projects, so that one may cost exactly what is left.
    subset = draw(st.lists(st.booleans(), min_size=count, max_size=count))
    budget = draw(st.one_of(st.integers(0, 25), st.just(sum(c for c, chosen in zip(costs, subset) if chosen))))
    instance = Instance(budget, tuple(Project(pid, cost) for pid, cost in zip(ids, costs)))
    return instance, ApprovalProfile.from_ballots(ballots)


def as_pabutools(instance, profile):
    projects = {project.id: PabutoolsProject(project.id, project.cost) for project in instance.projects}
    pabutools_instance = PabutoolsInstance(projects.values(), budget_limit=instance.budget)
    pabutools_profile = ApprovalMultiProfile(instance=pabutools_instance)
    for approved, multiplicity in profile.groups:
        pabutools_profile[FrozenApprovalBallot([projects[pid] for pid in approved])] = multiplicity
    return pabutools_instance, pabutools_profile


def voted_for(instance, profile, allocation):
    return {project.name for project in allocation if profile.approvals(project.name) > 0}


@ORACLE
@given(elections())
def test_greedy_funds_the_same_projects_as_pabutools(election):
    instance, profile = election
    expected = voted_for(
        instance, profile, greedy_utilitarian_welfare(*as_pabutools(instance, profile), sat_class=Cost_Sat)
    )
    assert set(run_rule("greedy", instance, profile, tie_break=LEXICOGRAPHIC).selected) == expected


@ORACLE
@given(elections())
def test_phragmen_funds_the_same_projects_as_pabutools(election):
    instance, profile = election
    expected = voted_for(instance, profile, sequential_phragmen(*as_pabutools(instance, profile)))
    assert set(run_rule("phragmen", instance, profile, tie_break=LEXICOGRAPHIC).selected) == expected


def reference_greedy(instance, scores, *, minimum=0, is_no_skip=False):
    """The city count written as plainly as possible: by score, then id; fund what fits."""
    left, funded = instance.budget, []
    for project in sorted(instance.projects, key=lambda p: (-scores[p.id], p.id)):
        if scores[project.id] == 0 or scores[project.id] < minimum:
            continue
        if is_no_skip and project.cost > instance.budget:  # never fundable: passed over, as a withdrawn project
            continue
        if project.cost <= left:
            funded.append(project.id)
            left -= project.cost
        elif is_no_skip:
            break
    return tuple(funded)


@st.composite
def points_elections(draw):
    instance, approvals = draw(elections())
    ballots = [
        {pid: draw(st.integers(1, 3)) for pid in sorted(approved)} for approved, m in approvals.groups for _ in range(m)
    ]
    minimum = draw(st.integers(0, 6))
    return Instance(instance.budget, instance.projects, min_project_score=minimum), PointsProfile.from_ballots(ballots)


@settings(max_examples=200, deadline=None, database=None)
@given(points_elections())
def test_the_greedy_variants_on_points_ballots_match_a_plain_reference(election):
    instance, profile = election
    points = {project.id: profile.points(project.id) for project in instance.projects}
    minimum = instance.min_project_score
    for rule, expected in [
        ("greedy", reference_greedy(instance, points)),
        ("greedy-threshold", reference_greedy(instance, points, minimum=minimum)),
        ("greedy-no-skip", reference_greedy(instance, points, minimum=minimum, is_no_skip=True)),
    ]:
        assert run_rule(rule, instance, profile, tie_break=LEXICOGRAPHIC).selected == expected
