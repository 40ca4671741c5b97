"""Equal Shares with Add1 compared with greedy by the voters' preferences (Wieliczka's add1-comparison)."""

import pytest

from pb.domain.tally import LEXICOGRAPHIC, ApprovalProfile, Instance, Outcome, Project, ProjectResult, run_rule
from pb.domain.tally.rules import comparison
from pb.domain.tally.rules.common import prepare
from pb.domain.tally.rules.comparison import Preferences, compare

# x has 5 votes; y and z 2 each. Greedy (lexicographic) funds x and y; the stand-in Equal Shares x and z.
CITY = Instance(10, (Project("x", 5), Project("y", 5), Project("z", 5)))
TIED = [["x", "y"], ["x", "y"], ["x", "z"], ["x", "z"], ["x"]]


@pytest.fixture
def equal_shares_funds_x_and_z(monkeypatch):
    """Stand in for Equal Shares with Add1 so the comparison is tested on its own; records how it was called."""
    calls = []

    def mes_add1_run(instance, profile, *, tie_break, exhaustive_stop, completion):
        calls.append({"exhaustive_stop": exhaustive_stop, "completion": completion})
        projects = {
            "x": ProjectResult("x", 5, True, 1, "equal-shares", "Funded in round 1 of Equal Shares."),
            "y": ProjectResult("y", 2, False, None, None, "Not funded: short."),
            "z": ProjectResult("z", 2, True, 2, "equal-shares", "Funded in round 2 of Equal Shares."),
        }
        votes = {"x": 5, "y": 2, "z": 2}
        return Outcome("mes-add1", tie_break.describe(), 10, ("x", "z"), 10, votes, projects, {"voter_budget": "2"})

    monkeypatch.setattr(comparison, "mes_add1_run", mes_add1_run)
    return calls


def test_equal_shares_is_kept_when_as_many_voters_prefer_greedy(equal_shares_funds_x_and_z):
    # The two x+y voters have two projects funded by greedy and one by Equal Shares; the two x+z voters the reverse.
    outcome = run_rule("mes-add1-comparison", CITY, ApprovalProfile.from_ballots(TIED), tie_break=LEXICOGRAPHIC)
    assert (outcome.rule, outcome.selected) == ("mes-add1-comparison", ("x", "z"))
    assert equal_shares_funds_x_and_z == [{"exhaustive_stop": False, "completion": True}]
    assert outcome.parameters == {
        "voter_budget": "2",
        "compared_with": "greedy",
        "prefer_equal_shares": "2",
        "prefer_greedy": "2",
        "indifferent": "1",
        "kept": "equal-shares",
    }
    assert outcome.projects["z"].explanation == (
        "Funded in round 2 of Equal Shares. Equal Shares' outcome was kept rather than the greedy count's: "
        "2 voters preferred it and 2 the other (1 got the same from both)."
    )


def test_greedy_is_used_when_strictly_more_voters_prefer_it(equal_shares_funds_x_and_z):
    profile = ApprovalProfile.from_ballots(TIED + [["x", "y"]])
    outcome = run_rule("mes-add1-comparison", CITY, profile, tie_break=LEXICOGRAPHIC)
    assert (outcome.rule, outcome.selected) == ("mes-add1-comparison", ("x", "y"))
    assert (outcome.parameters["prefer_equal_shares"], outcome.parameters["prefer_greedy"]) == ("2", "3")
    assert outcome.parameters["kept"] == "greedy"
    assert outcome.projects["y"].explanation == (
        "Funded in place 2 of 3, 3 votes: 5 of the 10 budget was left when its turn came and it costs 5. "
        "The greedy count's outcome was used instead of Equal Shares': 3 voters preferred it and 2 the other "
        "(1 got the same from both)."
    )


@pytest.mark.parametrize(
    "first, second, preferences",
    [
        (("x", "z"), ("x", "y"), Preferences(2, 2, 1)),
        (("x", "y"), ("x", "z"), Preferences(2, 2, 1)),
        (("x",), ("x",), Preferences(0, 0, 5)),
        ((), ("y", "z"), Preferences(0, 4, 1)),
    ],
)
def test_voters_prefer_the_outcome_funding_more_of_the_cost_they_voted_for(first, second, preferences):
    election = prepare(CITY, ApprovalProfile.from_ballots(TIED), LEXICOGRAPHIC)
    assert compare(election, first, second) == preferences


def test_a_voter_counts_funded_projects_not_their_cost():
    # Two cheap projects beat one expensive one: this is what reproduces Wieliczka's published 1,615 to 873.
    instance = Instance(10, (Project("a", 1), Project("b", 2), Project("c", 5)))
    election = prepare(instance, ApprovalProfile.from_ballots([["a", "b", "c"]]), LEXICOGRAPHIC)
    assert compare(election, ("a", "b"), ("c",)) == Preferences(1, 0, 0)


def test_with_the_real_equal_shares_the_outcome_is_one_of_the_two():
    instance = Instance(1_000, (Project("A", 300), Project("B", 300), Project("C", 300), Project("D", 400)))
    profile = ApprovalProfile.from_ballots([["A", "B", "C"]] * 60 + [["D"]] * 40)
    outcome = run_rule("mes-add1-comparison", instance, profile, tie_break=LEXICOGRAPHIC)
    # Equal Shares funds A, B, D; greedy A, B, C. 60 voters have 3 projects by greedy, 2 by Equal Shares; 40 have 1 or 0.
    assert (outcome.parameters["prefer_equal_shares"], outcome.parameters["prefer_greedy"]) == ("40", "60")
    assert outcome.selected == ("A", "B", "C")
