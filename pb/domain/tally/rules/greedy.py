"""The greedy counts cities use: projects by votes (or points), funded while they fit, and two city variants.

- ``greedy``: projects from the highest score down, each funded if it fits in what is left; one that does
  not fit is skipped and the count goes on. The score is the number of votes for approval and choose-1
  ballots, the total points for cumulative, scoring and ordinal-as-points ballots (the Outcome's ``votes``
  then hold points and its parameters say ``score: points``). Ties on score follow the tie-break.
- ``greedy-threshold`` (Łódź, Warszawa, Katowice): as greedy, but a project whose score is below the
  instance's ``min_project_score`` is never funded, even with money left.
- ``greedy-no-skip`` (Wrocław 2015, Gdynia): as greedy, but the count stops at the first project that does not
  fit. It honours ``min_project_score`` too: Gdynia's "small" budgets of 2020 and 2023 stop at 50 votes, and
  without the threshold the count would go on to fund projects with 43 to 49. A project that costs more than the
  whole budget is passed over rather than stopping the count: no order of counting could ever fund it, and
  pabulib writes a withdrawn project so (Wrocław 2017 gives one the placeholder cost 999,999,999); the city went
  on to the next project.

Plain ``greedy`` is the textbook rule and ignores ``min_project_score``; ``pb-tally --rule auto`` runs
``greedy-threshold`` for a file whose rule is ``greedy`` but which gives a threshold.

Projects nobody voted for are never funded. All arithmetic is on integers.
"""

from pb.domain.messages import N_, join
from pb.domain.tally.model import Instance, Outcome, Profile, ProjectResult
from pb.domain.tally.rules.common import Election, fill_in_order, not_voted, outcome, prepare, score_phrase
from pb.domain.tally.tie_breaking import DEFAULT_TIE_BREAK, TieBreak


def greedy(instance: Instance, profile: Profile, *, tie_break: TieBreak = DEFAULT_TIE_BREAK) -> Outcome:
    """Fund projects by votes (or points), most first, skipping any that no longer fits in what is left."""
    election = prepare(instance, profile, tie_break)
    return _count("greedy", election, tie_break, election.by_score, {})


def greedy_threshold(instance: Instance, profile: Profile, *, tie_break: TieBreak = DEFAULT_TIE_BREAK) -> Outcome:
    """Greedy among the projects that reached the instance's minimum score; the others are never funded."""
    election = prepare(instance, profile, tie_break)
    eligible, results = _above_threshold(election)
    parameters = {"min_project_score": str(instance.min_project_score)}
    return _count("greedy-threshold", election, tie_break, eligible, parameters, results)


def greedy_no_skip(instance: Instance, profile: Profile, *, tie_break: TieBreak = DEFAULT_TIE_BREAK) -> Outcome:
    """Fund projects by votes (or points), most first, stopping at the first one that does not fit; projects below
    the instance's minimum score are never funded, and one costing more than the whole budget is passed over."""
    election = prepare(instance, profile, tie_break)
    eligible, results = _above_threshold(election)
    budget = instance.budget
    within_budget = tuple(p for p in eligible if election.cost[p] <= budget)
    for project_id in eligible:
        if election.cost[project_id] > budget:
            explanation = N_(
                "Not funded: it costs {cost}, more than the whole budget of {budget}, so no count could fund it; "
                "the count passed it over rather than stopping there.",
                cost=instance.money(election.cost[project_id]), budget=instance.money(budget),
            )
            results[project_id] = ProjectResult(project_id, election.score[project_id], False, None, None, explanation)
    parameters = {"min_project_score": str(instance.min_project_score)} if instance.min_project_score else {}
    return _count("greedy-no-skip", election, tie_break, within_budget, parameters, results, is_no_skip=True)


def _above_threshold(election: Election) -> tuple[tuple[str, ...], dict[str, ProjectResult]]:
    """The projects with a score, highest first, that reach the instance's minimum score, and an explanation for
    each of the others."""
    minimum = election.instance.min_project_score
    needed = N_("{minimum:,} points", minimum=minimum) if election.is_points else N_("{minimum:,} votes", minimum=minimum)
    results = {}
    for project_id in election.by_score:
        if election.score[project_id] < minimum:
            explanation = N_(
                "Not funded: it received {score}, fewer than the {needed} a project needs to be funded.",
                score=score_phrase(election, project_id), needed=needed,
            )
            results[project_id] = ProjectResult(project_id, election.score[project_id], False, None, None, explanation)
    return tuple(p for p in election.by_score if election.score[p] >= minimum), results


def _count(
    rule: str,
    election: Election,
    tie_break: TieBreak,
    order: tuple[str, ...],
    parameters: dict[str, str],
    results: dict[str, ProjectResult] | None = None,
    *,
    is_no_skip: bool = False,
) -> Outcome:
    budget, selected = election.instance.budget, []
    results = dict(results or {})
    for project_id, score in election.score.items():
        if score == 0:
            results[project_id] = not_voted(project_id, 0, is_points=election.is_points)
    steps = fill_in_order(election, order, budget, set(), stop_at_first_misfit=is_no_skip)
    total = len(order)
    for place, (project_id, left, is_funded) in enumerate(steps, start=1):
        cost, score = election.instance.money(election.cost[project_id]), election.score[project_id]
        turn = N_("place {place} of {total}, {score}", place=place, total=total, score=score_phrase(election, project_id))
        if is_funded:
            selected.append(project_id)
            explanation = N_(
                "Funded in {turn}: {left} of the {budget} budget was left when its turn came and it costs {cost}.",
                turn=turn, left=election.instance.money(left), budget=election.instance.money(budget), cost=cost,
            )
            results[project_id] = ProjectResult(project_id, score, True, len(selected), "greedy", explanation)
        else:
            explanation = N_(
                "Not funded: when its turn came ({turn}) only {left} was left and it costs {cost}.",
                turn=turn, left=election.instance.money(left), cost=cost,
            )
            if is_no_skip:
                explanation = join(explanation, N_("The count stops at the first project that does not fit."))
            results[project_id] = ProjectResult(project_id, score, False, None, None, explanation)
    if is_no_skip and len(steps) < total:
        stopper, left, _ = steps[-1]
        for project_id in order[len(steps) :]:
            explanation = N_(
                "Not funded: the count stopped at place {place} of {total}, when {stopper} (costing {stopper_cost}) "
                "did not fit in the {left} left; no project after it is funded.",
                place=len(steps), total=total, stopper=election.instance.project(stopper).label,
                stopper_cost=election.instance.money(election.cost[stopper]), left=election.instance.money(left),
            )
            results[project_id] = ProjectResult(project_id, election.score[project_id], False, None, None, explanation)
    if election.is_points:
        parameters = {"score": "points", **parameters}
    return outcome(rule, election, tie_break, selected, results, parameters)
