"""The budget cycle's phases, the only transitions between them, and why a transition is refused."""

from dataclasses import dataclass, field
from enum import Enum

from pb.domain.errors import PhaseError


class Phase(str, Enum):
    DRAFT = "draft"
    PROPOSALS = "proposals"
    REVIEW = "review"
    VOTING = "voting"
    TALLYING = "tallying"
    RESULTS = "results"
    CLOSED = "closed"

    @property
    def label(self) -> str:
        return _LABELS[self]


_LABELS = {
    Phase.DRAFT: "Being prepared",
    Phase.PROPOSALS: "Proposals open",
    Phase.REVIEW: "Proposals under review",
    Phase.VOTING: "Voting open",
    Phase.TALLYING: "Counting the votes",
    Phase.RESULTS: "Results published",
    Phase.CLOSED: "Closed",
}

# Phases only ever move forward, one step at a time.
TRANSITIONS: dict[Phase, Phase] = {
    Phase.DRAFT: Phase.PROPOSALS,
    Phase.PROPOSALS: Phase.REVIEW,
    Phase.REVIEW: Phase.VOTING,
    Phase.VOTING: Phase.TALLYING,
    Phase.TALLYING: Phase.RESULTS,
    Phase.RESULTS: Phase.CLOSED,
}

# Which phase each action belongs to; the services ask this before doing anything.
# Four eyes: results are published only once this many different officials have approved the same stored count.
REQUIRED_APPROVALS = 2

ACTION_PHASES: dict[str, frozenset[Phase]] = {
    "edit-setup": frozenset({Phase.DRAFT}),
    "submit-proposal": frozenset({Phase.PROPOSALS}),
    "edit-proposal": frozenset({Phase.PROPOSALS}),
    "withdraw-proposal": frozenset({Phase.PROPOSALS, Phase.REVIEW}),
    "revise-proposal": frozenset({Phase.REVIEW}),
    "moderate": frozenset({Phase.REVIEW}),
    "verify-resident": frozenset({Phase.PROPOSALS, Phase.REVIEW, Phase.VOTING}),
    "vote": frozenset({Phase.VOTING}),
    # Polling stations close with online voting; their sheets and marked voters are typed in until the count.
    "enter-paper-ballot": frozenset({Phase.VOTING, Phase.TALLYING}),
    "tally": frozenset({Phase.TALLYING}),
    "approve-results": frozenset({Phase.TALLYING}),
    "see-results": frozenset({Phase.RESULTS, Phase.CLOSED}),
    # Building the funded projects takes years: it is followed from publication on, also after the cycle closes.
    "track-implementation": frozenset({Phase.RESULTS, Phase.CLOSED}),
}

_ACTION_WORDS = {
    "edit-setup": "The cycle's set-up can only be changed while it is being prepared.",
    "submit-proposal": "New proposals can only be submitted while proposals are open.",
    "edit-proposal": "Proposals can only be edited while proposals are open.",
    "withdraw-proposal": "A proposal can only be withdrawn before voting starts.",
    "revise-proposal": "A proposal sent back for changes can only be revised during the review.",
    "moderate": "Proposals can only be reviewed during the review phase.",
    "verify-resident": "Residents can be verified from the opening of proposals until voting closes.",
    "vote": "Voting is not open.",
    "enter-paper-ballot": (
        "Paper ballots and paper voters can only be entered from the opening of voting until the results are published."
    ),
    "tally": "The votes can only be counted once voting has closed and before results are published.",
    "approve-results": "A count can only be approved after voting has closed and before the results are published.",
    "see-results": "Results are not published yet.",
    "track-implementation": "Implementation can only be tracked once the results are published.",
}


def require_phase(action: str, phase: Phase) -> None:
    """Refuse an action outside its phase, saying when it is possible."""
    if phase not in ACTION_PHASES[action]:
        raise PhaseError(f"{_ACTION_WORDS[action]} This cycle is now: {phase.label.lower()}.")


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


def _plural(count: int, singular: str, plural: str) -> str:
    return f"{count} {singular if count == 1 else plural}"


def blockers(current: Phase, facts: CycleFacts) -> list[str]:
    """Reasons, in plain words, why the cycle cannot move to its next phase now (empty: it can)."""
    if current not in TRANSITIONS:
        return ["The cycle is closed; there is no further phase."]
    reasons: list[str] = []
    if current is Phase.DRAFT:
        if not facts.district_budgets:
            reasons.append("The cycle has no district yet; add at least one.")
        for name, budget in facts.district_budgets.items():
            if budget <= 0:
                reasons.append(f"District “{name}” has no budget.")
        if sum(facts.district_budgets.values()) > facts.total_budget:
            reasons.append("The district budgets add up to more than the cycle's total budget.")
    elif current is Phase.PROPOSALS:
        if facts.proposals_submitted == 0:
            reasons.append("No proposal has been submitted yet.")
    elif current is Phase.REVIEW:
        if facts.proposals_waiting_review:
            reasons.append(
                f"{_plural(facts.proposals_waiting_review, 'proposal is', 'proposals are')} still waiting for review."
            )
        if facts.proposals_waiting_changes:
            reasons.append(
                f"{_plural(facts.proposals_waiting_changes, 'proposal is', 'proposals are')} "
                "still waiting for changes from the author (accept, reject or merge them)."
            )
        empty = [name for name, count in facts.projects_by_district.items() if count == 0]
        if empty:
            reasons.append("No project is on the ballot in: " + ", ".join(sorted(empty)) + ".")
    elif current is Phase.TALLYING:
        if facts.untallied_districts:
            reasons.append("The votes have not been counted yet in: " + ", ".join(facts.untallied_districts) + ".")
        elif facts.count_approvals < REQUIRED_APPROVALS:
            reasons.append(
                f"The count needs the approval of {REQUIRED_APPROVALS} different officials before it is published; "
                f"{facts.count_approvals} of {REQUIRED_APPROVALS} have approved it."
            )
    return reasons


def next_phase(current: Phase, facts: CycleFacts) -> Phase:
    """The phase the cycle moves to, or a PhaseError listing every blocker."""
    reasons = blockers(current, facts)
    if reasons:
        raise PhaseError("The cycle cannot move on yet: " + " ".join(reasons), problems=reasons)
    return TRANSITIONS[current]
