"""The Method of Equal Shares with cost utilities, and its Add1 completion.

Method of Equal Shares with cost utilities. Each voter receives an equal share ``budget / voter_count``
(a Fraction; voters with an empty ballot get a share too). A supporter's utility from a project is its
cost. A project ``p`` is ``q``-affordable when its supporters can cover its cost paying at most ``q``
per unit of utility each, i.e. ``sum(min(money_i, q * cost(p))) == cost(p)``. Writing
``rho = q * cost(p)`` for the most any supporter pays, each round funds the project with the smallest
``q = rho / cost(p)``: the lowest price per unit of utility. Equivalently it maximises the "effective
vote count" ``cost(p) / rho``, which is simply the number of supporters while none of them has run
short; so with cost utilities a project's size does not count against it, unlike approval utilities,
which would minimise ``rho`` itself. Ties on ``q`` go to the tie-break; each supporter pays
``min(money_i, rho)``; rounds end when no project's supporters can cover its cost. All arithmetic is
exact (Fraction); no float enters a decision.

Add1 (as pabutools' ``method_of_equal_shares(..., voter_budget_increment=1)``): rerun Equal Shares with
the per-voter share raised by one currency unit at a time; keep the first outcome that is exhaustive
(no unfunded project with votes fits in the real budget left), or the last one before a run
overspends the real budget. What is left is then filled greedily by votes ("completion").

Projects nobody voted for are never funded by any rule.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction

from pb.domain.tally.model import ApprovalProfile, Instance, Outcome, ProjectResult, format_money
from pb.domain.tally.rules.common import Election, fill_by_votes, not_voted, outcome, prepare, supporters_phrase
from pb.domain.tally.tie_breaking import DEFAULT_TIE_BREAK, TieBreak


@dataclass(frozen=True)
class _Purchase:
    project_id: str
    payment: Fraction  # rho: the most any supporter paid
    payers: dict[int, Fraction]  # ballot group -> what each of its voters paid


@dataclass(frozen=True)
class _EqualSharesRun:
    voter_budget: Fraction
    purchases: tuple[_Purchase, ...]
    money: tuple[Fraction, ...]  # what each voter of each ballot group had left at the end
    spent: int


def _max_payment(
    cost: int, groups: Sequence[int], money: list[Fraction], multiplicities: tuple[int, ...]
) -> Fraction | None:
    """The smallest rho with sum(min(money, rho)) == cost over the supporters; None if they cannot afford it."""
    remaining_cost = Fraction(cost)
    remaining_voters = sum(multiplicities[group] for group in groups)
    # Water-filling: whoever has less than an equal split pays all they have; repeat for the rest.
    # Usually two or three passes, cheaper than sorting the supporters by money every time.
    while remaining_voters:
        share = remaining_cost / remaining_voters
        poor, rich = [], []
        # Cross-multiplied integers: the same exact comparison as Fraction's, without its dispatch cost.
        share_numerator, share_denominator = share.numerator, share.denominator
        for group in groups:
            has = money[group]
            is_poor = has.numerator * share_denominator < share_numerator * has.denominator
            (poor if is_poor else rich).append(group)
        if not poor:
            return share
        remaining_cost -= sum(money[group] * multiplicities[group] for group in poor)
        remaining_voters -= sum(multiplicities[group] for group in poor)
        groups = rich
    return None


def _equal_shares(
    election: Election, voter_budget: Fraction, spend_limit: int | None = None
) -> _EqualSharesRun | None:
    """One run of Equal Shares; None as soon as it spends more than spend_limit."""
    multiplicities = election.multiplicities
    money = [voter_budget] * len(multiplicities)
    # Money only falls, so a project's price per unit of utility only rises: last round's value is a
    # lower bound, and visiting projects by it lets a round stop once no project can beat the best.
    lower_bound = {project_id: Fraction(1, election.votes[project_id]) for project_id in election.by_votes}
    purchases: list[_Purchase] = []
    spent = 0
    while True:
        best: tuple[Fraction, int, str, Fraction] | None = None
        for project_id in sorted(lower_bound, key=lambda p: (lower_bound[p], election.rank[p])):
            if best is not None and lower_bound[project_id] > best[0]:
                break
            cost = election.cost[project_id]
            payment = _max_payment(cost, election.supporters[project_id], money, multiplicities)
            if payment is None:
                del lower_bound[project_id]  # for good: its supporters will never have more
                continue
            lower_bound[project_id] = payment / cost
            candidate = (payment / cost, election.rank[project_id], project_id, payment)
            if best is None or candidate[:2] < best[:2]:
                best = candidate
        if best is None:
            return _EqualSharesRun(voter_budget, tuple(purchases), tuple(money), spent)
        _, _, project_id, payment = best
        payers = {group: min(money[group], payment) for group in election.supporters[project_id]}
        for group, paid in payers.items():
            money[group] -= paid
        purchases.append(_Purchase(project_id, payment, payers))
        del lower_bound[project_id]
        spent += election.cost[project_id]
        if spend_limit is not None and spent > spend_limit:
            return None


def _equal_shares_results(election: Election, run: _EqualSharesRun) -> dict[str, ProjectResult]:
    """Explanations for a run: what each funded project's supporters paid, and why the others fell short."""
    results = {}
    multiplicities = election.multiplicities
    for round_number, purchase in enumerate(run.purchases, start=1):
        project_id, votes = purchase.project_id, election.votes[purchase.project_id]
        paid_less = sum(multiplicities[group] for group, paid in purchase.payers.items() if paid < purchase.payment)
        each = "" if votes == 1 else " each"
        explanation = (
            f"Funded in round {round_number} of Equal Shares: {supporters_phrase(votes, '')} "
            f"paid {format_money(purchase.payment)}{each}"
        )
        if paid_less:
            explanation += f", except {paid_less:,} who paid less because they had run out of money"
        results[project_id] = ProjectResult(
            project_id, votes, True, round_number, "equal-shares", explanation + ".", str(purchase.payment)
        )
    for project_id in election.by_votes:
        if project_id in results:
            continue
        groups, cost = election.supporters[project_id], election.cost[project_id]
        have = sum(run.money[group] * multiplicities[group] for group in groups)
        explanation = (
            f"Not funded: {supporters_phrase(election.votes[project_id], ' together')} had {format_money(have)} "
            f"left of their equal shares, {format_money(cost - have)} short of its cost of {format_money(cost)}."
        )
        spent_on = [
            (sum(purchase.payers.get(group, 0) * multiplicities[group] for group in groups), purchase.project_id)
            for purchase in run.purchases
        ]
        biggest = sorted((item for item in spent_on if item[0] > 0), key=lambda item: -item[0])[:2]
        if biggest:
            labels = [f"{election.instance.project(other).label} ({format_money(amount)})" for amount, other in biggest]
            explanation += f" They had spent their shares mainly on {' and '.join(labels)}."
        results[project_id] = ProjectResult(project_id, election.votes[project_id], False, None, None, explanation)
    for project_id, votes in election.votes.items():
        if votes == 0:
            results[project_id] = not_voted(project_id, votes)
    return results


def _first_voter_budget(instance: Instance, profile: ApprovalProfile) -> Fraction:
    # With no voters nobody can pay for anything; any share gives the same empty outcome.
    return Fraction(instance.budget, profile.voter_count) if profile.voter_count else Fraction(0)


def mes(instance: Instance, profile: ApprovalProfile, *, tie_break: TieBreak = DEFAULT_TIE_BREAK) -> Outcome:
    """Method of Equal Shares with cost utilities, without completion."""
    election = prepare(instance, profile, tie_break)
    run = _equal_shares(election, _first_voter_budget(instance, profile))
    assert run is not None  # without a spend limit a run always finishes
    selected = [purchase.project_id for purchase in run.purchases]
    parameters = {"voter_budget": str(run.voter_budget)}
    return outcome("mes", election, tie_break, selected, _equal_shares_results(election, run), parameters)


def _is_exhaustive(election: Election, run: _EqualSharesRun) -> bool:
    funded = {purchase.project_id for purchase in run.purchases}
    left = election.instance.budget - run.spent
    return all(election.cost[p] > left for p in election.by_votes if p not in funded)


def mes_add1(instance: Instance, profile: ApprovalProfile, *, tie_break: TieBreak = DEFAULT_TIE_BREAK) -> Outcome:
    """Equal Shares, raising each voter's share one unit at a time (Add1), then filling what is left by votes."""
    election = prepare(instance, profile, tie_break)
    run = _equal_shares(election, _first_voter_budget(instance, profile))
    assert run is not None
    while not _is_exhaustive(election, run):
        raised = _equal_shares(election, run.voter_budget + 1, spend_limit=instance.budget)
        if raised is None:
            break
        run = raised
    results = _equal_shares_results(election, run)
    selected = [purchase.project_id for purchase in run.purchases]
    for project_id, left, is_funded in fill_by_votes(election, instance.budget - run.spent, set(selected)):
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
    parameters = {"voter_budget": str(run.voter_budget), "voter_budget_increment": "1", "completion": "add1+greedy"}
    return outcome("mes-add1", election, tie_break, selected, results, parameters)
