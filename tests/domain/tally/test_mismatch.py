"""Why a count differs from the published selection: each cause found, and what reproduces the city's selection."""

from pb.domain.tally import LEXICOGRAPHIC, ApprovalProfile, Instance, Project, run_rule
from pb.domain.tally.mismatch import FavouringTieBreak, diagnose

# a: 4 votes, b: 3, c: 2, d: 1.
BALLOTS = ApprovalProfile.from_ballots([["a", "b", "c", "d"], ["a", "b", "c"], ["a", "b"], ["a"]])


def findings(instance, profile, published, rule="greedy", tie_break=None, comment=""):
    outcome = run_rule(rule, instance, profile, **({"tie_break": tie_break} if tie_break else {}))
    return diagnose(instance, profile, outcome, published, comment=comment, **({"tie_break": tie_break} if tie_break else {}))


def test_a_matching_selection_needs_no_explanation():
    instance = Instance(100, (Project("a", 50), Project("b", 40), Project("c", 30), Project("d", 5)))
    assert findings(instance, BALLOTS, ["d", "a", "b"]) == []


def test_a_selection_costing_more_than_the_budget_means_the_city_added_money():
    # Amsterdam: two projects tied for the last place and the city found the money to fund both.
    instance = Instance(100, (Project("a", 50), Project("b", 40), Project("c", 30), Project("d", 5)))
    assert findings(instance, BALLOTS, ["a", "b", "c"]) == [
        "The city's selection costs 120, more than the budget of 100: the city added money, so no count within the "
        "budget gives its selection."
    ]


def test_a_tie_broken_otherwise_is_named_with_the_tie_break_that_reproduces_it():
    # b and c tie on 3 votes and only one fits; pb's default funds the cheaper (c), the city funded b.
    ballots = ApprovalProfile.from_ballots([["a", "b", "c"], ["a", "b", "c"], ["a", "b", "c"], ["a"]])
    instance = Instance(100, (Project("a", 50), Project("b", 40), Project("c", 35), Project("d", 5)))
    assert findings(instance, ballots, ["a", "b"]) == [
        "A tie (b with c (3 votes each)) was broken otherwise than by pb's tie-break (lower cost, then more votes, "
        "then lottery (seed 0)): greedy with ties broken in favour of the projects the city funded gives the city's "
        "selection.",
        "--tie-break lexicographic reproduces it.",
    ]


def test_another_greedy_variant_that_reproduces_the_selection_is_named():
    # The city stopped at b, which did not fit; greedy goes on and funds c.
    instance = Instance(100, (Project("a", 50), Project("b", 60), Project("c", 30), Project("d", 40)))
    assert findings(instance, BALLOTS, ["a"]) == ["--rule greedy-no-skip reproduces the city's selection."]


def test_a_minimum_score_the_file_does_not_give_is_found():
    # Gdynia: the city stopped funding under a minimum of votes; here d (1 vote) would still fit.
    instance = Instance(100, (Project("a", 50), Project("b", 30), Project("c", 15), Project("d", 5)))
    assert findings(instance, BALLOTS, ["a", "b", "c"], rule="greedy-no-skip") == [
        "A minimum of 2 votes to be funded reproduces it with --rule greedy-threshold (the file gives none; add "
        "min_project_score_threshold;2 to its META)."
    ]


def test_a_selection_no_greedy_count_gives_is_shown_by_a_passed_over_project_and_the_comment_is_quoted():
    # Budapest: the city funded c (2 votes) but not b (3 votes), which fitted in what it left unspent.
    instance = Instance(100, (Project("a", 50), Project("b", 30), Project("c", 10), Project("d", 45)))
    assert findings(instance, BALLOTS, ["a", "c"], comment="About 10%  of the votes\nwere on paper.") == [
        "The city did not fund b (3 votes, costing 30) though it fitted in the 40 the city left unspent, and funded c "
        "with fewer (2): no greedy count of these ballots gives the city's selection. The city counted votes that "
        "are not in the file, or used another rule.",
        "The file's comment: About 10% of the votes were on paper.",
    ]


def test_a_difference_nothing_explains_says_so():
    instance = Instance(100, (Project("a", 50), Project("b", 40), Project("c", 30), Project("d", 5)))
    assert findings(instance, BALLOTS, ["c", "d"], rule="mes") == [
        "pb found no rule, tie-break or minimum score that reproduces the city's selection."
    ]


def test_the_favouring_tie_break_puts_the_citys_projects_first():
    tie_break = FavouringTieBreak(frozenset({"z", "b"}))
    assert tie_break.order(["a", "z", "b", "c"], None, None) == ["b", "z", "a", "c"]
    assert tie_break.parameters() == {"tie_break": "favouring"}
    assert LEXICOGRAPHIC != tie_break
