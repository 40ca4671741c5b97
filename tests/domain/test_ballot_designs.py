"""Each ballot design's rules, as properties: valid ballots pass, each kind of broken ballot is refused in words,
designs and sealed envelopes round-trip."""

import json
import os
import struct
from dataclasses import replace

import pytest
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from pb.domain import sealing
from pb.domain.ballots import (
    APPROVAL,
    CUMULATIVE,
    DESIGNS,
    KNAPSACK,
    LARGEST_SETTING,
    RANKING,
    BallotDesign,
    BallotRules,
    CategoryLimit,
    check,
    design_problems,
    problems,
)
from pb.domain.errors import BallotError, ValidationError

CATEGORY_IDS = (1, 2, 3)
NAMES = {1: "Streets", 2: "Green spaces", 3: "Culture"}
PROPERTY = settings(max_examples=150, deadline=None)


@st.composite
def ballot_projects(draw):
    """The projects on one district's ballot: ids, costs in cents, and a category (or none) each."""
    ids = draw(st.lists(st.integers(1, 2**31), min_size=1, max_size=12, unique=True))
    costs = {project_id: draw(st.integers(1, 10**8)) for project_id in ids}
    categories = {project_id: draw(st.sampled_from((None, *CATEGORY_IDS))) for project_id in ids}
    return costs, categories


class Case:
    """A ballot, the projects it is checked against and the rules in force: valid when drawn by `valid_cases`."""

    def __init__(self, ballot, costs, categories, budget, design):
        self.ballot, self.costs, self.categories, self.budget, self.design = ballot, costs, categories, budget, design

    @property
    def rules(self) -> BallotRules:
        return BallotRules(budget=self.budget, currency="EUR", design=self.design)

    @property
    def counted(self) -> list[int]:
        return [project_id for project_id, value in self.ballot.items() if value > 0]

    @property
    def total(self) -> int:
        return sum(self.costs[project_id] for project_id in self.counted)

    def spent_in(self, category_id: int) -> tuple[int, int]:
        inside = [p for p in self.counted if self.categories[p] == category_id]
        return len(inside), sum(self.costs[p] for p in inside)

    def but(self, **changes) -> "Case":
        ballot = changes.pop("ballot", self.ballot)
        budget = changes.pop("budget", self.budget)
        return Case(ballot, self.costs, self.categories, budget, replace(self.design, **changes))

    def problems(self) -> list[str]:
        return problems(self.ballot, self.costs, self.rules, self.categories, NAMES)

    def check(self) -> dict[int, int]:
        return check(self.ballot, self.costs, self.rules, self.categories, NAMES)


def _least_share(spent: int, budget: int) -> int | None:
    """The smallest whole share of the budget that covers `spent`, or None when even all of it does not."""
    if budget <= 0:
        return None
    share = -(-spent * 100 // budget)
    return share if share <= 100 else None


@st.composite
def valid_cases(draw, kind):
    costs, categories = draw(ballot_projects())
    ids = sorted(costs)
    chosen = draw(st.lists(st.sampled_from(ids), min_size=1, unique=True))
    points = max_points = 0
    if kind == CUMULATIVE:
        ballot = {project_id: draw(st.integers(1, 1000)) for project_id in chosen}
        others = [project_id for project_id in ids if project_id not in ballot]
        if others:  # a project left at 0 points is not chosen
            ballot.update(dict.fromkeys(draw(st.lists(st.sampled_from(others), unique=True)), 0))
        points = sum(ballot.values()) + draw(st.integers(0, 1000))
        max_points = draw(st.one_of(st.none(), st.integers(max(ballot.values()), points)))
    elif kind == RANKING:
        ballot = {project_id: rank for rank, project_id in enumerate(draw(st.permutations(chosen)), start=1)}
    else:
        ballot = dict.fromkeys(chosen, 1)
    total = sum(costs[project_id] for project_id in chosen)
    budget = total + draw(st.integers(0, 10**8)) if kind == KNAPSACK else draw(st.integers(1, 10**9))
    least = draw(st.integers(1, len(chosen)))
    if kind == RANKING:
        most = draw(st.integers(len(chosen), 50))
    else:
        most = draw(st.one_of(st.none(), st.integers(len(chosen), 50)))
    spend = 0
    if kind == KNAPSACK:
        spend = draw(st.integers(0, max(p for p in range(101) if -(-budget * p // 100) <= total)))
    limits = []
    for category_id in draw(st.lists(st.sampled_from(CATEGORY_IDS), unique=True)):
        inside = [p for p in chosen if categories[p] == category_id]
        share = _least_share(sum(costs[p] for p in inside), budget)
        limit_projects = draw(st.one_of(st.none(), st.integers(len(inside), 20)))
        limit_share = None if share is None else draw(st.one_of(st.none(), st.integers(share, 100)))
        if limit_projects is None and limit_share is None:
            limit_projects = len(inside)
        limits.append(CategoryLimit(category_id, limit_projects, limit_share))
    design = BallotDesign(kind=kind, min_projects=least, max_projects=most, min_spend_percent=spend, points=points,
                          max_points_per_project=max_points, category_limits=tuple(limits))
    return Case(ballot, costs, categories, budget, design)


def any_valid_case():
    return st.sampled_from(DESIGNS).flatmap(valid_cases)


def assert_refused(case: Case, words: str) -> list[str]:
    """The case's ballot has a problem saying `words`, and check() refuses it carrying every problem."""
    found = case.problems()
    assert any(words in problem for problem in found), found
    with pytest.raises(BallotError) as refused:
        case.check()
    assert refused.value.problems == found
    return found


# --- valid ballots --------------------------------------------------------------------------------------------------

@PROPERTY
@given(any_valid_case())
def test_a_valid_ballot_of_any_design_has_no_problem_and_check_returns_it_without_zero_points(case):
    assert design_problems(case.design, CATEGORY_IDS) == []
    assert case.problems() == []
    assert case.check() == {project_id: value for project_id, value in case.ballot.items() if value > 0}


@PROPERTY
@given(valid_cases(APPROVAL))
def test_an_approval_ballot_may_cost_more_than_the_budget(case):
    over = case.but(budget=max(0, case.total - 1), category_limits=())
    assert over.problems() == []


@PROPERTY
@given(valid_cases(KNAPSACK))
def test_a_plain_list_of_choices_is_the_same_knapsack_ballot(case):
    assert problems(list(case.ballot), case.costs, case.rules, case.categories, NAMES) == []
    assert check(list(case.ballot), case.costs, case.rules, case.categories, NAMES) == case.ballot


# --- each kind of broken ballot -------------------------------------------------------------------------------------

@PROPERTY
@given(valid_cases(KNAPSACK), st.data())
def test_a_knapsack_ballot_over_the_budget_is_refused(case, data):
    over = case.but(budget=case.total - data.draw(st.integers(1, case.total)), min_spend_percent=0, category_limits=())
    assert_refused(over, "more than the budget of")


@PROPERTY
@given(valid_cases(KNAPSACK), st.data())
def test_a_knapsack_ballot_spending_less_than_the_minimum_share_is_refused(case, data):
    short = case.but(budget=case.total + data.draw(st.integers(1, 10**8)), min_spend_percent=100, category_limits=())
    assert_refused(short, "a ballot must spend at least")


_TOO_FEW = {KNAPSACK: "Choose at least", APPROVAL: "Choose at least", CUMULATIVE: "Give points to at least",
            RANKING: "Rank at least"}
_TOO_MANY = {KNAPSACK: "Choose at most", APPROVAL: "Choose at most", CUMULATIVE: "Give points to at most",
             RANKING: "Rank at most"}


@PROPERTY
@given(any_valid_case())
def test_a_ballot_with_too_few_projects_is_refused(case):
    count = len(case.counted)
    most = None if case.design.max_projects is None else max(case.design.max_projects, count + 1)
    found = assert_refused(case.but(min_projects=count + 1, max_projects=most),
                           f"{_TOO_FEW[case.design.kind]} {count + 1} projects")
    assert len(found) == 1


@PROPERTY
@given(any_valid_case(), st.data())
def test_a_ballot_with_too_many_projects_is_refused(case, data):
    count = len(case.counted)
    assume(count >= 2)
    most = data.draw(st.integers(1, count - 1))
    assert_refused(case.but(min_projects=1, max_projects=most), f"{_TOO_MANY[case.design.kind]} {most} project")


@PROPERTY
@given(any_valid_case())
def test_an_empty_ballot_is_refused(case):
    assert_refused(case.but(ballot={}), "at least one project")


@PROPERTY
@given(any_valid_case(), st.integers(1, 2**31))
def test_a_choice_that_is_not_on_the_ballot_is_refused(case, stranger):
    assume(stranger not in case.costs)
    value = 1 if case.design.kind != RANKING else len(case.ballot) + 1
    found = assert_refused(case.but(ballot={**case.ballot, stranger: value}, max_projects=None, min_projects=1),
                           "not projects on this ballot")
    if case.design.kind != CUMULATIVE:
        assert len(found) == 1


@PROPERTY
@given(st.sampled_from((KNAPSACK, APPROVAL)).flatmap(valid_cases), st.integers().filter(lambda value: value != 1),
       st.data())
def test_a_knapsack_or_approval_choice_is_made_or_not(case, value, data):
    project_id = data.draw(st.sampled_from(sorted(case.ballot)))
    assert_refused(case.but(ballot={**case.ballot, project_id: value}), "A choice is either made or not")


@PROPERTY
@given(valid_cases(CUMULATIVE), st.data())
def test_more_points_than_each_voter_has_are_refused(case, data):
    given_points = sum(case.ballot.values())
    assume(given_points >= 2)
    points = data.draw(st.integers(1, given_points - 1))
    found = assert_refused(case.but(points=points, max_points_per_project=None),
                           f"You gave {given_points:,} points, {given_points - points:,} more than the {points:,}")
    assert len(found) == 1


@PROPERTY
@given(valid_cases(CUMULATIVE), st.data())
def test_more_points_on_one_project_than_the_cap_are_refused(case, data):
    most = max(case.ballot.values())
    assume(most >= 2)
    cap = data.draw(st.integers(1, most - 1))
    found = assert_refused(case.but(max_points_per_project=cap), f"At most {cap:,} points may go to one project")
    assert len(found) == 1


@PROPERTY
@given(valid_cases(CUMULATIVE), st.integers(-10**6, -1), st.data())
def test_negative_points_are_refused(case, negative, data):
    project_id = data.draw(st.sampled_from(sorted(case.ballot)))
    assert_refused(case.but(ballot={**case.ballot, project_id: negative}, min_projects=1),
                   "Points cannot be fewer than 0.")


@PROPERTY
@given(valid_cases(RANKING), st.data())
def test_two_projects_sharing_a_rank_are_refused(case, data):
    assume(len(case.ballot) >= 2)
    first, second = data.draw(st.lists(st.sampled_from(sorted(case.ballot)), min_size=2, max_size=2, unique=True))
    found = assert_refused(case.but(ballot={**case.ballot, second: case.ballot[first]}),
                           f"Two projects share rank {case.ballot[first]}")
    assert len(found) == 1


@PROPERTY
@given(valid_cases(RANKING), st.data())
def test_a_gap_in_the_ranks_is_refused(case, data):
    missing = data.draw(st.integers(1, len(case.ballot)))
    shifted = {project_id: rank + (rank >= missing) for project_id, rank in case.ballot.items()}
    found = assert_refused(case.but(ballot=shifted, max_projects=case.design.max_projects + 1),
                           f"Rank {missing} is missing")
    assert len(found) == 1


@PROPERTY
@given(valid_cases(RANKING), st.integers(1, 10), st.data())
def test_a_rank_beyond_the_number_of_ranks_is_refused(case, beyond, data):
    project_id = data.draw(st.sampled_from(sorted(case.ballot)))
    ranks = case.design.max_projects
    found = case.but(ballot={**case.ballot, project_id: ranks + beyond}).problems()
    assert found
    with pytest.raises(BallotError):
        case.but(ballot={**case.ballot, project_id: ranks + beyond}).check()


@PROPERTY
@given(valid_cases(RANKING), st.integers(-10, 0), st.data())
def test_ranks_start_at_one(case, rank, data):
    project_id = data.draw(st.sampled_from(sorted(case.ballot)))
    assert_refused(case.but(ballot={**case.ballot, project_id: rank}), "Ranks start at 1")


@PROPERTY
@given(any_valid_case(), st.data())
def test_too_many_projects_in_a_category_are_refused(case, data):
    category_id = data.draw(st.sampled_from(CATEGORY_IDS))
    count, _ = case.spent_in(category_id)
    assume(count >= 1)
    most = data.draw(st.integers(0, count - 1))
    limit = CategoryLimit(category_id, max_projects=most)
    found = assert_refused(case.but(category_limits=(limit,)), f"may be chosen in {NAMES[category_id]}")
    assert len(found) == 1


@PROPERTY
@given(any_valid_case(), st.data())
def test_more_than_a_categorys_share_of_the_budget_is_refused(case, data):
    category_id = data.draw(st.sampled_from(CATEGORY_IDS))
    count, spent = case.spent_in(category_id)
    assume(count >= 1)
    fits = [share for share in range(101) if case.budget * share // 100 < spent]
    share = data.draw(st.sampled_from(fits))
    limit = CategoryLimit(category_id, max_share_percent=share)
    found = assert_refused(case.but(category_limits=(limit,)), f"Your choices in {NAMES[category_id]} cost")
    assert len(found) == 1


# --- what a ballot counts for ---------------------------------------------------------------------------------------

@PROPERTY
@given(any_valid_case())
def test_scores_are_one_per_choice_the_points_or_the_rank_score(case):
    scores = case.design.scores(case.check())
    kind = case.design.kind
    if kind == RANKING:
        ranks = case.design.max_projects
        assert scores == {project_id: ranks - rank + 1 for project_id, rank in case.ballot.items()}
        assert all(1 <= score <= ranks for score in scores.values())
    elif kind == CUMULATIVE:
        assert scores == {project_id: value for project_id, value in case.ballot.items() if value > 0}
        assert sum(scores.values()) <= case.design.points
    else:
        assert scores == dict.fromkeys(case.ballot, 1)


def test_rank_scores_count_like_krakow():
    design = BallotDesign(kind=RANKING, max_projects=3)
    assert design.scores({10: 1, 20: 2, 30: 3}) == {10: 3, 20: 2, 30: 1}


# --- designs --------------------------------------------------------------------------------------------------------

def designs():
    limits = st.builds(CategoryLimit, st.integers(0, 10**6), st.one_of(st.none(), st.integers(-5, 10**6)),
                       st.one_of(st.none(), st.integers(-5, 200)))
    whole = st.integers(-5, 2 * LARGEST_SETTING)
    return st.builds(BallotDesign, kind=st.sampled_from((*DESIGNS, "plurality")), min_projects=whole,
                     max_projects=st.one_of(st.none(), whole), min_spend_percent=st.integers(-5, 200),
                     points=whole, max_points_per_project=st.one_of(st.none(), whole),
                     category_limits=st.lists(limits, max_size=4).map(tuple))


@PROPERTY
@given(designs())
def test_a_design_survives_its_json(design):
    assert BallotDesign.from_json(design.to_json()) == design
    assert BallotDesign.from_data(json.loads(design.to_json())) == design


_SCALAR = (st.none() | st.booleans() | st.integers() | st.floats() | st.sampled_from((float("inf"), float("-inf")))
           | st.text(max_size=5))
_JSON = st.recursive(
    _SCALAR,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3),
    max_leaves=10,
)
_SETTING_NAMES = ("kind", "min_projects", "max_projects", "min_spend_percent", "points", "max_points_per_project",
                  "category_limits", "category_id", "max_share_percent")


@PROPERTY
@given(st.one_of(
    _JSON.map(json.dumps),
    st.dictionaries(st.sampled_from(_SETTING_NAMES), _SCALAR | _JSON, max_size=5).map(json.dumps),
    st.fixed_dictionaries({"category_limits": st.lists(st.dictionaries(st.sampled_from(_SETTING_NAMES), _SCALAR))})
    .map(json.dumps),
    st.text(max_size=20),
))
def test_damaged_settings_are_a_validation_error_never_a_crash(text):
    try:
        design = BallotDesign.from_json(text)
    except ValidationError as refused:
        assert "damaged" in refused.message
    else:
        assert isinstance(design, BallotDesign)


@PROPERTY
@given(designs())
def test_design_problems_name_real_settings_and_check_design_agrees(design):
    found = design_problems(design, CATEGORY_IDS)
    assert {setting for setting, _ in found} <= set(_SETTING_NAMES)
    sensible = (
        design.kind in DESIGNS and 1 <= design.min_projects <= LARGEST_SETTING
        and (design.max_projects is None or design.min_projects <= design.max_projects <= LARGEST_SETTING)
        and (design.kind != KNAPSACK or 0 <= design.min_spend_percent <= 100)
        and (design.kind != RANKING or design.max_projects is not None)
        and (design.kind != CUMULATIVE or (
            1 <= design.points <= LARGEST_SETTING
            and (design.max_points_per_project is None or 1 <= design.max_points_per_project <= design.points)))
        and len({limit.category_id for limit in design.category_limits}) == len(design.category_limits)
        and all(limit.category_id in CATEGORY_IDS
                and (limit.max_projects is not None or limit.max_share_percent is not None)
                and (limit.max_projects is None or limit.max_projects >= 0)
                and (limit.max_share_percent is None or 0 <= limit.max_share_percent <= 100)
                for limit in design.category_limits)
    )
    assert (found == []) is sensible, found


@pytest.mark.parametrize(
    ("design", "setting"),
    [
        (BallotDesign(kind="plurality"), "kind"),
        (BallotDesign(min_projects=0), "min_projects"),
        (BallotDesign(min_projects=3, max_projects=2), "max_projects"),
        (BallotDesign(max_projects=LARGEST_SETTING + 1), "max_projects"),
        (BallotDesign(min_spend_percent=101), "min_spend_percent"),
        (BallotDesign(kind=RANKING), "max_projects"),
        (BallotDesign(kind=CUMULATIVE), "points"),
        (BallotDesign(kind=CUMULATIVE, points=10, max_points_per_project=11), "max_points_per_project"),
        (BallotDesign(category_limits=(CategoryLimit(99, max_projects=1),)), "category_limits"),
        (BallotDesign(category_limits=(CategoryLimit(1, max_projects=1), CategoryLimit(1, max_projects=2))),
         "category_limits"),
        (BallotDesign(category_limits=(CategoryLimit(1),)), "category_limits"),
        (BallotDesign(category_limits=(CategoryLimit(1, max_share_percent=101),)), "category_limits"),
    ],
    ids=["unknown-kind", "no-projects", "max-below-min", "max-too-large", "spend-over-100", "ranking-without-k",
         "cumulative-without-points", "cap-over-points", "unknown-category", "two-limits", "empty-limit",
         "share-over-100"],
)
def test_design_problems_refuse_bad_settings_by_name(design, setting):
    assert setting in [name for name, _ in design_problems(design, CATEGORY_IDS)]


@pytest.mark.parametrize(
    "design",
    [BallotDesign(), BallotDesign(kind=KNAPSACK, min_spend_percent=50, max_projects=5),
     BallotDesign(kind=APPROVAL, min_projects=2, max_projects=5),
     BallotDesign(kind=CUMULATIVE, points=10, max_points_per_project=5),
     BallotDesign(kind=RANKING, max_projects=3, category_limits=(CategoryLimit(1, 2, 50),))],
    ids=["default", "knapsack", "approval", "cumulative", "ranking"],
)
def test_design_problems_accept_the_designs_cities_use(design):
    assert design_problems(design, CATEGORY_IDS) == []


# --- sealed envelopes -----------------------------------------------------------------------------------------------

KEY = sealing.envelope_key("the-ballot-key")
TOKEN = "t" * 64
_BALLOTS = st.dictionaries(st.integers(1, 2**32 - 1), st.integers(0, 2**32 - 1), max_size=40)


@PROPERTY
@given(_BALLOTS, st.integers(0, 2**31))
def test_any_ballot_of_values_survives_its_envelope(ballot, version):
    slots = sealing.slots_for(len(ballot))
    envelope = sealing.seal(KEY, TOKEN, version, ballot, slots)
    assert sealing.unseal_values(KEY, TOKEN, version, envelope) == ballot
    assert sealing.unseal(KEY, TOKEN, version, envelope) == sorted(ballot)


@PROPERTY
@given(st.integers(0, 40), st.lists(_BALLOTS, min_size=1, max_size=5))
def test_an_envelope_has_one_size_per_slot_count_whatever_it_holds(project_count, ballots):
    slots = sealing.slots_for(project_count)
    sizes = {len(sealing.seal(KEY, TOKEN, 1, ballot, slots)) for ballot in ballots if len(ballot) <= slots}
    sizes.add(len(sealing.seal(KEY, TOKEN, 1, {}, slots)))
    assert sizes == {sealing.NONCE_BYTES + 5 + 8 * slots + 16}


def _format_one_envelope(token: str, version: int, ids: list[int], slots: int) -> bytes:
    """An envelope as sealed before ballot designs: layout byte 1, slots, count, then the ids, zero padded."""
    plaintext = struct.pack(f">BHH{len(ids)}I", 1, slots, len(ids), *ids) + bytes(4 * (slots - len(ids)))
    nonce = os.urandom(sealing.NONCE_BYTES)
    return nonce + AESGCM(KEY).encrypt(nonce, plaintext, f"pb-ballot|{token}|{version}".encode())


@PROPERTY
@given(st.lists(st.integers(1, 2**32 - 1), max_size=40, unique=True), st.integers(0, 2**31))
def test_an_envelope_of_ids_only_sealed_before_ballot_designs_opens_as_choices_of_value_one(ids, version):
    envelope = _format_one_envelope(TOKEN, version, ids, sealing.slots_for(len(ids)))
    assert sealing.unseal_values(KEY, TOKEN, version, envelope) == dict.fromkeys(ids, 1)
    assert sealing.unseal(KEY, TOKEN, version, envelope) == sorted(ids)
    with pytest.raises(sealing.SealError):
        sealing.unseal_values(KEY, "u" * 64, version, envelope)
