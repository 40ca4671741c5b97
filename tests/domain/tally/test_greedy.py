"""Greedy by votes: funding order, skipping what does not fit, zero-vote projects, ties and explanations."""

import pytest

from pb.domain.tally import (
    DEFAULT_TIE_BREAK,
    LEXICOGRAPHIC,
    ApprovalProfile,
    Instance,
    PointsProfile,
    Project,
    greedy,
    run_rule,
    seeded_tie_break,
)

CITY = Instance(
    50_000,
    (
        Project("A", 30_000, "Library"),
        Project("B", 25_000),
        Project("C", 12_000),
        Project("D", 8_000),
        Project("E", 1_000),
    ),
)
# A has 5 votes, B 4, C 3, D 2 and E none.
CITY_BALLOTS = ApprovalProfile.from_ballots(
    [["A", "B", "C", "D"], ["A", "B", "C", "D"], ["A", "B", "C"], ["A", "B"], ["A"]]
)


def test_greedy_skips_what_does_not_fit_and_funds_cheaper_projects_after_it():
    outcome = greedy(CITY, CITY_BALLOTS)
    assert outcome.rule == "greedy"
    assert outcome.selected == ("A", "C", "D")
    assert (outcome.spent, outcome.left) == (50_000, 0)
    assert outcome.votes == {"A": 5, "B": 4, "C": 3, "D": 2, "E": 0}


@pytest.mark.parametrize(
    "project_id, is_selected, round, explanation",
    [
        (
            "A",
            True,
            1,
            "Funded in place 1 of 4, 5 votes: 50,000 of the 50,000 budget was left when its turn came and it costs 30,000.",
        ),
        (
            "B",
            False,
            None,
            "Not funded: when its turn came (place 2 of 4, 4 votes) only 20,000 was left and it costs 25,000.",
        ),
        (
            "C",
            True,
            2,
            "Funded in place 3 of 4, 3 votes: 20,000 of the 50,000 budget was left when its turn came and it costs 12,000.",
        ),
        (
            "D",
            True,
            3,
            "Funded in place 4 of 4, 2 votes: 8,000 of the 50,000 budget was left when its turn came and it costs 8,000.",
        ),
        ("E", False, None, "Not funded: nobody voted for it."),
    ],
)
def test_greedy_explains_each_project(project_id, is_selected, round, explanation):
    result = greedy(CITY, CITY_BALLOTS).projects[project_id]
    assert (result.project_id, result.is_selected, result.round, result.explanation) == (
        project_id,
        is_selected,
        round,
        explanation,
    )
    assert result.phase == ("greedy" if is_selected else None)
    assert result.supporter_payment is None


def test_projects_without_votes_are_never_funded_even_with_money_left():
    instance = Instance(100, (Project("unloved", 10), Project("liked", 10)))
    outcome = greedy(instance, ApprovalProfile.from_ballots([["liked"], []]))
    assert outcome.selected == ("liked",)
    assert outcome.left == 90


# x and y both have 2 votes; only one fits in the budget.
TIED_ON_VOTES = Instance(1_000, (Project("x", 600), Project("y", 500)))
TIED_BALLOTS = ApprovalProfile.from_ballots([["x", "y"], ["x", "y"]])
# Five projects with the same cost and votes: only the lottery (or the id) separates them.
FIVE_EQUAL = Instance(10, tuple(Project(project_id, 10) for project_id in "ABCDE"))
FIVE_EQUAL_BALLOTS = ApprovalProfile.from_ballots([list("ABCDE")])


@pytest.mark.parametrize(
    "instance, profile, tie_break, selected",
    [
        (TIED_ON_VOTES, TIED_BALLOTS, DEFAULT_TIE_BREAK, ("y",)),  # cheaper first
        (TIED_ON_VOTES, TIED_BALLOTS, LEXICOGRAPHIC, ("x",)),
        (FIVE_EQUAL, FIVE_EQUAL_BALLOTS, DEFAULT_TIE_BREAK, ("C",)),  # lottery, seed 0
        (FIVE_EQUAL, FIVE_EQUAL_BALLOTS, seeded_tie_break(1), ("A",)),
        (FIVE_EQUAL, FIVE_EQUAL_BALLOTS, seeded_tie_break(12345), ("D",)),
        (FIVE_EQUAL, FIVE_EQUAL_BALLOTS, LEXICOGRAPHIC, ("A",)),
    ],
)
def test_ties_on_votes_follow_the_tie_break(instance, profile, tie_break, selected):
    assert greedy(instance, profile, tie_break=tie_break).selected == selected


@pytest.mark.parametrize("tie_break", [DEFAULT_TIE_BREAK, LEXICOGRAPHIC])
def test_more_votes_win_before_any_tie_break_is_consulted(tie_break):
    instance = Instance(10, (Project("a", 10), Project("b", 10)))
    outcome = greedy(instance, ApprovalProfile.from_ballots([["a", "b"], ["b"]]), tie_break=tie_break)
    assert outcome.selected == ("b",)


# Points ballots: P gets 3 points from one voter, Q 2+2 from two, R 1+1 from two.
# By points the order is Q (4), P (3), R (2); counting voters it would be Q and R (2 each) before P (1).
POINTS_CITY = Instance(11, (Project("P", 6), Project("Q", 5), Project("R", 4)))
POINTS_BALLOTS = PointsProfile.from_ballots([{"P": 3}, {"Q": 2, "R": 1}, {"Q": 2}, {"R": 1}])


@pytest.mark.parametrize("tie_break", [DEFAULT_TIE_BREAK, LEXICOGRAPHIC])
def test_greedy_orders_points_ballots_by_total_points(tie_break):
    outcome = greedy(POINTS_CITY, POINTS_BALLOTS, tie_break=tie_break)
    assert outcome.selected == ("Q", "P")
    assert outcome.votes == {"P": 3, "Q": 4, "R": 2}
    assert outcome.parameters["score"] == "points"
    assert outcome.projects["R"].explanation == (
        "Not funded: when its turn came (place 3 of 3, 2 points) only 0 was left and it costs 4."
    )
    assert outcome.projects["Q"].explanation == (
        "Funded in place 1 of 3, 4 points: 11 of the 11 budget was left when its turn came and it costs 5."
    )


def test_points_ballots_counted_as_approvals_give_the_voter_count_order():
    outcome = greedy(POINTS_CITY, POINTS_BALLOTS.as_approval())
    assert outcome.selected == ("R", "Q")
    assert "score" not in outcome.parameters


def test_a_project_nobody_gave_points_to_is_explained_in_points():
    instance = Instance(100, (Project("P", 6), Project("Z", 1)))
    outcome = greedy(instance, PointsProfile.from_ballots([{"P": 1}]))
    assert outcome.selected == ("P",)
    assert outcome.projects["Z"].explanation == "Not funded: nobody gave it any points."


# Threshold 3: A (4 votes) and C (exactly 3) qualify, B (2) does not although money is left.
THRESHOLD_CITY = Instance(
    100, (Project("A", 50), Project("B", 30), Project("C", 20), Project("D", 5)), min_project_score=3
)
THRESHOLD_BALLOTS = ApprovalProfile.from_ballots([["A", "B", "C"], ["A", "B", "C"], ["A", "C"], ["A"]])


@pytest.mark.parametrize("tie_break", [DEFAULT_TIE_BREAK, LEXICOGRAPHIC])
def test_greedy_threshold_never_funds_a_project_below_the_minimum(tie_break):
    outcome = run_rule("greedy-threshold", THRESHOLD_CITY, THRESHOLD_BALLOTS, tie_break=tie_break)
    assert (outcome.rule, outcome.selected, outcome.left) == ("greedy-threshold", ("A", "C"), 30)
    assert outcome.parameters["min_project_score"] == "3"
    assert outcome.projects["B"].explanation == (
        "Not funded: it received 2 votes, fewer than the 3 votes a project needs to be funded."
    )
    assert outcome.projects["C"].explanation == (
        "Funded in place 2 of 2, 3 votes: 50 of the 100 budget was left when its turn came and it costs 20."
    )
    assert outcome.projects["D"].explanation == "Not funded: nobody voted for it."
    assert greedy(THRESHOLD_CITY, THRESHOLD_BALLOTS, tie_break=tie_break).selected == ("A", "C", "B")


def test_greedy_threshold_counts_points_for_points_ballots():
    instance = Instance(20, (Project("P", 6), Project("Q", 5), Project("R", 4)), min_project_score=3)
    outcome = run_rule("greedy-threshold", instance, POINTS_BALLOTS)
    assert outcome.selected == ("Q", "P")
    assert outcome.projects["R"].explanation == (
        "Not funded: it received 2 points, fewer than the 3 points a project needs to be funded."
    )


def test_greedy_threshold_of_zero_is_plain_greedy():
    assert run_rule("greedy-threshold", CITY, CITY_BALLOTS).selected == greedy(CITY, CITY_BALLOTS).selected


@pytest.mark.parametrize("tie_break", [DEFAULT_TIE_BREAK, LEXICOGRAPHIC])
def test_greedy_no_skip_stops_at_the_first_project_that_does_not_fit(tie_break):
    outcome = run_rule("greedy-no-skip", CITY, CITY_BALLOTS, tie_break=tie_break)
    assert (outcome.rule, outcome.selected, outcome.left) == ("greedy-no-skip", ("A",), 20_000)
    assert outcome.projects["B"].explanation == (
        "Not funded: when its turn came (place 2 of 4, 4 votes) only 20,000 was left and it costs 25,000. "
        "The count stops at the first project that does not fit."
    )
    assert outcome.projects["C"].explanation == (
        "Not funded: the count stopped at place 2 of 4, when B (costing 25,000) did not fit in the 20,000 left; "
        "no project after it is funded."
    )
    assert outcome.projects["E"].explanation == "Not funded: nobody voted for it."


def test_greedy_no_skip_funds_everything_that_fits_in_order():
    instance = Instance(100, (Project("a", 60), Project("b", 40)))
    outcome = run_rule("greedy-no-skip", instance, ApprovalProfile.from_ballots([["a", "b"], ["a"]]))
    assert (outcome.selected, outcome.left) == (("a", "b"), 0)


@pytest.mark.parametrize(
    "tie_break, selected",
    [(DEFAULT_TIE_BREAK, ("y",)), (LEXICOGRAPHIC, ("x",))],
)
def test_greedy_no_skip_ties_follow_the_tie_break(tie_break, selected):
    # x (600) and y (500) tie on votes; whichever comes first is funded, then the other does not fit.
    assert run_rule("greedy-no-skip", TIED_ON_VOTES, TIED_BALLOTS, tie_break=tie_break).selected == selected


def test_a_project_costing_exactly_what_is_left_is_funded():
    instance = Instance(10, (Project("a", 7), Project("b", 3)))
    for rule in ("greedy", "greedy-threshold", "greedy-no-skip"):
        assert run_rule(rule, instance, ApprovalProfile.from_ballots([["a", "b"], ["a"]])).selected == ("a", "b")


def test_greedy_no_skip_honours_the_minimum_score():
    # Gdynia 2020 and 2023 "small" budgets: the count stops at the 50-vote threshold, though money is left for
    # projects with 43 to 49 votes. Here B (2 votes, under the minimum of 3) would fit in the 50 left after A and C.
    outcome = run_rule("greedy-no-skip", THRESHOLD_CITY, THRESHOLD_BALLOTS)
    assert (outcome.selected, outcome.left) == (("A", "C"), 30)
    assert outcome.parameters["min_project_score"] == "3"
    assert outcome.projects["B"].explanation == (
        "Not funded: it received 2 votes, fewer than the 3 votes a project needs to be funded."
    )
    without_minimum = Instance(THRESHOLD_CITY.budget, THRESHOLD_CITY.projects)
    assert run_rule("greedy-no-skip", without_minimum, THRESHOLD_BALLOTS).selected == ("A", "C", "B")


def test_greedy_no_skip_passes_over_a_project_costing_more_than_the_whole_budget():
    # Wrocław 2017: a withdrawn project kept its place in the file with the placeholder cost 999,999,999. It can
    # never be funded, and the city went on counting after it instead of stopping there.
    instance = Instance(100, (Project("withdrawn", 999_999_999), Project("a", 60), Project("b", 30)))
    profile = ApprovalProfile.from_ballots([["withdrawn", "a", "b"]] * 3 + [["withdrawn", "a"]] * 2 + [["withdrawn"]])
    outcome = run_rule("greedy-no-skip", instance, profile)
    assert (outcome.selected, outcome.left) == (("a", "b"), 10)
    assert outcome.projects["withdrawn"].explanation == (
        "Not funded: it costs 999,999,999, more than the whole budget of 100, so no count could fund it; "
        "the count passed it over rather than stopping there."
    )
    assert outcome.projects["b"].explanation == (
        "Funded in place 2 of 2, 3 votes: 40 of the 100 budget was left when its turn came and it costs 30."
    )


def test_greedy_no_skip_still_stops_at_a_project_that_fits_the_budget_but_not_what_is_left():
    instance = Instance(100, (Project("a", 60), Project("big", 50), Project("b", 30)))
    profile = ApprovalProfile.from_ballots([["a", "big", "b"]] * 3 + [["a", "big"]] * 2 + [["a"]])
    assert run_rule("greedy-no-skip", instance, profile).selected == ("a",)
