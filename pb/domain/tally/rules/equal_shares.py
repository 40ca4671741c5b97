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

Speed without giving up exactness: see ``equal_shares_engine`` for how floats choose and exact arithmetic
decides in one run, and ``add1`` for how Add1 reads its shares: blocks of shares proven to fund the same
projects are skipped with one check, and where the outcome changes at many shares, those are read by
Equal Shares in floats (``equal_shares_float``), which proves each decision or hands the share to the
exact engine. The run Add1 keeps is always made by the exact engine. Explanations print amounts to the
hundredth of a main unit: what a losing project's supporters had left, and what they paid for, are taken
from float sums where an error bound proves how they round (and which payments were biggest), else summed
exactly; either way the text is the exact amounts' text.

Projects nobody voted for are never funded by any rule.
"""

import math
from fractions import Fraction

import numpy as np

from pb.domain.messages import N_, Message, join
from pb.domain.tally.model import Instance, Outcome, Profile, ProjectResult
from pb.domain.tally.rules.add1 import add1_run
from pb.domain.tally.rules.common import (
    Election,
    fill_in_order,
    not_voted,
    outcome,
    prepare,
    stable_order,
    supporters_phrase,
)
from pb.domain.tally.rules.equal_shares_engine import (
    _UNIT,
    EngineElection,
    Purchase,
    Run,
    dot,
    engine_election,
    run_equal_shares,
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


# Losing projects whose supporters' payments are shortlisted together hold about this many supports between
# them: few enough that their arrays stay small, many enough to spare a numpy call per project and step.
_SHORTLIST_SUPPORTS = 2048


def _first_voter_budget(election: Election) -> Fraction:
    voters = sum(election.multiplicities)
    # With no voters nobody can pay for anything; any share gives the same empty outcome.
    return Fraction(election.instance.budget, voters) if voters else Fraction(0)


class _Payments:
    """What every ballot group paid towards each purchase of a run, listed group by group.

    For a losing project, the purchases its supporters paid most towards are shortlisted in floats and
    then ranked exactly (see biggest).
    """

    def __init__(self, engine: EngineElection, run: Run) -> None:
        self.engine, self.run = engine, run
        projects = [purchase.project for purchase in run.purchases]
        groups = np.concatenate([engine.supporters[p] for p in projects] + [np.zeros(0, dtype=np.int64)])
        sizes = [len(engine.supporters[p]) for p in projects]
        order = stable_order(groups, engine.group_count)

        def entries(arrays: list[np.ndarray], dtype: type) -> np.ndarray:
            return np.concatenate(arrays + [np.zeros(0, dtype=dtype)]).astype(dtype, copy=False)[order]

        # Entry i: the supporter at position[i] among the supporters of purchase purchase_index[i] paid
        # amount[i] (a float estimate), all it had if is_poor[i], else the price for w * u = paying[i].
        self.purchase_index = np.repeat(np.arange(len(projects), dtype=np.int32), sizes)[order]
        self.position = entries([np.arange(size, dtype=np.int32) for size in sizes], np.int32)
        self.amount = entries([self._paid(purchase) for purchase in run.purchases], np.float64)
        self.is_poor = entries([purchase.poor for purchase in run.purchases], np.bool_)
        # w * u of the supporters who paid the price (0 for those who paid all they had): integers below
        # 2**53, so float sums of them are exact.
        paying = entries([engine.weighted_utility[p] for p in projects], np.float64)
        self.rich_paying = np.where(self.is_poor, 0.0, paying)
        self.start = np.zeros(engine.group_count + 1, dtype=np.int64)
        np.cumsum(np.bincount(groups, minlength=engine.group_count), out=self.start[1:])

    def _paid(self, purchase: Purchase) -> np.ndarray:
        """Float estimate of what each supporter paid (weighted): the price, or all it had."""
        engine, p = self.engine, purchase.project
        paid = float(purchase.price) * engine.utility_float[p]
        paid[purchase.poor] = self.run.state.value[purchase.poor_classes]
        return engine.weight_float[p] * paid

    def _entries(self, groups: np.ndarray) -> np.ndarray:
        """The entries of the given groups, in one array."""
        begin, lengths = self.start[groups], self.start[groups + 1] - self.start[groups]
        return np.repeat(begin - np.cumsum(lengths) + lengths, lengths) + np.arange(int(lengths.sum()))

    def biggest(self, projects: list[int], exponent: int) -> dict[int, list[tuple[Fraction, int]]]:
        """For each project, the exact amounts its supporters paid towards purchases (purchase index), the two
        biggest. Floats shortlist them for many projects at once when they have few supporters each (Toulouse
        2024 has eighty such losing projects); a project with many supporters is done alone. An amount is given
        exactly, or rounded to the hundredth of a main unit that explanations print (exponent: the currency's
        decimal places) where its float estimate proves both that rounding and the order."""
        found: dict[int, list[tuple[Fraction, int]]] = {}
        piece: list[int] = []
        supports = 0
        for p in projects:
            piece.append(p)
            supports += len(self.engine.supporters[p])
            if supports >= _SHORTLIST_SUPPORTS:
                found.update(self._biggest(piece, exponent))
                piece, supports = [], 0
        if piece:
            found.update(self._biggest(piece, exponent))
        return found

    def _biggest(self, projects: list[int], exponent: int) -> dict[int, list[tuple[Fraction, int]]]:
        engine, run = self.engine, self.run
        count = len(run.purchases)
        if not count:  # nothing was bought: nobody paid towards anything
            return {p: [] for p in projects}
        groups = np.concatenate([engine.supporters[p] for p in projects])
        entries = self._entries(groups)
        purchase_index = self.purchase_index[entries]
        is_poor = self.is_poor[entries]
        # Row i, column j: what the supporters of projects[i] paid towards purchase j, in floats (the entries of
        # projects[i] are entries[bounds[i] : bounds[i + 1]], its supporters' entries in turn).
        if len(projects) == 1:
            bounds, cell, has_poor = [0, len(entries)], purchase_index, [bool(is_poor.any())]
        else:
            lengths = np.concatenate(([0], np.cumsum(self.start[groups + 1] - self.start[groups])))
            bounds = lengths[np.cumsum([0] + [len(engine.supporters[p]) for p in projects])].tolist()
            cell = np.repeat(np.arange(len(projects)), np.diff(bounds)) * count + purchase_index
            poor_before = np.concatenate(([0], np.cumsum(is_poor)))[bounds]
            has_poor = (poor_before[1:] > poor_before[:-1]).tolist()
        shape = (len(projects), count)
        estimates = np.bincount(cell, weights=self.amount[entries], minlength=shape[0] * count).reshape(shape)
        rich_utility = np.bincount(cell, weights=self.rich_paying[entries], minlength=shape[0] * count).reshape(shape)
        ranked = np.argsort(-estimates, axis=1, kind="stable")
        positive = np.count_nonzero(estimates > 0, axis=1)
        # Floats only shortlist: anything near the second biggest is recomputed exactly before ranking.
        rows = np.arange(len(projects))
        cutoff = estimates[rows, ranked[rows, np.clip(positive - 1, 0, 1)]] * (1 - 1e-6)
        shortlisted = np.count_nonzero((estimates >= cutoff[:, None]) & (estimates > 0), axis=1).tolist()
        found = {}
        money_error = run.state.error()
        for i, p in enumerate(projects):
            begin, end = bounds[i], bounds[i + 1]
            candidates = ranked[i, : shortlisted[i]].tolist()
            # What the supporters paid, in floats: within money_error of the money of each who paid all they had,
            # and within rounding of the rest (a product and a sum of at most end - begin terms).
            weight_error = engine.supporter_count[p] * money_error
            row = estimates[i].tolist()
            floats = [row[j] for j in candidates]
            errors = [weight_error + (end - begin + 8) * _UNIT * 2 * (estimate + weight_error) for estimate in floats]
            rounded = _rounded_biggest(floats, errors, exponent)
            if rounded is not None:
                found[p] = list(zip(rounded, candidates))
                continue
            exact = []
            for index in candidates:
                purchase = run.purchases[index]
                amount = purchase.price * int(rich_utility[i, index])
                if has_poor[i]:
                    here = is_poor[begin:end] & (purchase_index[begin:end] == index)
                    poor = self.position[entries[begin:end][here]]
                    if len(poor):
                        # poor_classes lists the poor supporters' classes in the order of their positions.
                        classes = purchase.poor_classes[np.searchsorted(np.flatnonzero(purchase.poor), poor)]
                        amount += run.state.exact_sum(classes, engine.weight[purchase.project][poor])
                if amount > 0:
                    exact.append((amount, index))
            exact.sort(key=lambda item: (-item[0], item[1]))
            found[p] = exact[:2]
        return found


def _left_and_short(engine: EngineElection, run: Run, p: int, exponent: int) -> tuple[Fraction, Fraction]:
    """What p's supporters had left, and how far short of its cost that was: rounded to the hundredth of a main
    unit that explanations print where the float sum proves both roundings, else exactly."""
    classes, cost = run.money_class[engine.supporters[p]], engine.cost[p]
    estimate = dot(engine.weight_float[p], run.state.value[classes])
    # Each supporter's float money is within the run's money error; the products and the sum add roundings.
    weight_error = engine.supporter_count[p] * run.state.error()
    error = weight_error + (len(classes) + 8) * _UNIT * 2 * (estimate + weight_error)
    have = _rounding(estimate - error, estimate + error, exponent)
    short = _rounding(cost - estimate - error, cost - estimate + error, exponent)
    if have is not None and short is not None:
        return have, short
    exact = run.state.exact_sum(classes, engine.weight[p])
    return exact, cost - exact


def _rounded_biggest(estimates: list[float], errors: list[float], exponent: int) -> list[Fraction] | None:
    """The two biggest amounts, rounded to the hundredth of a main unit, from float estimates (biggest first)
    within the errors given; None unless the estimates prove which two are biggest, in which order, and how
    each rounds. format_money prints an amount exactly as it prints its rounding, so either can be shown."""
    lows = [estimate - error for estimate, error in zip(estimates, errors)]
    highs = [estimate + error for estimate, error in zip(estimates, errors)]
    rounded = []
    for k in range(min(2, len(estimates))):
        if lows[k] <= 0 or any(high >= lows[k] for high in highs[k + 1 :]):
            return None
        amount = _rounding(lows[k], highs[k], exponent)
        if amount is None:
            return None
        rounded.append(amount)
    return rounded


def _rounding(low: float, high: float, exponent: int) -> Fraction | None:
    """The hundredth of a main unit that every amount from low to high (in smallest units) rounds to, as an
    amount in smallest units; None when they do not all round alike (a half-way point lies between)."""
    scale = 100 / 10**exponent  # smallest units to hundredths of the main unit
    # In hundredths, widened by the rounding of the scaling and of the half added below.
    low, high = low * scale, high * scale
    low, high = low - 8 * _UNIT * (abs(low) + 1), high + 8 * _UNIT * (abs(high) + 1)
    nearest = math.floor(low + 0.5)
    if math.floor(high + 0.5) != nearest or low + 0.5 == nearest:
        return None
    return Fraction(nearest * 10**exponent, 100)


def _funded_explanation(is_points: bool, votes: int, paid_less: int, **values: object) -> Message:
    """Round, supporters and price of a project Equal Shares funded, and who paid less for running out of money."""
    if is_points:
        if paid_less:
            return N_("Funded in round {round} of Equal Shares: {supporters} paid {price} per point they gave it, "
                      "except {fewer:,} who paid less because they had run out of money.", **values)
        return N_("Funded in round {round} of Equal Shares: {supporters} paid {price} per point they gave it.", **values)
    if votes == 1:
        if paid_less:
            return N_("Funded in round {round} of Equal Shares: {supporters} paid {price}, except {fewer:,} who paid "
                      "less because they had run out of money.", **values)
        return N_("Funded in round {round} of Equal Shares: {supporters} paid {price}.", **values)
    if paid_less:
        return N_("Funded in round {round} of Equal Shares: {supporters} paid {price} each, except {fewer:,} who paid "
                  "less because they had run out of money.", **values)
    return N_("Funded in round {round} of Equal Shares: {supporters} paid {price} each.", **values)


def _equal_shares_results(election: Election, engine: EngineElection, run: Run) -> dict[str, ProjectResult]:
    """Explanations for a run: what each funded project's supporters paid, and why the others fell short."""
    results = {}
    for round_number, purchase in enumerate(run.purchases, start=1):
        p = purchase.project
        project_id, votes = engine.ids[p], election.votes[engine.ids[p]]
        paid_less = int(engine.weight[p][purchase.poor].sum())
        explanation = _funded_explanation(
            election.is_points, votes, paid_less, round=round_number, supporters=supporters_phrase(votes, ""),
            price=election.instance.money(purchase.price), fewer=paid_less,
        )
        results[project_id] = ProjectResult(
            project_id, votes, True, round_number, "equal-shares", explanation, str(purchase.price)
        )
    losing = [p for p, project_id in enumerate(engine.ids) if project_id not in results]
    biggest = _Payments(engine, run).biggest(losing, election.instance.money_exponent) if losing else {}
    for p in losing:
        project_id = engine.ids[p]
        have, short = _left_and_short(engine, run, p, election.instance.money_exponent)
        explanation = N_(
            "Not funded: {supporters} had {have} left of their equal shares, {short} short of its cost of {cost}.",
            supporters=supporters_phrase(election.votes[project_id], " together"), have=election.instance.money(have),
            short=election.instance.money(short), cost=election.instance.money(engine.cost[p]),
        )
        if biggest[p]:
            labels = [
                Message(
                    "{project} ({amount})", project=election.instance.project(engine.ids[run.purchases[index].project]).label,
                    amount=election.instance.money(amount),
                )
                for amount, index in biggest[p]
            ]
            spent_on = labels[0] if len(labels) == 1 else N_("{first} and {second}", first=labels[0], second=labels[1])
            explanation = join(explanation, N_("They had spent their shares mainly on {projects}.", projects=spent_on))
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
            cost, votes = election.instance.money(election.cost[project_id]), election.votes[project_id]
            if is_funded:
                selected.append(project_id)
                explanation = N_(
                    "Funded when the budget left after Equal Shares was filled by votes: {left} was left when its turn "
                    "came and it costs {cost}.", left=election.instance.money(left), cost=cost,
                )
                results[project_id] = ProjectResult(project_id, votes, True, len(selected), "completion", explanation)
            else:
                explanation = join(results[project_id].explanation, N_(
                    "When the budget left after Equal Shares was filled by votes, only {left} was left when its turn "
                    "came.", left=election.instance.money(left),
                ))
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
