"""Method of Equal Shares and its Add1 completion, on cases computed by hand with exact fractions."""

from fractions import Fraction
from pathlib import Path

import pytest

from pb.domain.tally import (
    DEFAULT_TIE_BREAK,
    LEXICOGRAPHIC,
    RULES,
    ApprovalProfile,
    Instance,
    PointsProfile,
    Project,
    TallyError,
    mes,
    mes_add1,
    run_rule,
)
from pb.domain.tally.pabulib import read_file
from pb.domain.tally.rules import equal_shares
from pb.domain.tally.rules.equal_shares import mes_add1_run

# 100 voters share 1,000 (10 each). 60 approve A, B and C (300 each); 40 approve D (400).
# Greedy lets the majority take 900; Equal Shares gives the minority its 400.
SPLIT_CITY = Instance(1_000, (Project("A", 300), Project("B", 300), Project("C", 300), Project("D", 400)))
SPLIT_BALLOTS = ApprovalProfile.from_ballots([["A", "B", "C"]] * 60 + [["D"]] * 40)


@pytest.mark.parametrize(
    "rule, selected, spent",
    [("greedy", ("A", "B", "C"), 900), ("mes", ("A", "B", "D"), 1_000), ("mes-add1", ("A", "B", "D"), 1_000)],
)
def test_equal_shares_gives_the_minority_its_proportional_share(rule, selected, spent):
    outcome = run_rule(rule, SPLIT_CITY, SPLIT_BALLOTS, tie_break=LEXICOGRAPHIC)
    assert (outcome.rule, outcome.selected, outcome.spent) == (rule, selected, spent)


def test_equal_shares_explains_payments_and_shortfalls():
    outcome = mes(SPLIT_CITY, SPLIT_BALLOTS, tie_break=LEXICOGRAPHIC)
    assert outcome.parameters == {"voter_budget": "10", "tie_break": "lexicographic"}
    funded = outcome.projects["D"]
    assert (funded.round, funded.phase, funded.supporter_payment) == (3, "equal-shares", "10")
    assert funded.explanation == "Funded in round 3 of Equal Shares: its 40 supporters paid 10 each."
    assert outcome.projects["A"].explanation == "Funded in round 1 of Equal Shares: its 60 supporters paid 5 each."
    assert outcome.projects["C"].explanation == (
        "Not funded: its 60 supporters together had 0 left of their equal shares, 300 short of its cost of 300. "
        "They had spent their shares mainly on A (300) and B (300)."
    )


def test_equal_shares_breaks_equal_prices_with_the_tie_break():
    first_two = DEFAULT_TIE_BREAK.order(["A", "B", "C"], SPLIT_CITY, SPLIT_BALLOTS)[:2]
    assert mes(SPLIT_CITY, SPLIT_BALLOTS).selected == (*first_two, "D")


def test_price_is_per_unit_of_utility_with_cost_utilities():
    # 3 voters with 20 each. Q (60, all three) costs each supporter 20: 1/3 per unit of utility.
    # P (10, two voters) costs each 5: 1/2 per unit. Cost utilities fund Q; minimising the payment
    # itself (approval utilities) would have funded P first and then nothing else.
    instance = Instance(60, (Project("P", 10), Project("Q", 60)))
    outcome = mes(instance, ApprovalProfile.from_ballots([["P", "Q"], ["P", "Q"], ["Q"]]))
    assert outcome.selected == ("Q",)
    assert outcome.projects["Q"].supporter_payment == "20"
    assert outcome.projects["P"].explanation.startswith(
        "Not funded: its 2 supporters together had 0 left of their equal shares, 10 short of its cost of 10."
    )


def test_shares_that_do_not_divide_evenly_stay_exact():
    outcome = mes(Instance(10, (Project("X", 10),)), ApprovalProfile.from_ballots([["X"]] * 3))
    assert outcome.selected == ("X",)
    assert outcome.parameters["voter_budget"] == "10/3"
    assert outcome.projects["X"].supporter_payment == "10/3"
    assert outcome.projects["X"].explanation == "Funded in round 1 of Equal Shares: its 3 supporters paid 3.33 each."


def test_fractions_fund_what_floats_would_miss():
    # Ten shares of 3/10 cover a cost of 3 exactly, but ten float 0.3s add up to 2.9999999999999996.
    outcome = mes(Instance(3, (Project("X", 3),)), ApprovalProfile.from_ballots([["X"]] * 10))
    assert outcome.selected == ("X",)
    assert outcome.projects["X"].supporter_payment == "3/10"


def test_supporters_who_ran_short_pay_what_they_have_and_the_rest_pay_more():
    # 4 voters with 10 each. X (24) is bought first by voters 1-3 at 8 each, leaving them 2.
    # Y (12) is then shared by voter 3 (2, all they have) and voter 4 (10): rho = 10.
    instance = Instance(40, (Project("X", 24), Project("Y", 12)))
    profile = ApprovalProfile.from_ballots([["X"], ["X"], ["X", "Y"], ["Y"]])
    outcome = mes(instance, profile)
    assert outcome.selected == ("X", "Y")
    assert (outcome.spent, outcome.left) == (36, 4)
    assert outcome.projects["X"].supporter_payment == "8"
    assert outcome.projects["Y"].supporter_payment == "10"
    assert outcome.projects["Y"].explanation == (
        "Funded in round 2 of Equal Shares: its 2 supporters paid 10 each, "
        "except 1 who paid less because they had run out of money."
    )


def test_empty_ballots_count_as_voters_with_an_unspent_share():
    # Two voters: the budget of 10 is split 5 and 5, so X's only supporter cannot pay its 10 alone.
    instance = Instance(10, (Project("X", 10),))
    profile = ApprovalProfile.from_ballots([["X"], []])
    outcome = mes(instance, profile)
    assert outcome.selected == ()
    assert outcome.projects["X"].explanation == (
        "Not funded: its only supporter had 5 left of their equal shares, 5 short of its cost of 10."
    )
    raised = mes_add1(instance, profile)
    assert raised.selected == ("X",)
    assert raised.parameters["voter_budget"] == "10"
    assert raised.projects["X"].phase == "equal-shares"


# Two voters with 5 each: A (6) is wanted by voter 1 alone, B (4) by voter 2 alone.
ADD1_CITY = Instance(10, (Project("A", 6), Project("B", 4)))
ADD1_BALLOTS = ApprovalProfile.from_ballots([["A"], ["B"]])


@pytest.mark.parametrize("tie_break, selected", [(DEFAULT_TIE_BREAK, ("B", "A")), (LEXICOGRAPHIC, ("A", "B"))])
def test_add1_raises_shares_until_the_outcome_is_exhaustive(tie_break, selected):
    assert mes(ADD1_CITY, ADD1_BALLOTS, tie_break=tie_break).selected == ("B",)
    outcome = mes_add1(ADD1_CITY, ADD1_BALLOTS, tie_break=tie_break)
    assert outcome.selected == selected
    assert {result.phase for result in outcome.projects.values()} == {"equal-shares"}
    assert outcome.parameters["voter_budget"] == "6"
    assert outcome.parameters["completion"] == "add1+greedy"


# Two voters. C (3) is wanted by both; A (7) by voter 1 and B (7) by voter 2. Shares of 5 to 8 fund only
# C; at 9 both A and B become affordable and the run overspends, so Add1 keeps the share of 8 and the
# 7 left is filled by votes: A and B tie on everything, so the tie-break picks which one.
FILL_CITY = Instance(10, (Project("A", 7), Project("B", 7), Project("C", 3)))
FILL_BALLOTS = ApprovalProfile.from_ballots([["A", "C"], ["B", "C"]])


@pytest.mark.parametrize("tie_break", [DEFAULT_TIE_BREAK, LEXICOGRAPHIC])
def test_add1_fills_what_equal_shares_left_over_by_votes(tie_break):
    winner, loser = tie_break.order(["A", "B"], FILL_CITY, FILL_BALLOTS)
    outcome = mes_add1(FILL_CITY, FILL_BALLOTS, tie_break=tie_break)
    assert outcome.selected == ("C", winner)
    assert outcome.parameters["voter_budget"] == "8"
    assert outcome.projects["C"].explanation == "Funded in round 1 of Equal Shares: its 2 supporters paid 1.5 each."
    filled = outcome.projects[winner]
    assert (filled.round, filled.phase, filled.supporter_payment) == (2, "completion", None)
    assert filled.explanation == (
        "Funded when the budget left after Equal Shares was filled by votes: "
        "7 was left when its turn came and it costs 7."
    )
    assert outcome.projects[loser].explanation.endswith(
        "When the budget left after Equal Shares was filled by votes, only 0 was left when its turn came."
    )


@pytest.mark.parametrize("rule", sorted(RULES))
def test_no_voters_or_no_money_funds_nothing(rule):
    instance = Instance(100, (Project("X", 10),))
    assert run_rule(rule, instance, ApprovalProfile(())).selected == ()
    assert run_rule(rule, Instance(0, instance.projects), ApprovalProfile.from_ballots([["X"]])).selected == ()


# Two voters with 5 each: A (6) for voter 1, B (4) for voter 2, C (5) for voter 2. Shares 5 fund B only;
# share 6 funds B and A (10 spent, exhaustive: the first-exhaustive stop keeps it); share 9 would also
# fund C and overspend, so raising "until the next step overspends" keeps share 8, which funds the same.
STOP_CITY = Instance(10, (Project("A", 6), Project("B", 4), Project("C", 5)))
STOP_BALLOTS = ApprovalProfile.from_ballots([["A"], ["B", "C"]])


@pytest.mark.parametrize(
    "exhaustive_stop, voter_budget, add1_stop", [(True, "6", "first-exhaustive"), (False, "8", "before-overspending")]
)
def test_add1_stops_at_the_first_exhaustive_outcome_or_before_overspending(exhaustive_stop, voter_budget, add1_stop):
    outcome = mes_add1_run(
        STOP_CITY, STOP_BALLOTS, tie_break=LEXICOGRAPHIC, exhaustive_stop=exhaustive_stop, completion=False
    )
    assert (set(outcome.selected), outcome.spent) == ({"A", "B"}, 10)
    assert outcome.parameters["voter_budget"] == voter_budget
    assert outcome.parameters["add1_stop"] == add1_stop
    assert outcome.parameters["completion"] == "add1"


def test_points_ballots_pay_per_point():
    # Budget 30, three voters with 10 each. X (12): voter 1 gives 3 points, voter 2 gives 1.
    # q = 12 / 4 = 3 per point: voter 1 would owe 9, voter 2 owes 3. Y (9) gets 1 point from voters 2 and 3:
    # q = 9 / 2 = 4.5. X goes first (3 < 4.5). Then voter 2 has 7 and voter 3 has 10: Y at 4.5 each.
    instance = Instance(30, (Project("X", 12), Project("Y", 9)))
    profile = PointsProfile.from_ballots([{"X": 3}, {"X": 1, "Y": 1}, {"Y": 1}])
    outcome = mes(instance, profile, tie_break=LEXICOGRAPHIC)
    assert outcome.selected == ("X", "Y")
    assert [outcome.projects[p].supporter_payment for p in ("X", "Y")] == ["3", "9/2"]
    assert outcome.projects["X"].explanation == (
        "Funded in round 1 of Equal Shares: its 2 supporters paid 3 per point they gave it."
    )
    assert outcome.votes == {"X": 4, "Y": 2}


def test_points_ballots_with_add1_accept_a_points_profile():
    instance = Instance(10, (Project("A", 6), Project("B", 4)))
    outcome = mes_add1(instance, PointsProfile.from_ballots([{"A": 2}, {"B": 5}]), tie_break=LEXICOGRAPHIC)
    assert set(outcome.selected) == {"A", "B"}


DATA = Path(__file__).resolve().parents[2] / "data"


@pytest.mark.parametrize("tie_break", [LEXICOGRAPHIC, DEFAULT_TIE_BREAK])
@pytest.mark.parametrize(
    "file, variants",
    [
        ("Poland_Swiecie_2023.pb", [(True, True), (True, False), (False, True), (False, False)]),
        ("Netherlands_Assen_2025.pb", [(True, True), (True, False), (False, True), (False, False)]),
        # Assen 2024 published Equal Shares without the greedy fill-up (it would add project 7).
        ("Netherlands_Assen_2024.pb", [(True, False), (False, False)]),
        # Wieliczka raised the share until the next step would overspend (306 to 315 zl give its set).
        ("Poland_Wieliczka_2023_Green_Budget.pb", [(False, True), (False, False)]),
    ],
)
def test_add1_reproduces_the_published_winners(file, variants, tie_break):
    election = read_file(DATA / file)
    for exhaustive_stop, completion in variants:
        outcome = mes_add1_run(
            election.instance(),
            election.profile(),
            tie_break=tie_break,
            exhaustive_stop=exhaustive_stop,
            completion=completion,
        )
        assert set(outcome.selected) == set(election.published_selection()), (exhaustive_stop, completion)


def test_wieliczka_first_exhaustive_stop_differs_from_the_published_winners():
    election = read_file(DATA / "Poland_Wieliczka_2023_Green_Budget.pb")
    outcome = mes_add1_run(
        election.instance(), election.profile(), tie_break=LEXICOGRAPHIC, exhaustive_stop=True, completion=True
    )
    published = set(election.published_selection())
    assert set(outcome.selected) ^ published == {"46", "66", "67"}
    assert outcome.parameters["voter_budget"] == "993950/3293"  # 301.84 zl


def test_losing_projects_are_explained_alike_whether_shortlisted_together_or_one_by_one(monkeypatch):
    """Toulouse 2024 leaves some eighty projects unfunded, with few supporters each: what their supporters spent
    their shares on is shortlisted for many of them at once, and reads the same as when done one by one."""
    election = read_file(DATA / "France_Toulouse_2024.pb")
    instance, profile = election.instance(), election.profile()
    together = mes(instance, profile, tie_break=LEXICOGRAPHIC)
    monkeypatch.setattr(equal_shares, "_SHORTLIST_SUPPORTS", 1)
    one_by_one = mes(instance, profile, tie_break=LEXICOGRAPHIC)
    assert together.projects == one_by_one.projects
    spent_on = [result for result in together.projects.values() if "spent their shares mainly on" in result.explanation]
    assert len(spent_on) >= 50


def test_the_amounts_a_losing_project_is_explained_by_read_the_same_from_proven_floats_as_from_fractions(monkeypatch):
    """Explanations print to the hundredth what a losing project's supporters had left, how short that was, and
    what they paid for: where float estimates prove those roundings (and which two payments were biggest), no
    exact sum is needed, and the explanations are those the exact sums give."""
    for name in ("France_Toulouse_2024.pb", "Poland_Wieliczka_2023_Green_Budget.pb", "Poland_Swiecie_2023.pb"):
        election = read_file(DATA / name)
        instance, profile = election.instance(), election.profile()
        proven = mes(instance, profile, tie_break=LEXICOGRAPHIC)
        with monkeypatch.context() as patch:
            patch.setattr(equal_shares, "_rounding", lambda low, high, exponent: None)
            exact = mes(instance, profile, tie_break=LEXICOGRAPHIC)
        assert proven.projects == exact.projects


def test_float_estimates_give_rounded_amounts_only_where_they_prove_order_and_rounding():
    rounded = equal_shares._rounded_biggest
    assert rounded([1234.5678, 99.0, 98.0], [1e-6] * 3, 0) == [Fraction(123457, 100), Fraction(99)]
    assert rounded([1234.5678], [1e-6], 2) == [Fraction(1235)]  # 12.35 in main units, written in cents
    assert rounded([100.0, 99.9999999], [1e-6] * 2, 0) is None  # which is bigger is not proven
    assert rounded([100.0, 50.0, 49.9999999], [1e-6] * 3, 0) is None  # nor which is second
    assert rounded([12.345, 1.0], [1e-9] * 2, 0) is None  # 12.345 is half-way between two hundredths
    assert rounded([12.3449, 1.0], [1e-3] * 2, 0) is None  # the error spans the half-way point
    assert rounded([1e-9], [1e-6], 0) is None  # perhaps nothing at all
    assert equal_shares._rounding(-1234.3401, -1234.3399, 0) == Fraction(-123434, 100)  # a negative one too


def test_the_largest_amount_pb_counts_is_counted_exactly():
    """Floats choose in the engine: amounts up to model.MONEY_LIMIT (200 digits) stay far inside their range."""
    profile = ApprovalProfile.from_ballots([["a"], ["a", "b"]])
    largest = 10**200 - 1
    outcome = run_rule("mes", Instance(largest, (Project("a", largest // 2), Project("b", 5))), profile)
    assert outcome.selected == ("a", "b")
