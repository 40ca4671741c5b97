"""The budget cycle's phases, the only transitions between them, and why a transition is refused."""

from dataclasses import dataclass, field
from enum import Enum

from pb.domain.errors import PhaseError
from pb.domain.messages import N_, Nn_


class Phase(str, Enum):
    DRAFT = "draft"
    PROPOSALS = "proposals"
    SUPPORTS = "supports"
    REVIEW = "review"
    VOTING = "voting"
    TALLYING = "tallying"
    RESULTS = "results"
    CLOSED = "closed"

    @property
    def label(self) -> str:
        return _LABELS[self]


_LABELS = {
    Phase.DRAFT: N_("Being prepared"),
    Phase.PROPOSALS: N_("Proposals open"),
    Phase.SUPPORTS: N_("Supporting proposals"),
    Phase.REVIEW: N_("Proposals under review"),
    Phase.VOTING: N_("Voting open"),
    Phase.TALLYING: N_("Counting the votes"),
    Phase.RESULTS: N_("Results published"),
    Phase.CLOSED: N_("Closed"),
}

# Phases only ever move forward, one step at a time. The supports phase is optional: a cycle that has it goes
# proposals → supports → review, any other goes proposals → review (see `following`).
TRANSITIONS: dict[Phase, Phase] = {
    Phase.DRAFT: Phase.PROPOSALS,
    Phase.PROPOSALS: Phase.REVIEW,
    Phase.SUPPORTS: Phase.REVIEW,
    Phase.REVIEW: Phase.VOTING,
    Phase.VOTING: Phase.TALLYING,
    Phase.TALLYING: Phase.RESULTS,
    Phase.RESULTS: Phase.CLOSED,
}


def following(current: Phase, has_supports_phase: bool) -> Phase | None:
    """The phase after `current` for a cycle with or without the supports phase (None: the cycle is closed)."""
    if current is Phase.PROPOSALS and has_supports_phase:
        return Phase.SUPPORTS
    return TRANSITIONS.get(current)

# Which phase each action belongs to; the services ask this before doing anything.
# Four eyes: results are published only once this many different officials have approved the same stored count.
REQUIRED_APPROVALS = 2

ACTION_PHASES: dict[str, frozenset[Phase]] = {
    "edit-setup": frozenset({Phase.DRAFT}),
    "submit-proposal": frozenset({Phase.PROPOSALS}),
    "edit-proposal": frozenset({Phase.PROPOSALS}),
    "withdraw-proposal": frozenset({Phase.PROPOSALS, Phase.SUPPORTS, Phase.REVIEW}),
    "revise-proposal": frozenset({Phase.REVIEW}),
    "moderate": frozenset({Phase.REVIEW}),
    "verify-resident": frozenset({Phase.PROPOSALS, Phase.SUPPORTS, Phase.REVIEW, Phase.VOTING}),
    "support-proposal": frozenset({Phase.SUPPORTS}),
    "vote": frozenset({Phase.VOTING}),
    # Polling stations close with online voting; their sheets and marked voters are typed in until the count.
    "enter-paper-ballot": frozenset({Phase.VOTING, Phase.TALLYING}),
    "tally": frozenset({Phase.TALLYING}),
    "approve-results": frozenset({Phase.TALLYING}),
    "correct-results": frozenset({Phase.RESULTS, Phase.CLOSED}),
    "see-results": frozenset({Phase.RESULTS, Phase.CLOSED}),
    # Building the funded projects takes years: it is followed from publication on, also after the cycle closes.
    "track-implementation": frozenset({Phase.RESULTS, Phase.CLOSED}),
    # Blank paper ballots list the projects, which are final (and frozen) once voting opens.
    "print-paper-ballot": frozenset({Phase.VOTING, Phase.TALLYING}),
}

_ACTION_WORDS = {
    "edit-setup": N_("The cycle's set-up can only be changed while it is being prepared."),
    "submit-proposal": N_("New proposals can only be submitted while proposals are open."),
    "edit-proposal": N_("Proposals can only be edited while proposals are open."),
    "withdraw-proposal": N_("A proposal can only be withdrawn before voting starts."),
    "revise-proposal": N_("A proposal sent back for changes can only be revised during the review."),
    "moderate": N_("Proposals can only be reviewed during the review phase."),
    "verify-resident": N_("Residents can be verified from the opening of proposals until voting closes."),
    "support-proposal": N_("Proposals can only be supported during the supports phase."),
    "vote": N_("Voting is not open."),
    "enter-paper-ballot": (
        N_("Paper ballots and paper voters can only be entered from the opening of voting until the results are published.")
    ),
    "tally": N_("The votes can only be counted once voting has closed and before results are published."),
    "approve-results": N_("A count can only be approved after voting has closed and before the results are published."),
    "correct-results": N_("Results can only be corrected once they are published; before that, count again."),
    "see-results": N_("Results are not published yet."),
    "track-implementation": N_("Implementation can only be tracked once the results are published."),
    "print-paper-ballot": N_("Blank paper ballots can only be printed once the project list is final, from the opening "
                             "of voting until the results are published."),
}


def require_phase(action: str, phase: Phase) -> None:
    """Refuse an action outside its phase, saying when it is possible."""
    if phase not in ACTION_PHASES[action]:
        raise PhaseError(N_("{refusal} This cycle is now: {phase}.", refusal=_ACTION_WORDS[action], phase=phase.label.lower()))


def is_allowed(action: str, phase: Phase) -> bool:
    return phase in ACTION_PHASES[action]


@dataclass(frozen=True)
class CycleFacts:
    """What the transition rules need to know about a cycle, gathered by the services."""

    total_budget: int
    district_budgets: dict[str, int] = field(default_factory=dict)
    proposals_submitted: int = 0
    proposals_waiting_review: int = 0
    proposals_waiting_changes: int = 0
    projects_by_district: dict[str, int] = field(default_factory=dict)
    untallied_districts: tuple[str, ...] = ()
    # Different officials who approved the stored count as it is now (a new count needs new approvals).
    count_approvals: int = 0
    has_supports_phase: bool = False
    # Districts with proposals in the running of which none meets the cycle's rule for supports (the supports phase).
    districts_without_selection: tuple[str, ...] = ()


def blockers(current: Phase, facts: CycleFacts) -> list[str]:
    """Reasons, in plain words, why the cycle cannot move to its next phase now (empty: it can)."""
    if current not in TRANSITIONS:
        return [N_("The cycle is closed; there is no further phase.")]
    reasons: list[str] = []
    if current is Phase.DRAFT:
        if not facts.district_budgets:
            reasons.append(N_("The cycle has no district yet; add at least one."))
        for name, budget in facts.district_budgets.items():
            if budget <= 0:
                reasons.append(N_("District “{name}” has no budget.", name=name))
        if sum(facts.district_budgets.values()) > facts.total_budget:
            reasons.append(N_("The district budgets add up to more than the cycle's total budget."))
    elif current is Phase.PROPOSALS:
        if facts.proposals_submitted == 0:
            reasons.append(N_("No proposal has been submitted yet."))
    elif current is Phase.SUPPORTS:
        # Moving on would leave the district with nothing to review, and so no ballot: the review could never end.
        if facts.districts_without_selection:
            reasons.append(N_(
                "No proposal has enough supports to go on to review in: {districts}. Residents can still support "
                "proposals there.", districts=", ".join(facts.districts_without_selection),
            ))
    elif current is Phase.REVIEW:
        if facts.proposals_waiting_review:
            reasons.append(Nn_("{count} proposal is still waiting for review.",
                               "{count} proposals are still waiting for review.", facts.proposals_waiting_review))
        if facts.proposals_waiting_changes:
            reasons.append(Nn_(
                "{count} proposal is still waiting for changes from the author (accept, reject or merge them).",
                "{count} proposals are still waiting for changes from the author (accept, reject or merge them).",
                facts.proposals_waiting_changes,
            ))
        empty = [name for name, count in facts.projects_by_district.items() if count == 0]
        if empty:
            reasons.append(N_("No project is on the ballot in: {districts}.", districts=", ".join(sorted(empty))))
    elif current is Phase.TALLYING:
        if facts.untallied_districts:
            reasons.append(N_("The votes have not been counted yet in: {districts}.", districts=", ".join(facts.untallied_districts)))
        elif facts.count_approvals < REQUIRED_APPROVALS:
            reasons.append(N_(
                "The count needs the approval of {required} different officials before it is published; "
                "{given} of {required} have approved it.", required=REQUIRED_APPROVALS, given=facts.count_approvals,
            ))
    return reasons


def next_phase(current: Phase, facts: CycleFacts) -> Phase:
    """The phase the cycle moves to, or a PhaseError listing every blocker."""
    reasons = blockers(current, facts)
    if reasons:
        raise PhaseError(N_("The cycle cannot move on yet: {reasons}", reasons=tuple(reasons)), problems=reasons)
    following_phase = following(current, facts.has_supports_phase)
    if following_phase is None:  # unreachable: blockers() already refuses to move a closed cycle
        raise PhaseError(N_("The cycle is closed; there is no further phase."))
    return following_phase
