"""The standard greedy count: projects by votes, funded while they fit, skipping those that do not."""

from pb.domain.tally.model import ApprovalProfile, Instance, Outcome, ProjectResult, format_money
from pb.domain.tally.rules.common import fill_by_votes, not_voted, outcome, prepare
from pb.domain.tally.tie_breaking import DEFAULT_TIE_BREAK, TieBreak


def greedy(instance: Instance, profile: ApprovalProfile, *, tie_break: TieBreak = DEFAULT_TIE_BREAK) -> Outcome:
    """Fund projects by votes, most first, skipping any that no longer fits in what is left."""
    election = prepare(instance, profile, tie_break)
    budget, selected = instance.budget, []
    results = {p: not_voted(p, votes) for p, votes in election.votes.items() if votes == 0}
    steps = fill_by_votes(election, budget, set())
    for place, (project_id, left, is_funded) in enumerate(steps, start=1):
        cost, votes = format_money(election.cost[project_id]), election.votes[project_id]
        if is_funded:
            selected.append(project_id)
            explanation = (
                f"Funded in place {place} of {len(steps)}: {format_money(left)} of the {format_money(budget)} budget "
                f"was left when its turn came and it costs {cost}."
            )
            results[project_id] = ProjectResult(project_id, votes, True, len(selected), "greedy", explanation)
        else:
            explanation = (
                f"Not funded: when its turn came (place {place} of {len(steps)}) "
                f"only {format_money(left)} was left and it costs {cost}."
            )
            results[project_id] = ProjectResult(project_id, votes, False, None, None, explanation)
    return outcome("greedy", election, tie_break, selected, results, {})
