"""Instance, profile and outcome: validation, grouping of ballots, money formatting and the rule registry."""

from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pb.domain.errors import DomainError
from pb.domain.tally import (
    RULES,
    ApprovalProfile,
    Instance,
    PointsProfile,
    Project,
    TallyError,
    format_money,
    greedy,
    run_rule,
)


@pytest.mark.parametrize("cost", [0, -5, 1.5, "10", True, None])
def test_project_cost_must_be_a_positive_integer(cost):
    with pytest.raises(TallyError, match="positive whole amount"):
        Project("a", cost)


@pytest.mark.parametrize("project_id", ["", None, 7])
def test_project_id_must_be_non_empty_text(project_id):
    with pytest.raises(TallyError):
        Project(project_id, 10)


def test_duplicate_project_ids_are_refused():
    with pytest.raises(TallyError, match="'a'"):
        Instance(100, (Project("a", 10), Project("a", 20)))


@pytest.mark.parametrize("budget", [-1, 10.0, None])
def test_budget_must_be_a_non_negative_integer(budget):
    with pytest.raises(TallyError):
        Instance(budget, (Project("a", 10),))


def test_instance_accepts_a_list_and_looks_projects_up_by_id():
    instance = Instance(0, [Project("a", 10, "Playground")])
    assert instance.projects == (Project("a", 10, "Playground"),)
    assert instance.project("a").label == "Playground"
    assert "a" in instance and "b" not in instance


def test_identical_ballots_are_grouped_whatever_their_order():
    profile = ApprovalProfile.from_ballots([["a", "b"], ("b", "a"), {"c"}, [], []])
    assert dict(profile.groups) == {frozenset("ab"): 2, frozenset("c"): 1, frozenset(): 2}
    assert profile.voter_count == 5
    assert [profile.approvals(project_id) for project_id in "abcd"] == [2, 2, 1, 0]


def test_profile_from_groups_is_validated():
    assert ApprovalProfile(((frozenset("a"), 3),)).voter_count == 3
    with pytest.raises(TallyError):
        ApprovalProfile(((frozenset("a"), 0),))


def test_a_ballot_given_as_text_is_refused():
    with pytest.raises(TallyError, match="collection of project ids"):
        ApprovalProfile.from_ballots(["ab"])


@pytest.mark.parametrize("rule", sorted(RULES))
def test_every_rule_refuses_a_ballot_naming_an_unknown_project(rule):
    instance = Instance(100, (Project("a", 10),))
    profile = ApprovalProfile.from_ballots([["a"], ["a", "zebra"]])
    with pytest.raises(TallyError, match="'zebra'"):
        run_rule(rule, instance, profile)


def test_unknown_rule_name_is_refused_and_the_error_is_a_domain_error():
    with pytest.raises(TallyError, match="Unknown tally rule 'borda'; choose one of greedy, ") as raised:
        run_rule("borda", Instance(0, ()), ApprovalProfile(()))
    assert isinstance(raised.value, DomainError)
    assert all(name in raised.value.message for name in RULES)


@pytest.mark.parametrize(
    "amount, text",
    [
        (0, "0"),
        (999, "999"),
        (1234567, "1,234,567"),
        (Fraction(1000, 3), "333.33"),
        (Fraction(3, 2), "1.5"),
        (Fraction(2000001, 1000), "2,000"),
        (Fraction(12000), "12,000"),
    ],
)
def test_format_money(amount, text):
    assert format_money(amount) == text


@pytest.mark.parametrize(
    "amount, exponent, text",
    [
        (1_400_000, 2, "14,000"),
        (1_400_050, 2, "14,000.50"),  # a part of the main unit has both its decimals, as the site writes it
        (-1_250, 2, "-12.50"),
        (1_234, 3, "1.234"),  # a whole number of the smallest unit prints exactly
        (1_200, 3, "1.20"),
        (10**30 + 5, 1, "100,000,000,000,000,000,000,000,000,000.5"),
        (Fraction(1, 200), 0, "0"),  # 0.005 rounds half to even: 0.00
        (Fraction(3, 200), 0, "0.02"),  # 0.015: 0.02
        (Fraction(-3, 200), 0, "-0.02"),
    ],
)
def test_format_money_in_the_main_unit_rounds_half_to_even(amount, exponent, text):
    assert format_money(amount, exponent) == text


def _format_money_with_fractions(amount, exponent):
    """The definition format_money computes with integers: the amount in the main unit, exact for a whole number
    of the smallest unit, else to two decimals at most; with an exponent, a part of the main unit has at least
    min(2, exponent) decimals."""
    value = Fraction(amount) / 10**exponent
    if value.denominator == 1:
        return f"{int(value):,}"
    if isinstance(amount, int):
        sign, whole, rest = "-" if value < 0 else "", *divmod(abs(amount), 10**exponent)
        text = f"{sign}{whole:,}.{rest:0{exponent}d}".rstrip("0")
    else:
        hundredths = round(value * 100)
        whole, cents = divmod(abs(hundredths), 100)
        text = f"{'-' if hundredths < 0 else ''}{whole:,}.{cents:02d}".rstrip("0").rstrip(".")
    if exponent and "." in text:
        whole_text, decimals = text.split(".")
        text = f"{whole_text}.{decimals.ljust(min(2, exponent), '0')}"
    return text


@given(
    st.one_of(
        st.integers(-(10**15), 10**15),
        st.fractions(max_denominator=10**6),
        st.integers(-(10**6), 10**6).map(lambda n: Fraction(2 * n + 1, 200)),  # exactly half a hundredth
    ),
    st.integers(0, 3),
)
def test_format_money_agrees_with_its_definition_in_fractions(amount, exponent):
    assert format_money(amount, exponent) == _format_money_with_fractions(amount, exponent)


def test_outcome_covers_every_project_and_knows_what_is_left():
    instance = Instance(100, (Project("a", 30), Project("b", 50), Project("c", 10)))
    outcome = greedy(instance, ApprovalProfile.from_ballots([["a"], ["a", "b"]]))
    assert outcome.selected == ("a", "b")
    assert (outcome.spent, outcome.left) == (80, 20)
    assert outcome.votes == {"a": 2, "b": 1, "c": 0}
    assert set(outcome.projects) == {"a", "b", "c"}


def test_explanations_print_money_in_the_currencys_main_unit():
    from pb.domain.tally import run_rule
    from pb.domain.tally.tie_breaking import LEXICOGRAPHIC

    instance = Instance(budget=2_000_000, projects=(Project("a", 1_400_000), Project("b", 900_050)),
                        currency="EUR", money_exponent=2)
    profile = ApprovalProfile.from_ballots([["a"], ["a", "b"], ["b"]])
    assert instance.money(1_400_000) == "14,000 EUR" and instance.money(Fraction(1000, 3)) == "3.33 EUR"
    for rule in ("greedy", "mes-add1", "phragmen"):
        outcome = run_rule(rule, instance, profile, tie_break=LEXICOGRAPHIC)
        text = " ".join(result.explanation for result in outcome.projects.values())
        assert " EUR" in text and "1,400,000" not in text and "900,050" not in text, (rule, text)
        if rule == "greedy":
            assert "it costs 9,000.50 EUR" in text or "costs 14,000 EUR" in text, text
    # Regression: a part of a euro is written with both decimals, never "11,562.5 EUR".
    assert instance.money(1_156_250) == "11,562.50 EUR" and instance.money(Fraction(1_300_001, 2)) == "6,500 EUR"
    bare = Instance(budget=10, projects=(Project("a", 4),))
    assert bare.money(12_000) == "12,000" and bare.money(Fraction(1000, 3)) == "333.33"


def _decoded(profile) -> list[list]:
    """The ballots read back from the profile's codes, one list per ballot group."""
    codes, ballots, start = profile.codes, [], 0
    for size in codes.sizes.tolist():
        ids = [codes.project_ids[code] for code in codes.codes[start : start + size].tolist()]
        points = codes.points[start : start + size].tolist() if codes.points is not None else None
        ballots.append(sorted(zip(ids, points)) if points is not None else sorted(ids))
        start += size
    return ballots


def test_a_profile_keeps_its_ballots_as_codes_that_read_back_as_the_ballots():
    approval = ApprovalProfile((({"b", "a"}, 2), (set(), 1), ({"c"}, 4)))
    assert approval.codes.project_ids == ("a", "b", "c")
    assert _decoded(approval) == [["a", "b"], [], ["c"]]
    points = PointsProfile((((("b", 3), ("a", 1)), 2), ((("c", 5),), 1)))
    assert _decoded(points) == [[("a", 1), ("b", 3)], [("c", 5)]]
    # The codes are how the profile is stored, not what it is: equal ballots make equal profiles.
    assert ApprovalProfile(((frozenset({"a", "b"}), 2),)) == ApprovalProfile((({"b", "a"}, 2),))


@given(st.lists(st.tuples(st.frozensets(st.sampled_from("abcdefgh")), st.integers(1, 5)), max_size=20))
def test_codes_read_back_as_any_approval_profile(groups):
    profile = ApprovalProfile(tuple(groups))
    assert _decoded(profile) == [sorted(approved) for approved, _ in profile.groups]


# ---------------------------------------------------------------- counts the rules cannot hold exactly


def test_points_beyond_64_bits_are_refused_not_a_numpy_overflow():
    # A cumulative file with 10**30 - 1 points once crashed with OverflowError in np.fromiter (issue 21).
    with pytest.raises(TallyError, match="more than pb counts exactly"):
        PointsProfile((((("a", 10**30 - 1),), 1),))


def test_points_totals_beyond_64_bits_are_refused_though_each_vote_fits():
    # Each vote fits in 64 bits, but a project's points summed over its voters would wrap around.
    just_below = 2**63 - 1
    assert PointsProfile((((("a", just_below),), 1),)).points("a") == just_below
    with pytest.raises(TallyError, match="The ballots give 9,223,372,036,854,775,808 points in all"):
        PointsProfile((((("a", 2**62),), 2),))
    with pytest.raises(TallyError):
        PointsProfile((((("a", 2**62), ("b", 2**62)), 1),))


def test_votes_beyond_64_bits_are_refused():
    with pytest.raises(TallyError, match="votes in all, more than pb counts exactly"):
        ApprovalProfile(((frozenset("a"), 2**63),))
    assert ApprovalProfile(((frozenset("a"), 2**63 - 1),)).voter_count == 2**63 - 1


def test_amounts_that_floats_cannot_hold_are_refused_before_any_rule_runs():
    # Equal Shares and Phragmén compute with floats, which overflow near 1.8e308 (an OverflowError, before).
    with pytest.raises(TallyError, match="costs 10\\*\\*200 of the smallest unit or more"):
        Project("a", 10**200)
    with pytest.raises(TallyError, match="The budget is 10\\*\\*200 of the smallest unit or more"):
        Instance(10**310, (Project("a", 10),))
    largest = 10**200 - 1
    instance = Instance(largest, (Project("a", largest), Project("b", 1)))
    profile = ApprovalProfile.from_ballots([["a"], ["a", "b"], ["b"]])
    for rule in RULES:
        if rule != "mes-add1-comparison":  # Add1 may raise a huge budget step by step for long (the add1 work)
            assert set(run_rule(rule, instance, profile).selected) <= {"a", "b"}, rule
