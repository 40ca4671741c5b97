"""Ballot rules: the budget cap, how many projects, and choices that are not on the ballot."""

import pytest

from pb.domain.ballots import BallotRules, check, problems
from pb.domain.errors import BallotError

COSTS = {1: 40_000, 2: 35_000, 3: 25_000, 4: 10_000}
RULES = BallotRules(budget=100_000, currency="EUR")

OVER_BUDGET = "Your choices cost 1,000.01 EUR, 0.01 EUR more than the budget of 1,000 EUR."


@pytest.mark.parametrize(
    ("choices", "rules", "found"),
    [
        ([1, 2, 3], RULES, []),  # exactly at the budget
        ([4], RULES, []),
        ([1, 2, 3], BallotRules(budget=99_999, currency="EUR"), ["Your choices cost 1,000 EUR, 0.01 EUR more than the budget of 999.99 EUR."]),
        ([], RULES, ["Choose at least one project."]),
        ([4, 4], RULES, ["A project was chosen more than once."]),
        ([4, 99], RULES, ["Some choices are not projects on this ballot; reload the page and choose again."]),
        ([4], BallotRules(budget=100_000, currency="EUR", min_projects=2), ["Choose at least 2 projects (you chose 1)."]),
        ([3, 4], BallotRules(budget=100_000, currency="EUR", min_projects=2), []),
        ([2, 3, 4], BallotRules(budget=100_000, currency="EUR", max_projects=2), ["Choose at most 2 projects (you chose 3)."]),
        ([3, 4], BallotRules(budget=100_000, currency="EUR", max_projects=2), []),
        ([1, 2], BallotRules(budget=60, currency="JPY"),
         ["Your choices cost 75,000 JPY, 74,940 JPY more than the budget of 60 JPY."]),
    ],
    ids=["at-budget", "one-project", "one-cent-over", "empty", "duplicate", "unknown", "too-few", "enough",
         "too-many", "few-enough", "jpy-over"],
)
def test_problems_lists_what_is_wrong_in_plain_words(choices, rules, found):
    assert problems(choices, COSTS, rules) == found


def test_one_cent_over_the_budget_states_the_exact_amounts():
    rules = BallotRules(budget=100_000, currency="EUR")
    assert problems([1, 2, 3], {**COSTS, 3: 25_001}, rules) == [OVER_BUDGET]


def test_several_problems_are_all_reported_at_once():
    rules = BallotRules(budget=50_000, currency="EUR", max_projects=1)
    assert problems([1, 1, 2, 99], COSTS, rules) == [
        "A project was chosen more than once.",
        "Some choices are not projects on this ballot; reload the page and choose again.",
        "Your choices cost 750 EUR, 250 EUR more than the budget of 500 EUR.",
        "Choose at most 1 project (you chose 2).",
    ]


def test_unknown_choices_cost_nothing_and_do_not_count_towards_the_minimum():
    rules = BallotRules(budget=100_000, currency="EUR", min_projects=2)
    assert problems([4, 98, 99], COSTS, rules) == [
        "Some choices are not projects on this ballot; reload the page and choose again.",
        "Choose at least 2 projects (you chose 1).",
    ]


@pytest.mark.parametrize(
    ("choices", "rules", "message"),
    [([99], BallotRules(budget=100_000, currency="EUR", min_projects=1), "Choose at least 1 project (you chose 0)."),
     ([3, 4], BallotRules(budget=100_000, currency="EUR", max_projects=1), "Choose at most 1 project (you chose 2).")],
)
def test_a_limit_of_one_project_reads_in_the_singular(choices, rules, message):
    assert message in problems(choices, COSTS, rules)


def test_check_returns_the_choices_as_a_ballot_of_values():
    chosen = check(iter([3, 1]), COSTS, RULES)
    assert chosen == {1: 1, 3: 1}


def test_check_refuses_with_every_problem_and_a_summary():
    with pytest.raises(BallotError) as refused:
        check([4, 4, 99], COSTS, RULES)
    assert refused.value.problems == [
        "A project was chosen more than once.",
        "Some choices are not projects on this ballot; reload the page and choose again.",
    ]
    assert refused.value.message == "Your ballot was not saved: " + " ".join(refused.value.problems)


def test_check_refuses_an_empty_ballot():
    with pytest.raises(BallotError, match="Choose at least one project."):
        check([], COSTS, RULES)
