"""Equal Shares in floats: either the exact engine's selection and cost, proven, or no answer."""

from fractions import Fraction
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pb.domain.tally import ApprovalProfile, Instance, PointsProfile, Project
from pb.domain.tally.pabulib import read_file
from pb.domain.tally.rules import equal_shares_float
from pb.domain.tally.rules.equal_shares_engine import run_equal_shares
from pb.domain.tally.rules.equal_shares_float import float_selection, float_selections
from tests.domain.tally.test_equal_shares_engine import _engine, elections

DATA = Path(__file__).resolve().parents[2] / "data"


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(elections())
def test_a_float_answer_is_the_exact_engines(election):
    instance, profile, start, width = election
    engine = _engine(instance, profile)
    for share in (start, start + width, start + Fraction(1, 3)):
        for limit in (instance.budget, instance.budget // 2):
            found = float_selection(engine, share, limit)
            exact = run_equal_shares(engine, share, spend_limit=limit)
            # None (a tie, a cost within rounding of the money for it, points ballots) is always allowed; how
            # often floats answer is held up by the tests below.
            if found is not None:
                assert found == (exact.selected(), exact.spent)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(elections(), st.integers(3, 12), st.sampled_from([Fraction(1, 4), Fraction(1), Fraction(5, 2)]))
def test_shares_run_together_each_get_the_exact_engines_answer(election, count, step):
    """A batch of neighbouring shares: their runs split where their winners (or what they can afford) differ."""
    instance, profile, start, _ = election
    engine = _engine(instance, profile)
    shares = [start + step * index for index in range(count)]
    for limit in (instance.budget, instance.budget // 2):
        for share, found in zip(shares, float_selections(engine, shares, limit)):
            if found is not None:
                exact = run_equal_shares(engine, share, spend_limit=limit)
                assert found == (exact.selected(), exact.spent), share


def test_a_batch_splits_where_a_project_becomes_affordable_and_where_winners_differ(monkeypatch):
    """c first at every share (1 each). At 2, neither a (2 + 2 + 1 < 9) nor b (2 + 2 < 5) is affordable after it; at
    3, a is out of reach (3 + 3 + 2 < 9) and b follows (5/2 each); from 4, a follows (3 each), and b after it
    only from 6 (its supporters have s - 3 each left). A batch of the six shares splits at each difference."""
    instance = Instance(18, (Project("a", 9), Project("b", 5), Project("c", 4)))
    profile = ApprovalProfile.from_ballots([{"a", "b"}, {"a", "b"}, {"a", "c"}, {"c"}, {"c"}, {"c"}])
    engine = _engine(instance, profile)
    shares = [Fraction(share) for share in range(2, 8)]
    expected = [(run.selected(), run.spent) for run in (run_equal_shares(engine, share) for share in shares)]
    assert [[engine.ids[p] for p in selected] for selected, _ in expected] == [
        ["c"], ["c", "b"], ["c", "a"], ["c", "a"], ["c", "a", "b"], ["c", "a", "b"]
    ]
    assert float_selections(engine, shares, 18) == expected
    monkeypatch.setattr(equal_shares_float, "_BATCH_FROM", 1)
    assert float_selections(engine, shares, 18) == expected
    monkeypatch.setattr(equal_shares_float, "_BATCH_FROM", 100)
    assert float_selections(engine, shares, 18) == expected


def test_a_tie_of_known_keys_goes_to_the_tie_break_as_in_the_exact_engine():
    """Two projects of equal cost with one untouched supporter each: both keys are exactly 1 / 1."""
    instance = Instance(20, (Project("a", 10), Project("b", 10)))
    engine = _engine(instance, ApprovalProfile.from_ballots([{"a"}, {"b"}]))
    exact = run_equal_shares(engine, Fraction(10))
    assert [engine.ids[p] for p in exact.selected()] == ["a", "b"]
    assert float_selection(engine, Fraction(10), 20) == (exact.selected(), 20)


def test_a_tie_floats_cannot_prove_is_left_to_the_exact_engine():
    """x (key 1/3) first; then a and b each have one supporter with 2 left, who pays it, and one who pays 3.

    Their keys are both exactly 3/5, but each depends on money that floats know only within their error.
    """
    instance = Instance(20, (Project("x", 6), Project("a", 5), Project("b", 5)))
    profile = ApprovalProfile.from_ballots([{"x", "a"}, {"x", "b"}, {"x"}, {"a"}, {"b"}])
    engine = _engine(instance, profile)
    exact = run_equal_shares(engine, Fraction(4))
    assert [engine.ids[p] for p in exact.selected()] == ["x", "a", "b"]
    assert [purchase.price for purchase in exact.purchases] == [2, 3, 3]
    assert float_selection(engine, Fraction(4), 20) is None


def test_clear_decisions_are_made_in_floats_and_an_overspending_run_stops_as_the_exact_one():
    """Keys (price per unit of cost) with everyone paying: a 1/3, b 1/2, c 1/4.

    Shares of 3: c (1 each), then a is out of reach (3 + 3 + 2 < 9), b (2.50 each). Shares of 6: c, then a
    (3 each), then b (2.50 each from the 3 left). With a limit the run ends at the project that passes it.
    """
    instance = Instance(18, (Project("a", 9), Project("b", 5), Project("c", 4)))
    profile = ApprovalProfile.from_ballots([{"a", "b"}, {"a", "b"}, {"a", "c"}, {"c"}, {"c"}, {"c"}])
    engine = _engine(instance, profile)

    def selection(share: int, limit: int) -> tuple[list[str], int] | None:
        found = float_selection(engine, Fraction(share), limit)
        return None if found is None else ([engine.ids[p] for p in found[0]], found[1])

    assert selection(3, 18) == (["c", "b"], 9)
    assert selection(3, 8) == (["c", "b"], 9)
    assert selection(6, 100) == (["c", "a", "b"], 18)
    assert selection(6, 12) == (["c", "a"], 13)


def test_points_ballots_are_left_to_the_exact_engine():
    instance = Instance(10, (Project("a", 4), Project("b", 6)))
    engine = _engine(instance, PointsProfile.from_ballots([{"a": 2, "b": 1}, {"b": 3}]))
    assert float_selection(engine, Fraction(5), 10) is None


def _assert_proven_in_batches(file_name: str, last_k: int, every: int) -> None:
    """Shares first + 3 to first + last_k in batches of 16, as Add1 reads its changing blocks: every one answered
    in floats, and every every-th answer the exact engine's."""
    election = read_file(DATA / file_name)
    instance, profile = election.instance(), election.profile()
    engine = _engine(instance, profile)
    first = Fraction(instance.budget, profile.voter_count)
    shares = [first + k for k in range(3, last_k + 1)]
    found = []
    for start in range(0, len(shares), 16):
        found += float_selections(engine, shares[start : start + 16], instance.budget)
    assert None not in found
    for share, selection in zip(shares[::every], found[::every]):
        exact = run_equal_shares(engine, share, spend_limit=instance.budget)
        assert selection == (exact.selected(), exact.spent)


def test_floats_prove_every_share_of_a_real_add1_scan_in_batches():
    _assert_proven_in_batches("Poland_Wieliczka_2023_Green_Budget.pb", 150, 3)


def test_errors_kept_per_group_let_floats_prove_every_share_of_a_hundred_round_election():
    """Toulouse 2024 funds over a hundred projects a run. With one error bound for all the money, grown every
    round, near keys could not be told apart by the end, and one share in twenty went to the exact engine."""
    _assert_proven_in_batches("France_Toulouse_2024.pb", 194, 16)


def test_floats_prove_nearly_every_share_of_a_real_add1_scan():
    """Wieliczka 2023: the exact engine's selection at every share Add1 reads, and floats proving most of them."""
    election = read_file(DATA / "Poland_Wieliczka_2023_Green_Budget.pb")
    instance, profile = election.instance(), election.profile()
    engine = _engine(instance, profile)
    first = Fraction(instance.budget, profile.voter_count)
    answered = 0
    for k in range(0, 151, 5):
        found = float_selection(engine, first + k, instance.budget)
        exact = run_equal_shares(engine, first + k, spend_limit=instance.budget)
        if found is not None:
            answered += 1
            assert found == (exact.selected(), exact.spent)
    assert answered >= 28, f"floats proved only {answered} of 31 shares"


def test_a_lone_run_reuses_a_quote_until_one_of_its_supporters_pays():
    """a and b share a supporter, c has supporters of its own: paying for c leaves a's quote as it was (the same
    quote is used again), paying for b changes a's supporters' money, and a is quoted afresh."""
    instance = Instance(30, (Project("a", 6), Project("b", 4), Project("c", 2)))
    profile = ApprovalProfile.from_ballots([{"a", "b"}, {"a"}, {"a"}, {"b"}, {"c"}, {"c"}])
    engine = _engine(instance, profile)
    a, b, c = (engine.ids.index(project_id) for project_id in "abc")
    run = equal_shares_float._Run(equal_shares_float._Batch(engine, [0], [Fraction(5)]), 0)
    first = run.quote(a)
    assert first is not None and first.price == 2.0
    run.pay(run.quote(c))
    assert run.quote(a) is first
    run.pay(run.quote(b))  # its two supporters pay 2 each: a's shared supporter has 3 left
    again = run.quote(a)
    assert again is not first and again.price == 2.0 and again.key == first.key
    run.pay(equal_shares_float._Quote(b, 0.0, 0.0, 3.0, 0.0, None, 0.0))  # b's supporters pay 3 more each
    assert run.quote(a).price == 3.0  # the shared supporter has nothing left: the other two pay 6 between them


def test_runs_that_bought_the_same_projects_in_another_order_run_together_again(monkeypatch):
    """Wieliczka 2023: neighbouring shares fund the same projects in different orders. Their runs part where the
    orders differ and run as one batch again once they have bought the same projects; every answer is exact."""
    election = read_file(DATA / "Poland_Wieliczka_2023_Green_Budget.pb")
    instance, profile = election.instance(), election.profile()
    engine = _engine(instance, profile)
    first = Fraction(instance.budget, profile.voter_count)
    shares = [first + k for k in range(3, 35)]
    merges = []
    merged = equal_shares_float._Batch.merged.__func__

    def counted(cls, members):
        merges.append(sum(member.width for member in members))
        return merged(cls, members)

    monkeypatch.setattr(equal_shares_float._Batch, "merged", classmethod(counted))
    found = float_selections(engine, shares, instance.budget)
    assert len(merges) >= 10 and max(merges) >= 8, merges
    for share, selection in zip(shares, found):
        exact = run_equal_shares(engine, share, spend_limit=instance.budget)
        assert selection == (exact.selected(), exact.spent)
