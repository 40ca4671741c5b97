"""Tie-breaks: the default cost/votes/lottery order, its seeded lottery, lexicographic order, and injection."""

import pytest

from pb.domain.tally import (
    DEFAULT_TIE_BREAK,
    LEXICOGRAPHIC,
    ApprovalProfile,
    Instance,
    Project,
    TieBreak,
    greedy,
    seeded_tie_break,
)

FIVE_EQUAL = Instance(10, tuple(Project(project_id, 10) for project_id in "ABCDE"))
EVERYONE_APPROVES_ALL = ApprovalProfile.from_ballots([list("ABCDE")])


def test_default_orders_by_lower_cost_then_more_votes():
    instance = Instance(100, (Project("x", 5), Project("y", 3), Project("z", 3)))
    profile = ApprovalProfile.from_ballots([["x", "y", "z"], ["z"]])
    assert DEFAULT_TIE_BREAK.order(["x", "y", "z"], instance, profile) == ["z", "y", "x"]


# Golden values: the lottery must give these on every machine, in every run, for ever.
@pytest.mark.parametrize(
    "seed, order",
    [
        (0, ["C", "B", "E", "A", "D"]),
        (1, ["A", "D", "B", "E", "C"]),
        (12345, ["D", "A", "B", "C", "E"]),
    ],
)
def test_lottery_is_stable_across_runs_and_machines(seed, order):
    assert seeded_tie_break(seed).order(list("ABCDE"), FIVE_EQUAL, EVERYONE_APPROVES_ALL) == order
    assert seeded_tie_break(seed).order(list("EDCBA"), FIVE_EQUAL, EVERYONE_APPROVES_ALL) == order


@pytest.mark.parametrize("tie_break", [DEFAULT_TIE_BREAK, seeded_tie_break(7), LEXICOGRAPHIC])
@pytest.mark.parametrize("subset", [["A", "B"], ["E", "C", "A"], ["D", "B", "E", "C"]])
def test_ordering_a_subset_keeps_the_relative_order_of_the_whole(tie_break, subset):
    whole = tie_break.order(list("ABCDE"), FIVE_EQUAL, EVERYONE_APPROVES_ALL)
    assert tie_break.order(subset, FIVE_EQUAL, EVERYONE_APPROVES_ALL) == [p for p in whole if p in subset]


def test_lexicographic_compares_ids_as_text():
    instance = Instance(10, (Project("10", 1), Project("9", 1), Project("2", 1)))
    assert LEXICOGRAPHIC.order(["9", "10", "2"], instance, ApprovalProfile(())) == ["10", "2", "9"]


@pytest.mark.parametrize(
    "tie_break, description, parameters",
    [
        (
            DEFAULT_TIE_BREAK,
            "lower cost, then more votes, then lottery (seed 0)",
            {"tie_break": "cost-votes-lottery", "seed": "0"},
        ),
        (
            seeded_tie_break(12345),
            "lower cost, then more votes, then lottery (seed 12345)",
            {"tie_break": "cost-votes-lottery", "seed": "12345"},
        ),
        (LEXICOGRAPHIC, "lexicographic (by project id)", {"tie_break": "lexicographic"}),
    ],
)
def test_the_outcome_records_the_tie_break(tie_break, description, parameters):
    outcome = greedy(FIVE_EQUAL, EVERYONE_APPROVES_ALL, tie_break=tie_break)
    assert outcome.tie_break == description
    assert outcome.parameters == parameters


class ReverseAlphabetical(TieBreak):
    name = "reverse"

    def describe(self) -> str:
        return "reverse alphabetical"

    def order(self, project_ids, instance, profile):
        return sorted(project_ids, reverse=True)


def test_a_custom_tie_break_can_be_injected():
    outcome = greedy(FIVE_EQUAL, EVERYONE_APPROVES_ALL, tie_break=ReverseAlphabetical())
    assert outcome.selected == ("E",)
    assert outcome.tie_break == "reverse alphabetical"
