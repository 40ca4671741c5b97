"""Setting a cycle's and a district's ballot design, the counting rules that fit it, and the frozen fingerprint."""

import hashlib
import json
from dataclasses import replace

import pytest
from sqlalchemy import select

from pb.domain.ballots import APPROVAL, CUMULATIVE, KNAPSACK, RANKING, BallotDesign, CategoryLimit
from pb.domain.ballot_words import describe
from pb.domain.cycle import Phase
from pb.domain.errors import PermissionDenied, PhaseError, ValidationError
from pb.extensions import db
from pb.models import Cycle, District, Proposal, Role
from pb.services import ballot_designs, cycles, moderation
from pb.services.cycles import CycleSettings

DESIGNING = (Phase.DRAFT, Phase.PROPOSALS, Phase.SUPPORTS, Phase.REVIEW)
FROZEN = (Phase.VOTING, Phase.TALLYING, Phase.RESULTS, Phase.CLOSED)
POINTS = BallotDesign(kind=CUMULATIVE, min_projects=1, max_projects=4, points=10, max_points_per_project=5)


@pytest.fixture
def official(make_user):
    return make_user(Role.OFFICIAL)


def _stored(cycle_id: int) -> Cycle:
    db.session.expire_all()
    return db.session.get(Cycle, cycle_id)


@pytest.mark.parametrize("phase", DESIGNING)
def test_an_official_sets_the_cycles_design_before_voting_opens(official, make_cycle, audit_log, phase):
    cycle = make_cycle(phase)
    green = cycle.categories[0].id
    design = replace(POINTS, category_limits=(CategoryLimit(green, max_projects=2, max_share_percent=50),))
    ballot_designs.save_cycle_design(official, cycle.id, design)
    stored = _stored(cycle.id)
    assert (stored.ballot_design, stored.min_projects, stored.max_projects) == (CUMULATIVE, 1, 4)
    assert json.loads(stored.ballot_settings) == {
        "min_spend_percent": 0, "points": 10, "max_points_per_project": 5,
        "category_limits": [{"category_id": green, "max_projects": 2, "max_share_percent": 50}]}
    assert ballot_designs.cycle_design(stored) == design
    [(actor_id, action, subject, before, after)] = audit_log("set-ballot-design")
    assert (actor_id, subject, before["kind"], after["kind"], after["points"]) == (
        official.id, f"cycle:{cycle.id}", KNAPSACK, CUMULATIVE, 10)


def test_settings_a_design_does_not_use_are_not_stored(official, make_cycle):
    cycle = make_cycle()
    ballot_designs.save_cycle_design(official, cycle.id, BallotDesign(kind=APPROVAL, max_projects=5, points=10,
                                                                      min_spend_percent=40))
    assert json.loads(_stored(cycle.id).ballot_settings) == {
        "min_spend_percent": 0, "points": 0, "max_points_per_project": None, "category_limits": []}


def test_saving_the_same_design_again_writes_no_audit_entry(official, make_cycle, audit_log):
    cycle = make_cycle()
    ballot_designs.save_cycle_design(official, cycle.id, POINTS)
    ballot_designs.save_cycle_design(official, cycle.id, POINTS)
    assert len(audit_log("set-ballot-design")) == 1


@pytest.mark.parametrize("role", [Role.RESIDENT, Role.MODERATOR])
def test_only_officials_set_a_ballot(make_user, make_cycle, snapshot, role):
    cycle, someone = make_cycle(), make_user(role)
    before = snapshot()
    with pytest.raises(PermissionDenied):
        ballot_designs.save_cycle_design(someone, cycle.id, POINTS)
    with pytest.raises(PermissionDenied):
        ballot_designs.save_district_design(someone, cycle.districts[0].id, POINTS)
    assert snapshot() == before


@pytest.mark.parametrize("phase", FROZEN)
def test_the_ballot_cannot_change_once_voting_has_opened(official, make_cycle, snapshot, phase):
    cycle = make_cycle(phase)
    before = snapshot()
    with pytest.raises(PhaseError) as refused:
        ballot_designs.save_cycle_design(official, cycle.id, POINTS)
    assert "froze when voting opened" in refused.value.message
    with pytest.raises(PhaseError):
        ballot_designs.save_district_design(official, cycle.districts[0].id, POINTS)
    with pytest.raises(PhaseError):
        ballot_designs.save_district_design(official, cycle.districts[0].id, None)
    assert snapshot() == before


@pytest.mark.parametrize(("design", "words"), [
    (BallotDesign(kind="plurality"), "Choose one of the ballot designs."),
    (BallotDesign(kind=RANKING), "Say how many projects a voter may rank."),
    (BallotDesign(kind=CUMULATIVE), "points to spread"),
    (replace(POINTS, max_points_per_project=11), "The most points on one project"),
    (BallotDesign(kind=KNAPSACK, min_spend_percent=101), "between 0 and 100%"),
    (BallotDesign(kind=APPROVAL, min_projects=3, max_projects=2), "cannot be fewer than the least"),
    (BallotDesign(kind=APPROVAL, max_projects=10**30), "between 1 and"),
    (BallotDesign(category_limits=(CategoryLimit(999_999, max_projects=1),)), "a category this cycle does not have"),
    (BallotDesign(category_limits=(CategoryLimit(0, max_share_percent=-5),)), "a category this cycle does not have"),
])
def test_a_design_a_city_cannot_use_is_refused_and_changes_nothing(official, make_cycle, snapshot, design, words):
    cycle = make_cycle()
    before = snapshot()
    with pytest.raises(ValidationError) as refused:
        ballot_designs.save_cycle_design(official, cycle.id, design)
    assert words in refused.value.message
    with pytest.raises(ValidationError):
        ballot_designs.save_district_design(official, cycle.districts[0].id, design)
    assert snapshot() == before


def test_a_design_the_counting_rule_cannot_count_is_refused_naming_both(official, make_cycle, snapshot):
    cycle = make_cycle(rule="mes-add1")
    before = snapshot()
    with pytest.raises(ValidationError) as refused:
        ballot_designs.save_cycle_design(official, cycle.id, BallotDesign(kind=RANKING, max_projects=3))
    assert "Method of Equal Shares" in refused.value.message and "Ranking" in refused.value.message
    with pytest.raises(ValidationError) as refused:
        ballot_designs.save_district_design(official, cycle.districts[1].id, BallotDesign(kind=RANKING, max_projects=3))
    assert "South" in refused.value.message
    assert snapshot() == before


def test_a_district_gets_a_ballot_of_its_own_and_back_the_cycles(official, make_cycle, audit_log):
    cycle = make_cycle()
    south = cycle.districts[1]
    ballot_designs.save_district_design(official, south.id, BallotDesign(kind=RANKING, max_projects=3))
    db.session.expire_all()
    south = db.session.get(District, south.id)
    assert ballot_designs.has_own_design(south)
    assert ballot_designs.district_design(south).kind == RANKING
    assert ballot_designs.district_design(south.cycle.districts[0]).kind == KNAPSACK  # North keeps the cycle's
    ballot_designs.save_district_design(official, south.id, None)
    db.session.expire_all()
    south = db.session.get(District, south.id)
    assert south.ballot_settings is None and ballot_designs.district_design(south).kind == KNAPSACK
    [first, second] = audit_log("set-district-ballot-design")
    assert (first[2], first[3]["own_ballot"], first[4]["own_ballot"], first[4]["kind"]) == (
        f"district:{south.id}", False, True, RANKING)
    assert (second[3]["kind"], second[4]["own_ballot"], second[4]["kind"]) == (RANKING, False, KNAPSACK)


def _settings_of(cycle: Cycle, **changes) -> CycleSettings:
    return replace(CycleSettings(name=cycle.name, total_budget=cycle.total_budget, rule=cycle.rule,
                                 min_projects=cycle.min_projects, max_projects=cycle.max_projects), **changes)


def test_the_counting_rule_must_fit_the_cycles_ballot(official, make_cycle, snapshot):
    cycle = make_cycle(ballot_design=RANKING, max_projects=3)
    before = snapshot()
    with pytest.raises(ValidationError) as refused:
        cycles.update_cycle(official, cycle.id, _settings_of(cycle, rule="mes-add1"))
    assert "cannot count a ballot of this design" in refused.value.message
    assert snapshot() == before


def test_the_counting_rule_must_fit_every_districts_own_ballot(official, make_cycle, snapshot):
    cycle = make_cycle()
    ballot_designs.save_district_design(official, cycle.districts[1].id, BallotDesign(kind=RANKING, max_projects=3))
    cycle = _stored(cycle.id)
    before = snapshot()
    with pytest.raises(ValidationError) as refused:
        cycles.update_cycle(official, cycle.id, _settings_of(cycle, rule="mes-add1"))
    assert "the ballot of South" in refused.value.message
    assert snapshot() == before
    assert ballot_designs.fitting_rules(cycle) == {"greedy", "greedy-no-skip"}


def test_a_ranking_cycles_settings_keep_its_number_of_ranks(official, make_cycle, snapshot):
    cycle = make_cycle(ballot_design=RANKING, max_projects=3)
    before = snapshot()
    with pytest.raises(ValidationError) as refused:
        cycles.update_cycle(official, cycle.id, _settings_of(cycle, max_projects=None))
    assert "Say how many projects a voter may rank." in refused.value.message
    assert snapshot() == before
    cycles.update_cycle(official, cycle.id, _settings_of(cycle, max_projects=4))
    assert ballot_designs.cycle_design(_stored(cycle.id)).max_projects == 4


def test_a_fitting_rule_is_kept(official, make_cycle):
    cycle = make_cycle(ballot_design=CUMULATIVE, ballot_settings='{"points": 10}')
    cycles.update_cycle(official, cycle.id, _settings_of(cycle, rule="mes-add1"))
    assert _stored(cycle.id).rule == "mes-add1"


# -- The frozen fingerprint -----------------------------------------------------------------------------------------


def _open_voting(official, cycle_id: int) -> None:
    cycles.advance_phase(official, cycle_id, Phase.REVIEW, "The review is done.")


def test_the_fingerprint_is_the_sha256_of_the_settings_text_and_holds_across_the_opening(
        official, make_cycle, make_project):
    cycle = make_cycle(Phase.REVIEW)
    for district in cycle.districts:
        make_project(cycle, district, cost=20_000)
    ballot_designs.save_cycle_design(official, cycle.id, POINTS)
    expected = hashlib.sha256(ballot_designs.settings_text(_stored(cycle.id))).hexdigest()
    assert ballot_designs.fingerprint(_stored(cycle.id)) is None  # nothing is frozen before voting opens
    _open_voting(official, cycle.id)
    stored = _stored(cycle.id)
    assert stored.phase is Phase.VOTING and stored.frozen_settings_sha256 == expected
    document = json.loads(ballot_designs.settings_text(stored))
    assert document["districts"][0]["ballot"]["points"] == 10 and document["districts"][0]["projects"][0]["cost"] == 20_000
    printed = ballot_designs.fingerprint(stored)
    assert printed.frozen == printed.current == expected and printed.is_intact


def test_a_change_behind_the_apps_back_shows_in_the_fingerprint(official, make_cycle, make_project):
    cycle = make_cycle(Phase.REVIEW)
    project = make_project(cycle, cost=20_000)
    make_project(cycle, cycle.districts[1])
    _open_voting(official, cycle.id)
    db.session.execute(Proposal.__table__.update().where(Proposal.id == project.id).values(final_cost=25_000))
    db.session.commit()
    printed = ballot_designs.fingerprint(_stored(cycle.id))
    assert not printed.is_intact and printed.current != printed.frozen


@pytest.mark.parametrize("phase", FROZEN)
def test_nothing_in_the_settings_document_changes_through_the_app_once_voting_opens(
        official, make_user, make_cycle, make_project, make_proposal, snapshot, phase):
    cycle = make_cycle(phase)
    project = make_project(cycle)
    pending = make_proposal(cycle)
    moderator = make_user(Role.MODERATOR)
    before = snapshot()
    attempts = [
        lambda: moderation.accept(moderator, pending.id, 10_000, version=pending.version),
        lambda: moderation.reject(moderator, project.id, "No.", version=project.version),
        lambda: cycles.change_district_budget(official, cycle.districts[0].id, 1),
        lambda: cycles.add_district(official, cycle.id, "East", 10),
        lambda: cycles.remove_district(official, cycle.districts[1].id),
        lambda: cycles.update_cycle(official, cycle.id, _settings_of(cycle, rule="mes-add1")),
        lambda: ballot_designs.save_cycle_design(official, cycle.id, POINTS),
        lambda: ballot_designs.save_district_design(official, cycle.districts[0].id, POINTS),
    ]
    for attempt in attempts:
        with pytest.raises(PhaseError):
            attempt()
    assert snapshot() == before


# -- In words -------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("design", "sentences"), [
    (BallotDesign(kind=KNAPSACK), ["Choose projects costing up to 100,000 EUR in all."]),
    (BallotDesign(kind=KNAPSACK, min_spend_percent=50),
     ["Choose projects costing up to 100,000 EUR in all, spending at least 50%."]),
    (BallotDesign(kind=APPROVAL, max_projects=5), ["Choose up to 5 projects, whatever they cost."]),
    (BallotDesign(kind=APPROVAL, min_projects=2), ["Choose as many projects as you like, whatever they cost.",
                                                   "Choose at least 2 projects."]),
    (POINTS, ["Spread 10 points among the projects, at most 5 on one.", "Give points to at most 4 projects."]),
    (BallotDesign(kind=RANKING, max_projects=3), ["Rank up to 3 projects: the first scores 3 points, the last 1."]),
    (BallotDesign(category_limits=(CategoryLimit(7, max_projects=2), CategoryLimit(8, max_share_percent=50))),
     ["Choose projects costing up to 100,000 EUR in all.", "In Streets: at most 2 projects.",
      "In Parks: projects costing at most 50% of the budget (50,000 EUR) in all."]),
])
def test_each_design_reads_in_plain_words(design, sentences):
    assert describe(design, 10_000_000, "EUR", {7: "Streets", 8: "Parks"}) == sentences


# -- The counting rules officials choose among -----------------------------------------------------------------------


@pytest.mark.parametrize(("rule", "funded"), [
    ("greedy", ["big", "small"]),  # mid (500 EUR) no longer fits and is skipped; small still does
    ("greedy-no-skip", ["big"]),  # the count stops at mid
    ("mes", ["big"]),  # each of the 5 voters holds 200 EUR: big's 3 pay 600; mid's 2 hold only 400 for 500
    ("mes-add1", ["big", "small"]),
])
def test_each_offered_rule_counts_a_cycle(official, make_user, make_cycle, make_project, verify, rule, funded):
    from pb.models import TallyRun
    from pb.services import tallying, voting
    from tests.conftest import close_voting

    assert rule in cycles.RULE_NAMES
    cycle = make_cycle(Phase.VOTING, rule=rule)
    north, south = cycle.districts
    big, mid, small = (make_project(cycle, north, cost=cost, title=title)
                       for cost, title in [(60_000, "big"), (50_000, "mid"), (30_000, "small")])
    make_project(cycle, south)
    for choice in [[big, small], [big], [big], [mid], [mid]]:
        resident = make_user()
        verify(resident, north)
        voting.cast_ballot(resident, cycle.id, north.id, [project.id for project in choice])
    close_voting(cycle)
    tallying.run_tally(official, cycle.id)
    db.session.expire_all()
    run = db.session.scalar(select(TallyRun).where(TallyRun.district_id == north.id))
    assert run.rule == rule
    assert [result.project.title for result in run.results if result.is_funded] == funded
