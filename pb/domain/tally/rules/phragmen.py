"""Sequential Phragmén: voters earn money at one steady rate; a project is bought once its supporters hold its cost.

Every voter starts with nothing and earns one unit of money per unit of time. At the first moment ``t``
at which the supporters of some project together hold its cost, they buy it and all their balances go
back to 0. Writing ``load_i`` for the time voter ``i`` last paid (0 at the start), the supporters of
``p`` hold ``|N_p| * t - sum(load_i)``, so ``p`` becomes affordable at

    t(p) = (cost(p) + sum of load_i over its supporters) / |N_p|

and each round buys the project with the smallest ``t(p)``. The rule stops as soon as a project that
becomes affordable cannot be paid for from the real budget left: if any of the projects tied for the
smallest time does not fit, nothing more is funded (this is pabutools' ``sequential_phragmen``, and the
reason the tie-break only chooses among projects that all fit). Projects costing more than the whole
budget are left out from the start, as pabutools does; projects nobody voted for are never funded.

Points ballots are counted as approvals of every project the voter gave any points to.

All decisions are exact: loads are Fractions, the supporters of each project are counted per load value
in integers, and a fast floating-point screen only shortlists the projects within rounding distance of
the earliest time, whose times are then compared as Fractions.
"""

from dataclasses import replace
from fractions import Fraction
from math import lcm

import numpy as np

from pb.domain.messages import N_
from pb.domain.tally.model import Instance, Outcome, Profile, ProjectResult
from pb.domain.tally.rules.common import Election, not_voted, outcome, prepare, stable_order, supporters_phrase
from pb.domain.tally.tie_breaking import DEFAULT_TIE_BREAK, TieBreak

# Floating-point times within this relative distance of the earliest are re-decided exactly. The
# float error of a time is a few ulps (about 1e-15 relative), so this is a very wide safety margin.
_SHORTLIST_MARGIN = 1e-9


def phragmen(instance: Instance, profile: Profile, *, tie_break: TieBreak = DEFAULT_TIE_BREAK) -> Outcome:
    """Sequential Phragmén with exact times; stops at the first project that becomes affordable but does not fit."""
    election = prepare(instance, profile, tie_break)
    run = _PhragmenRun(election)
    selected: list[str] = []
    results: dict[str, ProjectResult] = {}
    spent, budget = 0, instance.budget
    money = election.instance.money
    budget_text = money(budget)
    stop: tuple[str, Fraction] | None = None
    while run.candidates():
        earliest, tied = run.earliest()
        misfits = [p for p in tied if spent + election.cost[p] > budget]
        if misfits:
            stop = (min(misfits, key=election.rank.__getitem__), earliest)
            break
        winner = min(tied, key=election.rank.__getitem__)
        run.buy(winner, earliest)
        selected.append(winner)
        spent += election.cost[winner]
        votes, cost = election.votes[winner], money(election.cost[winner])
        explanation = N_(
            "Funded in round {round} of sequential Phragmén: by the time every voter had earned {earned}, {supporters} "
            "had earned its cost of {cost} since they last paid for a project, and spent it on it; {left} of the "
            "{budget} budget was then left.",
            round=len(selected), earned=money(earliest), supporters=supporters_phrase(votes, " together"),
            cost=cost, left=money(budget - spent), budget=budget_text,
        )
        results[winner] = ProjectResult(winner, votes, True, len(selected), "phragmen", explanation)
    left = money(budget - spent)
    for project_id in election.by_votes:
        if project_id in results:
            continue
        cost = money(election.cost[project_id])
        if election.cost[project_id] > budget:
            explanation = N_(
                "Not funded: it costs {cost}, more than the whole budget of {budget}.", cost=cost, budget=budget_text,
            )
        elif stop is not None and project_id == stop[0]:
            explanation = N_(
                "Not funded: its supporters would have had its cost of {cost} by the time every voter had earned "
                "{earned}, earlier than any other project left, but only {left} of the budget was left; sequential "
                "Phragmén stops here.", cost=cost, earned=money(stop[1]), left=left,
            )
        else:
            assert stop is not None  # every affordable project with votes is bought unless the rule stopped
            explanation = N_(
                "Not funded: sequential Phragmén stopped (when {stopper} did not fit in the {left} left) before its "
                "supporters had earned its cost of {cost}; they would have had it by the time every voter had earned "
                "{earned}.", stopper=election.instance.project(stop[0]).label, left=left, cost=cost,
                earned=money(run.time(project_id)),
            )
        results[project_id] = ProjectResult(project_id, election.votes[project_id], False, None, None, explanation)
    for project_id, votes in election.votes.items():
        if votes == 0:
            results[project_id] = not_voted(project_id, votes, is_points=election.is_points)
    parameters = {"ballots": "approval (any points count as approval)"} if election.is_points else {}
    election_for_outcome = election if not election.is_points else _votes_as_scores(election)
    return outcome("phragmen", election_for_outcome, tie_break, selected, results, parameters)


def _votes_as_scores(election: Election) -> Election:
    """Phragmén counts supporters, not points: the Outcome's votes are supporter counts."""
    return replace(election, score=election.votes)


class _PhragmenRun:
    """The state of one run: each project's supporters counted per load value, and the load values themselves.

    ``counts[p, k]`` is how many supporters of project ``p`` last paid at the k-th time (the 0th is 0).
    Buying a project moves its supporters' counts, in every project they support, to the new time; that is
    a few vectorised numpy operations over the winner's ballots, not a pass over the whole profile.
    """

    def __init__(self, election: Election) -> None:
        self.election = election
        ids = [project.id for project in election.instance.projects]
        self.ids = ids
        self.index = {project_id: position for position, project_id in enumerate(ids)}
        budget = election.instance.budget
        # project -> groups (as in the election), and group -> projects, as flat numpy arrays.
        group_lists = [np.asarray(election.supporters[p], dtype=np.int64) for p in ids]
        lengths = np.array([len(groups) for groups in group_lists], dtype=np.int64)
        self.project_start = np.concatenate(([0], np.cumsum(lengths)))
        self.project_groups = np.concatenate(group_lists) if group_lists else np.zeros(0, dtype=np.int64)
        owners = np.repeat(np.arange(len(ids), dtype=np.int64), lengths)
        group_count = len(election.multiplicities)
        by_group = stable_order(self.project_groups, group_count)
        self.group_projects = owners[by_group]
        self.group_start = np.concatenate(
            ([0], np.cumsum(np.bincount(self.project_groups, minlength=group_count)))
        ).astype(np.int64)
        self.multiplicity = np.asarray(election.multiplicities, dtype=np.float64)
        self.load = np.zeros(group_count, dtype=np.int64)  # index into times
        # Every time so far, as integers over one common denominator: times[k] == scaled_times[k] / scale.
        # Summing integers is what makes the exact check cheap; Fraction sums would renormalise at every step.
        self.scale = 1
        self.scaled_times = [0]
        self.float_times = np.zeros(len(ids) + 1)
        # Counts are whole numbers far below 2**53, so float64 holds them exactly; as floats they feed the screen's
        # matrix product without a conversion in every round.
        self.counts = np.zeros((len(ids), len(ids) + 1), dtype=np.float64)
        self.counts[:, 0] = [election.votes[p] for p in ids]
        self.cost = np.array([election.cost[p] for p in ids], dtype=np.float64)
        self.voters = np.array([max(election.votes[p], 1) for p in ids], dtype=np.float64)
        self.is_open = np.array([election.votes[p] > 0 and election.cost[p] <= budget for p in ids])

    def candidates(self) -> bool:
        return bool(self.is_open.any())

    def time(self, project_id: str) -> Fraction:
        """The exact time at which the project's supporters would together hold its cost."""
        row = self.counts[self.index[project_id]]
        paid_at = row.nonzero()[0]  # the few times at which this project's supporters last paid
        scaled_times = self.scaled_times
        held = sum(int(count) * scaled_times[k] for count, k in zip(row[paid_at].tolist(), paid_at.tolist()))
        scale = self.scale
        return Fraction(self.election.cost[project_id] * scale + held, self.election.votes[project_id] * scale)

    def earliest(self) -> tuple[Fraction, list[str]]:
        """The earliest time any open project becomes affordable, and every project affordable then."""
        used = len(self.scaled_times)
        approximate = (self.cost + self.counts[:, :used] @ self.float_times[:used]) / self.voters
        approximate[~self.is_open] = np.inf
        best = approximate.min()
        shortlist = np.flatnonzero(approximate <= best * (1 + _SHORTLIST_MARGIN))
        exact = {self.ids[position]: self.time(self.ids[position]) for position in shortlist}
        earliest = min(exact.values())
        return earliest, [project_id for project_id, time in exact.items() if time == earliest]

    def buy(self, project_id: str, time: Fraction) -> None:
        position = self.index[project_id]
        self.is_open[position] = False
        new = len(self.scaled_times)
        scale = lcm(self.scale, time.denominator)
        if scale != self.scale:
            factor = scale // self.scale
            self.scaled_times = [scaled * factor for scaled in self.scaled_times]
            self.scale = scale
        self.scaled_times.append(time.numerator * (scale // time.denominator))
        self.float_times[new] = float(time)
        groups = self.project_groups[self.project_start[position] : self.project_start[position + 1]]
        starts, ends = self.group_start[groups], self.group_start[groups + 1]
        lengths = ends - starts
        # Every (group, project it supports) pair of the winner's supporters, without a Python loop.
        offsets = np.repeat(starts - np.concatenate(([0], np.cumsum(lengths)[:-1])), lengths)
        projects = self.group_projects[offsets + np.arange(int(lengths.sum()))]
        pair_groups = np.repeat(groups, lengths)
        weights = self.multiplicity[pair_groups]
        # Each pair moves its group's voters, in that project's row, from the column of their old load to the new
        # one. The matrix has a row per project and a column per round; when the pairs are few against its size
        # (Toulouse: a few hundred against 183 x 184 cells) only their cells are changed, otherwise all are
        # counted at once. Sums of whole numbers far below 2**53: exact in float64 whatever the order.
        cells = projects * self.counts.shape[1] + self.load[pair_groups]
        if len(cells) * 8 < self.counts.size:
            np.subtract.at(self.counts.reshape(-1), cells, weights)
            np.add.at(self.counts[:, new], projects, weights)
        else:
            self.counts -= np.bincount(cells, weights=weights, minlength=self.counts.size).reshape(self.counts.shape)
            self.counts[:, new] += np.bincount(projects, weights=weights, minlength=len(self.ids))
        self.load[groups] = new
