"""Greedy by votes: funding order, skipping what does not fit, zero-vote projects, ties and explanations."""

import pytest

from pb.domain.tally import (
    DEFAULT_TIE_BREAK,
    LEXICOGRAPHIC,
    ApprovalProfile,
    Instance,
    Project,
    greedy,
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
            "Funded in place 1 of 4: 50,000 of the 50,000 budget was left when its turn came and it costs 30,000.",
        ),
        ("B", False, None, "Not funded: when its turn came (place 2 of 4) only 20,000 was left and it costs 25,000."),
        (
            "C",
            True,
            2,
            "Funded in place 3 of 4: 20,000 of the 50,000 budget was left when its turn came and it costs 12,000.",
        ),
        (
            "D",
            True,
            3,
            "Funded in place 4 of 4: 8,000 of the 50,000 budget was left when its turn came and it costs 8,000.",
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
