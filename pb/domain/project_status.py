"""What the public is told of a proposal's status: once results are published, a project on the ballot reads funded,
not funded or withdrawn rather than "on the ballot"."""

from pb.domain.messages import N_, Message

FUNDED = "funded"
NOT_FUNDED = "not_funded"
WITHDRAWN_BY_CORRECTION = "withdrawn_after_results"

RESULT_LABELS = {
    FUNDED: N_("Funded"),
    NOT_FUNDED: N_("Not funded"),
    WITHDRAWN_BY_CORRECTION: N_("Withdrawn after the results"),
}


def result_status(
    proposal_status: str, *, results_published: bool, is_funded: bool | None, is_withdrawn: bool
) -> str | None:
    """The result a project on the ballot (status "accepted") shows once results are published, as a key of
    RESULT_LABELS; None when the proposal's own status still tells the truth (before results, a proposal that never
    reached the ballot, or a project no published count covers).

    A correction that withdraws a funded project counts again without it, so it has no result at all: the withdrawal
    is what decides, before the (absent) result.
    """
    if proposal_status != "accepted" or not results_published:
        return None
    if is_withdrawn:
        return WITHDRAWN_BY_CORRECTION
    if is_funded is None:
        return None
    return FUNDED if is_funded else NOT_FUNDED


def result_label(key: str) -> Message:
    return RESULT_LABELS[key]
