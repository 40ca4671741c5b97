"""Setting up a cycle and moving it through its phases, blockers included."""

from dataclasses import replace
from datetime import date, datetime, timedelta
from itertools import pairwise

import pytest
from sqlalchemy import select

from pb.domain.cycle import Phase
from pb.domain.errors import ConflictError, NotFound, PermissionDenied, PhaseError, ValidationError
from pb.extensions import db
from pb.models import Category, Cycle, District, ProposalStatus, Role, utcnow
from pb.services import cycles, publication, tallying
from pb.services.cycles import CycleSettings

SETTINGS = CycleSettings(name="Townsville 2027", total_budget=150_000)


@pytest.fixture
def official(make_user):
    return make_user(Role.OFFICIAL)


def _stored(cycle_id: int) -> Cycle:
    db.session.expire_all()
    return db.session.scalar(select(Cycle).where(Cycle.id == cycle_id))


def test_create_cycle_without_districts_gives_one_whole_city_district_with_the_whole_budget(official, audit_log):
    cycle = cycles.create_cycle(official, replace(SETTINGS, name="  Townsville 2027 "))
    stored = _stored(cycle.id)
    assert (stored.name, stored.phase, stored.total_budget) == ("Townsville 2027", Phase.DRAFT, 150_000)
    assert [(d.name, d.budget) for d in stored.districts] == [("Whole city", 150_000)]
    [(actor_id, action, subject, before, after)] = audit_log()
    assert (actor_id, action, subject, before) == (official.id, "create-cycle", f"cycle:{cycle.id}", {})
    assert (after["name"], after["total_budget"], after["rule"]) == ("Townsville 2027", 150_000, "greedy")


def test_create_cycle_with_districts_stores_each_with_its_budget(official):
    cycle = cycles.create_cycle(official, SETTINGS, districts=[("North", 100_000), (" South ", 50_000)])
    assert [(d.name, d.budget) for d in _stored(cycle.id).districts] == [("North", 100_000), ("South", 50_000)]


@pytest.mark.parametrize(
    ("settings", "districts", "message"),
    [
        (replace(SETTINGS, name="  "), None, "Give the cycle a name."),
        (replace(SETTINGS, name=" EXISTING cycle "), None, "Another cycle already has this name."),
        (replace(SETTINGS, currency="XYZ"), None, "Choose one of the listed currencies."),
        (replace(SETTINGS, rule="dictator"), None, "Choose one of the listed counting rules."),
        (replace(SETTINGS, total_budget=0), None, "The total budget must be more than zero."),
        (replace(SETTINGS, min_projects=0), None, "A ballot must allow at least one project."),
        (replace(SETTINGS, min_projects=3, max_projects=2), None, "cannot be fewer than the least"),
        (replace(SETTINGS, review_at=datetime(2027, 3, 1), voting_open_at=datetime(2027, 2, 1)), None,
         "The phase dates must be in order"),
        (SETTINGS, [("North", 100_000), ("north", 50_000)], "already has a district called “north”"),
        (SETTINGS, [("North", 0)], "A district's budget must be more than zero."),
        (SETTINGS, [(" ", 10)], "Give the district a name."),
    ],
)
def test_create_cycle_refuses_bad_settings_and_changes_nothing(official, make_cycle, snapshot, settings, districts, message):
    make_cycle(name="Existing cycle")
    before = snapshot()
    with pytest.raises(ValidationError, match=message):
        cycles.create_cycle(official, settings, districts=districts)
    assert snapshot() == before


def test_dates_in_order_with_gaps_are_accepted(official):
    settings = replace(SETTINGS, proposals_open_at=datetime(2027, 1, 1, 9), voting_open_at=datetime(2027, 3, 1, 9),
                       results_at=datetime(2027, 5, 1, 9))
    assert _stored(cycles.create_cycle(official, settings).id).voting_open_at == datetime(2027, 3, 1, 9)


@pytest.mark.parametrize("role", [Role.RESIDENT, Role.MODERATOR])
def test_only_officials_create_cycles(make_user, snapshot, role):
    actor = make_user(role)
    before = snapshot()
    with pytest.raises(PermissionDenied):
        cycles.create_cycle(actor, SETTINGS)
    assert snapshot() == before


def test_update_cycle_changes_the_settings_and_audits_before_and_after(official, make_cycle, audit_log):
    cycle = make_cycle(name="Old name")
    cycles.update_cycle(official, cycle.id, replace(SETTINGS, name="Old name", total_budget=200_000, max_projects=3))
    stored = _stored(cycle.id)
    assert (stored.name, stored.total_budget, stored.max_projects) == ("Old name", 200_000, 3)
    [(actor_id, action, _, before, after)] = audit_log()
    assert (actor_id, action) == (official.id, "update-cycle")
    assert (before["total_budget"], after["total_budget"], before["max_projects"], after["max_projects"]) == (150_000, 200_000, None, 3)


@pytest.mark.parametrize(
    ("case", "error"),
    [("resident", PermissionDenied), ("unknown-cycle", NotFound), ("name-clash", ValidationError)]
    + [(Phase.PROPOSALS, PhaseError), (Phase.CLOSED, PhaseError)],
    ids=str,
)
def test_update_cycle_refusals_change_nothing(official, make_user, make_cycle, snapshot, case, error):
    cycle = make_cycle(phase=case if isinstance(case, Phase) else Phase.DRAFT)
    make_cycle(name="Taken")
    actor = make_user() if case == "resident" else official
    cycle_id = 10_000 if case == "unknown-cycle" else cycle.id
    settings = replace(SETTINGS, name="taken" if case == "name-clash" else "New name")
    before = snapshot()
    with pytest.raises(error) as refused:
        cycles.update_cycle(actor, cycle_id, settings)
    assert snapshot() == before
    if isinstance(case, Phase):
        assert refused.value.message.endswith(f"This cycle is now: {case.label.lower()}.")


def test_add_district_and_category_store_them_and_audit(official, make_cycle, audit_log):
    cycle = make_cycle()
    district = cycles.add_district(official, cycle.id, " East ", 25_000)
    category = cycles.add_category(official, cycle.id, " Sport ")
    stored = _stored(cycle.id)
    assert [(d.name, d.budget) for d in stored.districts] == [("East", 25_000), ("North", 100_000), ("South", 50_000)]
    assert [c.name for c in stored.categories] == ["Green spaces", "Sport"]
    assert audit_log() == [
        (official.id, "add-district", f"district:{district.id}", {}, {"name": "East", "budget": 25_000}),
        (official.id, "add-category", f"category:{category.id}", {}, {"name": "Sport"}),
    ]


def test_remove_district_deletes_it_and_audits_what_it_was(official, make_cycle, audit_log):
    cycle = make_cycle()
    south = cycle.districts[1]
    cycles.remove_district(official, south.id)
    assert [d.name for d in _stored(cycle.id).districts] == ["North"]
    assert audit_log() == [(official.id, "remove-district", f"district:{south.id}", {"name": "South", "budget": 50_000}, {})]


@pytest.mark.parametrize(
    ("operation", "phase", "error", "message"),
    [
        ("add-district", Phase.PROPOSALS, PhaseError, "can only be changed while it is being prepared"),
        ("add-district", Phase.DRAFT, ValidationError, "already has a district called “north”"),
        ("add-district-zero", Phase.DRAFT, ValidationError, "budget must be more than zero"),
        ("add-district-elsewhere", Phase.DRAFT, NotFound, "no such cycle"),
        ("remove-district", Phase.VOTING, PhaseError, "can only be changed while it is being prepared"),
        ("remove-district-unknown", Phase.DRAFT, NotFound, "no such district"),
        ("add-category", Phase.REVIEW, PhaseError, "can only be changed while it is being prepared"),
        ("add-category", Phase.DRAFT, ValidationError, "already has a category called “green spaces”"),
        ("add-category-blank", Phase.DRAFT, ValidationError, "Give the category a name."),
        ("add-category-resident", Phase.DRAFT, PermissionDenied, "Only officials"),
    ],
)
def test_district_and_category_refusals_change_nothing(official, make_user, make_cycle, snapshot, operation, phase, error, message):
    cycle, resident = make_cycle(phase=phase), make_user()
    north = cycle.districts[0]
    calls = {
        "add-district": lambda: cycles.add_district(official, cycle.id, "north", 10),
        "add-district-zero": lambda: cycles.add_district(official, cycle.id, "East", 0),
        "add-district-elsewhere": lambda: cycles.add_district(official, 10_000, "East", 10),
        "remove-district": lambda: cycles.remove_district(official, north.id),
        "remove-district-unknown": lambda: cycles.remove_district(official, 10_000),
        "add-category": lambda: cycles.add_category(official, cycle.id, "green spaces"),
        "add-category-blank": lambda: cycles.add_category(official, cycle.id, " "),
        "add-category-resident": lambda: cycles.add_category(resident, cycle.id, "Sport"),
    }
    call = calls[operation]
    before = snapshot()
    with pytest.raises(error, match=message):
        call()
    assert snapshot() == before


REASON = "This test cycle has no published dates."


def _advance(actor, cycle_id, reason: str | None = REASON) -> Phase:
    """Move the cycle on from the phase it is in now, as a page showing that phase would."""
    return cycles.advance_phase(actor, cycle_id, _stored(cycle_id).phase, reason)


def _refused_advance(actor, cycle_id, snapshot) -> list[str]:
    before = snapshot()
    with pytest.raises(PhaseError) as refused:
        _advance(actor, cycle_id)
    assert snapshot() == before
    return refused.value.problems


def _set_status(proposals, status: ProposalStatus) -> None:
    for proposal in proposals:
        proposal.status = status
    db.session.commit()


def test_advance_phase_walks_the_whole_cycle_stopping_at_each_blocker(
    official, make_user, make_cycle, make_proposal, snapshot, audit_log
):
    cycle = make_cycle()
    north, south = cycle.districts
    assert _advance(official, cycle.id) is Phase.PROPOSALS
    assert _refused_advance(official, cycle.id, snapshot) == ["No proposal has been submitted yet."]

    waiting = [make_proposal(cycle, north), make_proposal(cycle, north), make_proposal(cycle, south)]
    assert _advance(official, cycle.id) is Phase.REVIEW
    assert _refused_advance(official, cycle.id, snapshot) == [
        "3 proposals are still waiting for review.", "No project is on the ballot in: North, South."
    ]
    _set_status(waiting[:1], ProposalStatus.ACCEPTED)
    _set_status(waiting[1:2], ProposalStatus.CHANGES_REQUESTED)
    assert _refused_advance(official, cycle.id, snapshot) == [
        "1 proposal is still waiting for review.",
        "1 proposal is still waiting for changes from the author (accept, reject or merge them).",
        "No project is on the ballot in: South.",
    ]
    _set_status(waiting[1:], ProposalStatus.ACCEPTED)
    assert cycles.blockers(_stored(cycle.id)) == []
    assert _advance(official, cycle.id) is Phase.VOTING
    assert _advance(official, cycle.id) is Phase.TALLYING
    assert _refused_advance(official, cycle.id, snapshot) == ["The votes have not been counted yet in: North, South."]

    tallying.run_tally(official, cycle.id)
    assert _refused_advance(official, cycle.id, snapshot) == [
        "The count needs the approval of 2 different officials before it is published; 0 of 2 have approved it."
    ]
    publication.approve_results(official, cycle.id)
    assert _refused_advance(official, cycle.id, snapshot)[0].endswith("1 of 2 have approved it.")
    publication.approve_results(make_user(Role.OFFICIAL), cycle.id)
    assert _advance(official, cycle.id) is Phase.RESULTS
    assert _advance(official, cycle.id) is Phase.CLOSED
    assert _refused_advance(official, cycle.id, snapshot) == ["The cycle is closed; there is no further phase."]

    assert _stored(cycle.id).phase is Phase.CLOSED
    order = [phase.value for phase in Phase if phase is not Phase.SUPPORTS]  # a cycle without the supports phase
    today = utcnow().date().isoformat()
    # Opening and closing voting with no published date departs from the timetable: the day is kept with the reason.
    off_timetable = {"voting": {"moved_on": today, "planned_on": None}, "tallying": {"moved_on": today, "planned_on": None}}
    assert audit_log("advance-phase") == [
        (official.id, "advance-phase", f"cycle:{cycle.id}", {"phase": old},
         {"phase": new, "reason": REASON, **off_timetable.get(new, {})})
        for old, new in pairwise(order)
    ]


def test_advance_phase_is_blocked_while_district_budgets_exceed_the_total(official, make_cycle, snapshot):
    cycle = make_cycle(total_budget=149_999)
    assert _refused_advance(official, cycle.id, snapshot) == [
        "The district budgets add up to more than the cycle's total budget."
    ]


def test_advance_phase_from_the_command_line_has_no_actor(make_cycle, audit_log):
    cycle = make_cycle()
    assert cycles.advance_phase(None, cycle.id, "draft") is Phase.PROPOSALS
    assert _stored(cycle.id).phase is Phase.PROPOSALS
    assert audit_log() == [(None, "advance-phase", f"cycle:{cycle.id}", {"phase": "draft"}, {"phase": "proposals"})]


@pytest.mark.parametrize(("role", "cycle_id", "error"), [(Role.RESIDENT, None, PermissionDenied),
                                                         (Role.MODERATOR, None, PermissionDenied),
                                                         (Role.OFFICIAL, 10_000, NotFound)])
def test_advance_phase_refusals_change_nothing(make_user, make_cycle, snapshot, role, cycle_id, error):
    actor, cycle = make_user(role), make_cycle()
    before = snapshot()
    with pytest.raises(error):
        cycles.advance_phase(actor, cycle_id or cycle.id, Phase.DRAFT)
    assert snapshot() == before


def test_list_cycles_hides_drafts_unless_asked(make_cycle):
    draft, voting = make_cycle(), make_cycle(phase=Phase.VOTING)
    assert cycles.list_cycles(include_drafts=False) == [voting]
    assert set(cycles.list_cycles(include_drafts=True)) == {draft, voting}


def test_get_district_refuses_a_district_of_another_cycle(make_cycle):
    cycle, other = make_cycle(), make_cycle()
    assert cycles.get_district(cycle, cycle.districts[0].id) == cycle.districts[0]
    with pytest.raises(NotFound):
        cycles.get_district(cycle, other.districts[0].id)
    assert db.session.scalar(select(District).where(District.id == other.districts[0].id)) is not None
    assert db.session.scalar(select(Category).where(Category.cycle_id == other.id)) is not None


# -- Phase changes carry the phase the official saw, and leave the published timetable only with a reason. -------


def test_a_second_move_from_the_same_page_is_refused_and_moves_nothing(official, make_cycle, make_project, snapshot):
    """Issue 16: a double submit of "Move to: voting" in review went straight on to counting."""
    cycle = make_cycle(Phase.REVIEW)
    for district in cycle.districts:
        make_project(cycle, district)
    assert cycles.advance_phase(official, cycle.id, "review", "Opened early for the test.") is Phase.VOTING
    before = snapshot()
    with pytest.raises(ConflictError) as refused:
        cycles.advance_phase(official, cycle.id, "review", "Opened early for the test.")
    assert snapshot() == before
    assert _stored(cycle.id).phase is Phase.VOTING
    assert refused.value.message.startswith(
        "Nothing was changed: the cycle is no longer “proposals under review” but “voting open”")
    assert "Reload the page" in refused.value.message


@pytest.mark.parametrize("expected", [None, "", "counting", "VOTING", 3])
def test_a_move_that_does_not_say_which_phase_it_expects_is_refused(official, make_cycle, snapshot, expected):
    cycle = make_cycle()
    before = snapshot()
    with pytest.raises(ValidationError, match="Say which phase the cycle is expected to be in"):
        cycles.advance_phase(official, cycle.id, expected)
    assert snapshot() == before


def _voting_cycle(make_cycle, make_project, **dates):
    cycle = make_cycle(Phase.VOTING, **dates)
    for district in cycle.districts:
        make_project(cycle, district)
    return cycle


@pytest.mark.parametrize(
    ("close_on", "shown"),
    [(None, "No date was published for this step, so residents could not plan for it."),
     (2, "Today, {today}, is 2 days before the date published for this step ({planned})."),
     (-1, "Today, {today}, is 1 day after the date published for this step ({planned}).")],
    ids=["no-date", "early", "late"],
)
def test_closing_voting_off_the_published_date_needs_a_reason(
    official, make_cycle, make_project, snapshot, audit_log, close_on, shown
):
    today = utcnow().date()
    planned = today + timedelta(days=close_on) if close_on is not None else None
    close_at = utcnow() + timedelta(days=close_on) if close_on is not None else None
    cycle = _voting_cycle(make_cycle, make_project, voting_close_at=close_at)
    before = snapshot()
    for reason in (None, "  "):
        with pytest.raises(ValidationError) as refused:
            cycles.advance_phase(official, cycle.id, "voting", reason)
        assert snapshot() == before
        assert refused.value.message.startswith(shown.format(today=_day(today), planned=_day(planned) if planned else ""))
        assert refused.value.message.endswith("Write the reason for moving on today: it is kept in the audit log and "
                                              "shown on the cycle's public page.")
    assert cycles.advance_phase(official, cycle.id, "voting", " The polling software failed. ") is Phase.TALLYING
    [(_, _, _, _, after)] = audit_log("advance-phase")
    assert after == {"phase": "tallying", "moved_on": today.isoformat(),
                     "planned_on": planned.isoformat() if planned else None, "reason": "The polling software failed."}
    [change] = cycles.timetable_changes(_stored(cycle.id))
    assert change.reason == "The polling software failed." and change.moved_on == today
    assert change.description.startswith(f"Voting closed on {_day(today)}")


def _day(value) -> str:
    return f"{value.day} {value:%B %Y}"


def test_opening_voting_off_the_published_date_needs_a_reason_too(official, make_cycle, make_project, snapshot):
    cycle = make_cycle(Phase.REVIEW, voting_open_at=utcnow() + timedelta(days=7))
    for district in cycle.districts:
        make_project(cycle, district)
    before = snapshot()
    with pytest.raises(ValidationError, match="7 days before the date published"):
        cycles.advance_phase(official, cycle.id, "review")
    assert snapshot() == before


def test_moving_on_the_published_date_needs_no_reason_and_is_no_timetable_change(
    official, make_cycle, make_project, audit_log
):
    cycle = _voting_cycle(make_cycle, make_project, voting_close_at=utcnow())
    assert cycles.advance_phase(official, cycle.id, "voting") is Phase.TALLYING
    [(_, _, _, _, after)] = audit_log("advance-phase")
    assert after == {"phase": "tallying"}
    assert cycles.timetable_changes(_stored(cycle.id)) == []


def test_closing_proposals_early_needs_no_reason_but_is_listed_with_the_date(official, make_cycle, make_proposal):
    today = utcnow().date()
    cycle = make_cycle(Phase.PROPOSALS, review_at=utcnow() + timedelta(days=3))
    make_proposal(cycle)
    assert cycles.advance_phase(official, cycle.id, "proposals") is Phase.REVIEW
    [change] = cycles.timetable_changes(_stored(cycle.id))
    assert change.description == (f"Proposals closed on {_day(today)}, 3 days before the published date "
                                   f"({_day(today + timedelta(days=3))}).")
    assert change.reason == ""


def test_a_reason_longer_than_the_limit_is_refused(official, make_cycle, make_project, snapshot):
    cycle = _voting_cycle(make_cycle, make_project)
    before = snapshot()
    with pytest.raises(ValidationError, match="Keep the reason under 1000 characters."):
        cycles.advance_phase(official, cycle.id, "voting", "x" * 1001)
    assert snapshot() == before


def test_the_confirmation_names_the_step_the_timetable_and_today(official, make_cycle, make_project):
    now = utcnow()
    today = now.date()
    cycle = _voting_cycle(make_cycle, make_project, voting_open_at=now - timedelta(days=9),
                          voting_close_at=now + timedelta(days=1))
    change = cycles.phase_change(_stored(cycle.id))
    assert (change.current, change.next, change.step.is_ending, change.needs_reason) == (
        Phase.VOTING, Phase.TALLYING, True, True)
    assert change.step.consequence.startswith("Voting ends for everyone")
    assert change.zone == "UTC"
    assert [(str(label), moment, is_this) for label, moment, is_this in change.moments] == [
        ("Proposals open", None, False), ("Review starts", None, False),
        ("Voting opens", now - timedelta(days=9), False), ("Voting closes", now + timedelta(days=1), True),
        ("Results published", None, False)]
    assert change.today == (f"Today, {_day(today)}, is 1 day before the date published for this step "
                            f"({_day(today + timedelta(days=1))}).")


# Editing a draft: a district's budget, removing a category --------------------------------------------------


def test_a_draft_districts_budget_is_changed_and_audited(official, make_cycle, audit_log):
    cycle = make_cycle()
    north = cycle.districts[0]
    cycles.change_district_budget(official, north.id, 120_000)
    assert [(d.name, d.budget) for d in _stored(cycle.id).districts] == [("North", 120_000), ("South", 50_000)]
    assert audit_log() == [(official.id, "edit-district-budget", f"district:{north.id}",
                            {"name": "North", "budget": 100_000}, {"name": "North", "budget": 120_000})]


@pytest.mark.parametrize(("phase", "budget", "error"), [
    (Phase.PROPOSALS, 5_000, PhaseError), (Phase.DRAFT, 0, ValidationError), (Phase.DRAFT, -5, ValidationError),
])
def test_a_district_budget_change_is_refused_outside_draft_or_without_money(official, make_cycle, snapshot, phase,
                                                                            budget, error):
    cycle = make_cycle(phase)
    before = snapshot()
    with pytest.raises(error):
        cycles.change_district_budget(official, cycle.districts[0].id, budget)
    assert snapshot() == before


def test_a_resident_cannot_change_a_budget(make_user, make_cycle):
    cycle = make_cycle()
    with pytest.raises(PermissionDenied):
        cycles.change_district_budget(make_user(Role.RESIDENT), cycle.districts[0].id, 5)


def test_an_unused_category_is_removed_and_audited(official, make_cycle, audit_log):
    cycle = make_cycle()
    green = cycle.categories[0]
    cycles.remove_category(official, green.id)
    assert _stored(cycle.id).categories == []
    assert audit_log() == [(official.id, "remove-category", f"category:{green.id}", {"name": "Green spaces"}, {})]


def test_a_category_a_proposal_uses_is_kept_with_a_clear_word(official, make_cycle, make_proposal, snapshot):
    cycle = make_cycle()
    make_proposal(cycle, title="Benches")
    before = snapshot()
    with pytest.raises(ConflictError, match="Category “Green spaces” is used by the proposal “Benches”; it cannot be removed."):
        cycles.remove_category(official, cycle.categories[0].id)
    assert snapshot() == before


def test_a_category_is_kept_once_the_cycle_has_opened(official, make_cycle):
    cycle = make_cycle(Phase.PROPOSALS)
    with pytest.raises(PhaseError):
        cycles.remove_category(official, cycle.categories[0].id)
    assert [c.name for c in _stored(cycle.id).categories] == ["Green spaces"]


def test_every_settings_problem_is_named_at_once(official, make_cycle):
    make_cycle(name="Taken")
    bad = replace(SETTINGS, name="Taken", total_budget=0, min_projects=3, max_projects=2, timezone="Mars/Base",
                  review_at=datetime(2026, 5, 1), proposals_open_at=datetime(2026, 6, 1))
    problems = cycles.settings_problems(bad, None)
    assert [name for name, _ in problems] == ["timezone", "total_budget", "max_projects", "review_at", "name"]
    with pytest.raises(ValidationError) as refused:
        cycles.create_cycle(official, bad)
    assert len(refused.value.problems) == 5 and "Another cycle already has this name." in refused.value.message
