"""The phase transition table, the plain-words blockers, and which action is open in which phase."""

import pytest

from pb.domain.cycle import (
    ACTION_PHASES,
    TRANSITIONS,
    CycleFacts,
    Phase,
    blockers,
    following,
    is_allowed,
    next_phase,
    require_phase,
)
from pb.domain.errors import PhaseError

ORDER = list(Phase)
READY = {
    Phase.DRAFT: CycleFacts(total_budget=100, district_budgets={"North": 60, "South": 40}),
    Phase.PROPOSALS: CycleFacts(total_budget=100, proposals_submitted=1),
    Phase.SUPPORTS: CycleFacts(total_budget=100, proposals_submitted=1, has_supports_phase=True),
    Phase.REVIEW: CycleFacts(total_budget=100, proposals_submitted=3, projects_by_district={"North": 2, "South": 1}),
    Phase.VOTING: CycleFacts(total_budget=100),
    Phase.TALLYING: CycleFacts(total_budget=100, count_approvals=2),
    Phase.RESULTS: CycleFacts(total_budget=100),
}


WITH_SUPPORTS = ORDER
WITHOUT_SUPPORTS = [phase for phase in ORDER if phase is not Phase.SUPPORTS]


@pytest.mark.parametrize(("has_supports_phase", "order"), [(True, WITH_SUPPORTS), (False, WITHOUT_SUPPORTS)])
def test_each_phase_moves_only_to_the_very_next_one_with_or_without_the_supports_phase(has_supports_phase, order):
    assert [following(phase, has_supports_phase) for phase in order] == order[1:] + [None]


def test_the_supports_phase_sits_between_proposals_and_review():
    assert following(Phase.PROPOSALS, True) is Phase.SUPPORTS and following(Phase.SUPPORTS, True) is Phase.REVIEW
    assert following(Phase.PROPOSALS, False) is Phase.REVIEW


def test_closed_is_the_only_phase_without_a_way_out():
    assert set(TRANSITIONS) == set(Phase) - {Phase.CLOSED}


@pytest.mark.parametrize("has_supports_phase", [True, False])
def test_the_transitions_never_revisit_a_phase(has_supports_phase):
    seen, phase = [], Phase.DRAFT
    while phase is not None:
        seen.append(phase)
        phase = following(phase, has_supports_phase)
    assert len(seen) == len(set(seen)) and seen[-1] is Phase.CLOSED
    assert (Phase.SUPPORTS in seen) is has_supports_phase


@pytest.mark.parametrize("current", ORDER[:-1])
def test_a_ready_cycle_has_no_blocker_and_moves_one_step(current):
    assert blockers(current, READY[current]) == []
    assert next_phase(current, READY[current]) is following(current, READY[current].has_supports_phase)


@pytest.mark.parametrize(
    ("current", "facts", "reasons"),
    [
        (Phase.DRAFT, CycleFacts(total_budget=100), ["The cycle has no district yet; add at least one."]),
        (Phase.DRAFT, CycleFacts(total_budget=100, district_budgets={"North": 0, "South": 100}),
         ["District “North” has no budget."]),
        (Phase.DRAFT, CycleFacts(total_budget=100, district_budgets={"North": 60, "South": 41}),
         ["The district budgets add up to more than the cycle's total budget."]),
        (Phase.DRAFT, CycleFacts(total_budget=10, district_budgets={"North": 0, "South": 11}),
         ["District “North” has no budget.", "The district budgets add up to more than the cycle's total budget."]),
        (Phase.PROPOSALS, CycleFacts(total_budget=100), ["No proposal has been submitted yet."]),
        (Phase.SUPPORTS, CycleFacts(total_budget=100, has_supports_phase=True,
                                    districts_without_selection=("North", "South")),
         ["No proposal has enough supports to go on to review in: North, South. Residents can still support "
          "proposals there."]),
        (Phase.REVIEW, CycleFacts(total_budget=100, proposals_waiting_review=2, projects_by_district={"North": 1}),
         ["2 proposals are still waiting for review."]),
        (Phase.REVIEW, CycleFacts(total_budget=100, proposals_waiting_review=1, projects_by_district={"North": 1}),
         ["1 proposal is still waiting for review."]),
        (Phase.REVIEW, CycleFacts(total_budget=100, proposals_waiting_changes=1, projects_by_district={"North": 1}),
         ["1 proposal is still waiting for changes from the author (accept, reject or merge them)."]),
        (Phase.REVIEW, CycleFacts(total_budget=100, proposals_waiting_changes=3, projects_by_district={"North": 1}),
         ["3 proposals are still waiting for changes from the author (accept, reject or merge them)."]),
        (Phase.REVIEW, CycleFacts(total_budget=100, projects_by_district={"South": 0, "North": 0, "East": 4}),
         ["No project is on the ballot in: North, South."]),
        (Phase.REVIEW,
         CycleFacts(total_budget=100, proposals_waiting_review=1, proposals_waiting_changes=2,
                    projects_by_district={"North": 0}),
         ["1 proposal is still waiting for review.",
          "2 proposals are still waiting for changes from the author (accept, reject or merge them).",
          "No project is on the ballot in: North."]),
        (Phase.TALLYING, CycleFacts(total_budget=100, untallied_districts=("North", "South")),
         ["The votes have not been counted yet in: North, South."]),
        (Phase.TALLYING, CycleFacts(total_budget=100, count_approvals=1),
         ["The count needs the approval of 2 different officials before it is published; 1 of 2 have approved it."]),
        (Phase.CLOSED, CycleFacts(total_budget=100), ["The cycle is closed; there is no further phase."]),
    ],
)
def test_blockers_name_every_reason_in_plain_words(current, facts, reasons):
    assert blockers(current, facts) == reasons


@pytest.mark.parametrize("current", [Phase.VOTING, Phase.RESULTS])
def test_voting_and_results_never_block_whatever_the_facts(current):
    facts = CycleFacts(total_budget=0, proposals_waiting_review=5, untallied_districts=("North",))
    assert blockers(current, facts) == []


def test_next_phase_refuses_with_every_blocker_as_a_problem():
    facts = CycleFacts(total_budget=100, proposals_waiting_review=2, projects_by_district={"North": 0})
    with pytest.raises(PhaseError) as refused:
        next_phase(Phase.REVIEW, facts)
    assert refused.value.problems == ["2 proposals are still waiting for review.", "No project is on the ballot in: North."]
    assert refused.value.message == (
        "The cycle cannot move on yet: 2 proposals are still waiting for review. No project is on the ballot in: North."
    )


def test_next_phase_refuses_to_leave_closed():
    with pytest.raises(PhaseError, match="closed; there is no further phase") as refused:
        next_phase(Phase.CLOSED, CycleFacts(total_budget=100))
    assert refused.value.problems == ["The cycle is closed; there is no further phase."]


ACTION_BY_PHASE = [(action, phase, phase in allowed) for action, allowed in ACTION_PHASES.items() for phase in Phase]


@pytest.mark.parametrize(("action", "phase", "is_open"), ACTION_BY_PHASE, ids=lambda value: getattr(value, "value", value))
def test_require_phase_allows_an_action_only_in_its_phases(action, phase, is_open):
    assert is_allowed(action, phase) is is_open
    if is_open:
        assert require_phase(action, phase) is None
    else:
        with pytest.raises(PhaseError) as refused:
            require_phase(action, phase)
        assert refused.value.message.endswith(f" This cycle is now: {phase.label.lower()}.")


def test_every_action_is_open_in_at_least_one_phase_and_closed_in_another():
    assert all(0 < len(allowed) < len(Phase) for allowed in ACTION_PHASES.values())


def test_a_refused_action_says_when_it_is_possible():
    with pytest.raises(PhaseError) as refused:
        require_phase("vote", Phase.REVIEW)
    assert refused.value.message == "Voting is not open. This cycle is now: proposals under review."
