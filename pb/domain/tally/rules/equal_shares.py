"""The Method of Equal Shares (cost utilities, or points for points ballots) and its Add1 completion.

Method of Equal Shares. Each voter receives an equal share ``budget / voter_count`` (a Fraction; voters
with an empty ballot get a share too). A supporter's utility from a project is its cost (approval
ballots: cost utilities) or the points they gave it (points ballots, as pabutools'
``Additive_Cardinal_Sat``). A project ``p`` is ``q``-affordable when its supporters can cover its cost
paying at most ``q`` per unit of utility each: ``sum(min(money_i, q * utility_i(p))) == cost(p)``. Each
round funds the project with the smallest such ``q``; ties go to the tie-break; each supporter pays
``min(money_i, q * utility_i(p))``; rounds end when no project's supporters can cover its cost. With
cost utilities ``q * cost(p)`` is simply what each supporter pays (``rho``), so the round maximises the
"effective vote count" ``cost / rho`` and a project's size does not count against it.

Add1 (pabutools' ``method_of_equal_shares(..., voter_budget_increment=1)``): rerun Equal Shares with the
per-voter share raised by one currency unit at a time. ``exhaustive_stop=True`` (pabutools' default,
``mes-add1``) keeps the first outcome that is exhaustive (no unfunded project with votes fits in the
real budget left) or the last one before a run overspends the real budget; ``exhaustive_stop=False``
(what reproduces Wieliczka 2023) ignores exhaustiveness and keeps the last outcome before the first run
that overspends, stopping at the latest when the share has been raised by the whole budget (as
pabutools' ``exhaustion_by_budget_increase``). What is left is then filled greedily by votes (points for
points ballots), the "completion".

Speed without giving up exactness: see ``equal_shares_engine`` for how floats choose and exact
arithmetic decides. Add1 does not rerun every share: a run at share ``b`` and a check at ``b + d``
prove (by monotonicity, see ``same_run_up_to``) that every share in between makes the same
decisions, so whole ranges are skipped, and the check hands back the run at ``b + d`` itself; the step
doubles while that works, a failed check is retried at half the step, and shares are run one by one
only where even ``d = 2`` fails.

Projects nobody voted for are never funded by any rule.
"""

from fractions import Fraction

import numpy as np

from pb.domain.tally.model import Instance, Outcome, Profile, ProjectResult, format_money
from pb.domain.tally.rules.common import Election, fill_in_order, not_voted, outcome, prepare, supporters_phrase
from pb.domain.tally.rules.equal_shares_engine import (
    EngineElection,
    Run,
    dot,
    engine_election,
    run_equal_shares,
    same_run_up_to,
)
from pb.domain.tally.tie_breaking import DEFAULT_TIE_BREAK, TieBreak


def _engine(election: Election) -> EngineElection:
    ids = [project.id for project in election.instance.projects]
    return engine_election(
        ids,
        election.cost,
        election.rank,
        election.supporters,
        election.points if election.is_points else None,
        election.multiplicities,
    )


def _first_voter_budget(election: Election) -> Fraction:
    voters = sum(election.multiplicities)
    # With no voters nobody can pay for anything; any share gives the same empty outcome.
    return Fraction(election.instance.budget, voters) if voters else Fraction(0)


def _paid_by_supporters_of(
    engine: EngineElection, run: Run, paid_float: list[np.ndarray], mask: np.ndarray
) -> list[tuple[Fraction, int]]:
    """Exact amounts the masked supporters paid towards each purchase, the two biggest.

    paid_float[i]: float estimate of what each supporter of purchase i paid (see _paid_float).
    """
    money = run.state
    estimates = []
    for index, purchase in enumerate(run.purchases):
        p = purchase.project
        inside = mask[engine.supporters[p]]
        if not inside.any():
            continue
        estimates.append((dot(engine.weight_float[p][inside], paid_float[index][inside]), index, inside))
    if not estimates:
        return []
    estimates.sort(key=lambda item: -item[0])
    # Floats only shortlist: anything near the second biggest is recomputed exactly before ranking.
    cutoff = estimates[min(1, len(estimates) - 1)][0] * (1 - 1e-6)
    exact = []
    for _, index, inside in (item for item in estimates if item[0] >= cutoff):
        purchase = run.purchases[index]
        p = purchase.project
        poor = purchase.poor[inside]
        weights, utilities = engine.weight[p][inside], engine.utility[p][inside]
        rich_utility = int(np.dot(weights[~poor], utilities[~poor]))
        amount = purchase.price * rich_utility + money.exact_sum(purchase.poor_class[inside][poor], weights[poor])
        if amount > 0:
            exact.append((amount, index))
    exact.sort(key=lambda item: (-item[0], item[1]))
    return exact[:2]


def _paid_float(engine: EngineElection, run: Run) -> list[np.ndarray]:
    """For each purchase, the float estimate of what each of its supporters paid (all they had, or the price)."""
    return [
        np.where(
            purchase.poor,
            run.state.value[purchase.poor_class],
            float(purchase.price) * engine.utility_float[purchase.project],
        )
        for purchase in run.purchases
    ]


def _equal_shares_results(election: Election, engine: EngineElection, run: Run) -> dict[str, ProjectResult]:
    """Explanations for a run: what each funded project's supporters paid, and why the others fell short."""
    results = {}
    for round_number, purchase in enumerate(run.purchases, start=1):
        p = purchase.project
        project_id, votes = engine.ids[p], election.votes[engine.ids[p]]
        paid_less = int(engine.weight[p][purchase.poor].sum())
        each = " per point they gave it" if election.is_points else ("" if votes == 1 else " each")
        explanation = (
            f"Funded in round {round_number} of Equal Shares: {supporters_phrase(votes, '')} "
            f"paid {format_money(purchase.price)}{each}"
        )
        if paid_less:
            explanation += f", except {paid_less:,} who paid less because they had run out of money"
        results[project_id] = ProjectResult(
            project_id, votes, True, round_number, "equal-shares", explanation + ".", str(purchase.price)
        )
    mask = np.zeros(engine.group_count, dtype=bool)
    paid_float = None  # computed once, when the first losing project needs it
    for p, project_id in enumerate(engine.ids):
        if project_id in results:
            continue
        groups, cost = engine.supporters[p], engine.cost[p]
        have = run.state.exact_sum(run.money_class[groups], engine.weight[p])
        explanation = (
            f"Not funded: {supporters_phrase(election.votes[project_id], ' together')} had {format_money(have)} "
            f"left of their equal shares, {format_money(cost - have)} short of its cost of {format_money(cost)}."
        )
        mask[groups] = True
        if paid_float is None:
            paid_float = _paid_float(engine, run)
        biggest = _paid_by_supporters_of(engine, run, paid_float, mask)
        mask[groups] = False
        if biggest:
            labels = [
                f"{election.instance.project(engine.ids[run.purchases[index].project]).label} ({format_money(amount)})"
                for amount, index in biggest
            ]
            explanation += f" They had spent their shares mainly on {' and '.join(labels)}."
        results[project_id] = ProjectResult(project_id, election.votes[project_id], False, None, None, explanation)
    for project_id, votes in election.votes.items():
        if votes == 0:
            results[project_id] = not_voted(project_id, votes, is_points=election.is_points)
    return results


def mes(instance: Instance, profile: Profile, *, tie_break: TieBreak = DEFAULT_TIE_BREAK) -> Outcome:
    """Method of Equal Shares with cost utilities (points for points ballots), without completion."""
    election = prepare(instance, profile, tie_break)
    engine = _engine(election)
    run = run_equal_shares(engine, _first_voter_budget(election))
    selected = [engine.ids[p] for p in run.selected()]
    parameters = {"voter_budget": str(run.voter_budget)}
    return outcome("mes", election, tie_break, selected, _equal_shares_results(election, engine, run), parameters)


def _is_exhaustive(engine: EngineElection, run: Run, budget: int) -> bool:
    funded = set(run.selected())
    left = budget - run.spent
    return all(engine.cost[p] > left for p in range(len(engine.ids)) if p not in funded)


def add1_run(engine: EngineElection, budget: int, first_voter_budget: Fraction, *, exhaustive_stop: bool) -> Run:
    """The Equal Shares run Add1 keeps (see the module docstring), skipping shares proven to change nothing."""

    def run_at(k: int) -> Run:
        return run_equal_shares(engine, first_voter_budget + k, spend_limit=budget)

    last_k = None if exhaustive_stop else budget
    k, run = 0, run_at(0)
    previous = run  # the run at k - 1 (at k == 0 never used: the first share cannot overspend)
    # A check of [k, k + step] costs about one run and saves step - 1 runs when it succeeds (it also gives
    # the run at k + step), so it starts at 2 and doubles on success. A failed check (which stops early)
    # is retried at half the step; when even 2 fails, the outcome is changing share by share, and checks
    # wait (longer after each such failure in a row).
    step, wait, patience = 2, 0, 1
    while True:
        if run.is_overspent:
            return previous
        if (exhaustive_stop and _is_exhaustive(engine, run, budget)) or (last_k is not None and k >= last_k):
            return run
        previous = run
        if wait > 0:
            wait -= 1
        else:
            while True:
                high = k + step if last_k is None else min(k + step, last_k)
                high_run = same_run_up_to(engine, run, first_voter_budget + high) if high > k + 1 else None
                if high_run is not None or high <= k + 2:
                    break
                step = max(2, min(step, high - k) // 2)
            if high_run is not None:
                # Every share up to high makes run's decisions: none overspends, none is exhaustive.
                k, run = high, high_run
                step, patience = 2 * step, 1
                continue
            step, wait, patience = 2, patience, 2 * patience
        k, run = k + 1, run_at(k + 1)


def mes_add1_run(
    instance: Instance,
    profile: Profile,
    *,
    tie_break: TieBreak = DEFAULT_TIE_BREAK,
    exhaustive_stop: bool = True,
    completion: bool = True,
) -> Outcome:
    """Equal Shares with Add1 (either stopping rule), optionally filling what is left by votes."""
    election = prepare(instance, profile, tie_break)
    engine = _engine(election)
    run = add1_run(engine, instance.budget, _first_voter_budget(election), exhaustive_stop=exhaustive_stop)
    results = _equal_shares_results(election, engine, run)
    selected = [engine.ids[p] for p in run.selected()]
    if completion:
        order = election.by_score if election.is_points else election.by_votes
        for project_id, left, is_funded in fill_in_order(election, order, instance.budget - run.spent, set(selected)):
            cost, votes = format_money(election.cost[project_id]), election.votes[project_id]
            if is_funded:
                selected.append(project_id)
                explanation = (
                    f"Funded when the budget left after Equal Shares was filled by votes: {format_money(left)} "
                    f"was left when its turn came and it costs {cost}."
                )
                results[project_id] = ProjectResult(project_id, votes, True, len(selected), "completion", explanation)
            else:
                explanation = (
                    f"{results[project_id].explanation} When the budget left after Equal Shares was filled by votes, "
                    f"only {format_money(left)} was left when its turn came."
                )
                results[project_id] = ProjectResult(project_id, votes, False, None, None, explanation)
    parameters = {
        "voter_budget": str(run.voter_budget),
        "voter_budget_increment": "1",
        "add1_stop": "first-exhaustive" if exhaustive_stop else "before-overspending",
        "completion": "add1+greedy" if completion else "add1",
    }
    return outcome("mes-add1", election, tie_break, selected, results, parameters)


def mes_add1(instance: Instance, profile: Profile, *, tie_break: TieBreak = DEFAULT_TIE_BREAK) -> Outcome:
    """Equal Shares, raising each voter's share one unit at a time (Add1), then filling what is left by votes."""
    return mes_add1_run(instance, profile, tie_break=tie_break, exhaustive_stop=True, completion=True)
