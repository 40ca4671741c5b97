"""Sequential Phragmén on cases computed by hand: earning times, the stop rule, ties and explanations."""

import pytest

from pb.domain.tally import DEFAULT_TIE_BREAK, LEXICOGRAPHIC, ApprovalProfile, Instance, PointsProfile, Project
from pb.domain.tally.rules.phragmen import phragmen

# A (6) has 3 supporters, B (4) has 2, C (3) has 1; voter 3 backs A and B, voter 4 backs B and C.
# Round 1: A and B both become affordable at t = 6/3 = 4/2 = 2, C at 3.
THREE = Instance(10, (Project("A", 6), Project("B", 4), Project("C", 3)))
THREE_BALLOTS = ApprovalProfile.from_ballots([["A"], ["A"], ["A", "B"], ["B", "C"]])


def test_default_tie_break_buys_the_cheaper_of_two_projects_affordable_at_once():
    # B at t=2 (loads of voters 3, 4 become 2); A at (6 + 2) / 3 = 8/3; C at (3 + 2) / 1 = 5 does not fit.
    outcome = phragmen(THREE, THREE_BALLOTS)
    assert (outcome.rule, outcome.selected, outcome.spent) == ("phragmen", ("B", "A"), 10)
    assert outcome.projects["B"].explanation == (
        "Funded in round 1 of sequential Phragmén: by the time every voter had earned 2, its 2 supporters "
        "together had earned its cost of 4 since they last paid for a project, and spent it on it; "
        "6 of the 10 budget was then left."
    )
    assert outcome.projects["A"].explanation == (
        "Funded in round 2 of sequential Phragmén: by the time every voter had earned 2.67, its 3 supporters "
        "together had earned its cost of 6 since they last paid for a project, and spent it on it; "
        "0 of the 10 budget was then left."
    )
    assert outcome.projects["C"].explanation == (
        "Not funded: its supporters would have had its cost of 3 by the time every voter had earned 5, "
        "earlier than any other project left, but only 0 of the budget was left; sequential Phragmén stops here."
    )
    assert [outcome.projects[p].round for p in "ABC"] == [2, 1, None]
    assert outcome.projects["A"].phase == "phragmen"


def test_lexicographic_tie_break_buys_a_first_and_then_breaks_the_next_tie_by_id():
    # A at t=2 (voters 1-3 load 2); then B at (4 + 2) / 2 = 3 and C at 3 / 1 = 3 tie: B by id. C then at 6.
    outcome = phragmen(THREE, THREE_BALLOTS, tie_break=LEXICOGRAPHIC)
    assert outcome.selected == ("A", "B")
    assert "by the time every voter had earned 3," in outcome.projects["B"].explanation
    assert "by the time every voter had earned 6," in outcome.projects["C"].explanation


# b (2, two voters) and a (3, three voters) both become affordable at t = 1; the budget holds only one.
ONE_OF_TWO = Instance(3, (Project("a", 3), Project("b", 2)))
ONE_OF_TWO_BALLOTS = ApprovalProfile.from_ballots([["a"], ["a"], ["a"], ["b"], ["b"]])


@pytest.mark.parametrize("tie_break, selected", [(DEFAULT_TIE_BREAK, ("b",)), (LEXICOGRAPHIC, ("a",))])
def test_the_tie_break_chooses_among_projects_affordable_at_the_same_time(tie_break, selected):
    outcome = phragmen(ONE_OF_TWO, ONE_OF_TWO_BALLOTS, tie_break=tie_break)
    assert outcome.selected == selected
    (loser,) = {"a", "b"} - set(selected)
    assert outcome.projects[loser].explanation.endswith("sequential Phragmén stops here.")


@pytest.mark.parametrize("tie_break", [DEFAULT_TIE_BREAK, LEXICOGRAPHIC])
def test_the_rule_stops_when_any_project_tied_for_the_earliest_time_does_not_fit(tie_break):
    # C at t=1 (spent 1); then A (4, two voters) and B (2, one voter) tie at t=2, and A does not fit in 3:
    # the rule stops although B would fit, as pabutools' sequential_phragmen does.
    instance = Instance(4, (Project("A", 4), Project("B", 2), Project("C", 1)))
    outcome = phragmen(instance, ApprovalProfile.from_ballots([["A"], ["A"], ["B"], ["C"]]), tie_break=tie_break)
    assert outcome.selected == ("C",)
    assert outcome.projects["A"].explanation == (
        "Not funded: its supporters would have had its cost of 4 by the time every voter had earned 2, "
        "earlier than any other project left, but only 3 of the budget was left; sequential Phragmén stops here."
    )
    assert outcome.projects["B"].explanation == (
        "Not funded: sequential Phragmén stopped (when A did not fit in the 3 left) before its supporters "
        "had earned its cost of 2; they would have had it by the time every voter had earned 2."
    )


def test_a_project_costing_more_than_the_whole_budget_is_left_out_and_does_not_stop_the_rule():
    # "huge" would be affordable first (t = 2) but can never fit; "small" is bought at t = 3.
    instance = Instance(5, (Project("huge", 20), Project("small", 3)))
    outcome = phragmen(instance, ApprovalProfile.from_ballots([["huge"]] * 10 + [["small"]]))
    assert outcome.selected == ("small",)
    assert outcome.projects["huge"].explanation == "Not funded: it costs 20, more than the whole budget of 5."


def test_a_project_costing_exactly_what_is_left_is_bought():
    instance = Instance(5, (Project("x", 2), Project("y", 3)))
    outcome = phragmen(instance, ApprovalProfile.from_ballots([["x"], ["x", "y"], ["y"]]))
    assert (set(outcome.selected), outcome.left) == ({"x", "y"}, 0)


def test_projects_without_votes_are_never_bought():
    instance = Instance(100, (Project("liked", 10), Project("unloved", 10)))
    outcome = phragmen(instance, ApprovalProfile.from_ballots([["liked"], []]))
    assert (outcome.selected, outcome.left) == (("liked",), 90)
    assert outcome.projects["unloved"].explanation == "Not funded: nobody voted for it."


def test_earning_times_are_exact_fractions():
    # p (1) by voters 1-3 at t = 1/3. q (1) by voters 3-4: (1 + 1/3) / 2 = 2/3; r (1) by voter 5 at 1.
    # Decisions use the exact times; the explanation rounds them only for display.
    instance = Instance(3, (Project("p", 1), Project("q", 1), Project("r", 1)))
    outcome = phragmen(instance, ApprovalProfile.from_ballots([["p"], ["p"], ["p", "q"], ["q"], ["r"]]))
    assert outcome.selected == ("p", "q", "r")
    assert "earned 0.33," in outcome.projects["p"].explanation
    assert "earned 0.67," in outcome.projects["q"].explanation


def test_points_ballots_count_as_approvals_of_every_project_given_points():
    profile = PointsProfile.from_ballots([{"A": 5}, {"A": 1}, {"A": 2, "B": 1}, {"B": 3, "C": 1}])
    outcome = phragmen(THREE, profile)
    assert outcome.selected == phragmen(THREE, THREE_BALLOTS).selected
    assert outcome.votes == {"A": 3, "B": 2, "C": 1}
    assert outcome.parameters["ballots"] == "approval (any points count as approval)"


def test_identical_ballots_grouped_or_not_give_the_same_outcome():
    ballots = [["A"], ["A"], ["A", "B"], ["B", "C"]] * 3
    grouped = ApprovalProfile.from_ballots(ballots)
    one_by_one = ApprovalProfile(tuple((frozenset(ballot), 1) for ballot in ballots))
    assert phragmen(THREE, grouped).selected == phragmen(THREE, one_by_one).selected
