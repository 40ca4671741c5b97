"""Why a count differs from the selection a city published, and what would reproduce the city's selection.

``pb-tally`` compares its count with a file's ``selected`` column. When the two differ, a researcher wants to know
whether pb or the data is at fault, so ``diagnose`` looks for the cause, cheapest first, and says what it found:

1. The city's selection costs more than the budget: the city added money (Amsterdam funded two projects tied for
   the last place), so no count within the file's budget gives it.
2. Projects tied on votes (or points) were split by the tie: the same rule, with ties broken in favour of the
   projects the city funded, gives the city's selection. The tied projects are named, and the command line's own
   tie-breaks (the default, lower cost first; ``--tie-break lexicographic``) are tried too.
3. Another greedy variant gives it: the count stops at the first project that does not fit (``greedy-no-skip``),
   or goes on; or a minimum score the file does not give (the lowest score the city funded) gives it.
4. None of these: for a greedy count, a project the city passed over although it had more votes than one it funded
   and fitted in what the city left unspent proves that no greedy count of these ballots gives the city's
   selection (votes missing from the file, such as paper ballots, or another rule, such as limits per category).

The file's own ``comment`` is quoted last: pabulib records there what it knows of how the city counted.
Each finding is one sentence in English for the command line; nothing here is shown on the site.
"""

from collections.abc import Collection, Sequence
from dataclasses import dataclass, replace
from typing import ClassVar

from pb.domain.tally.model import ApprovalProfile, Instance, Outcome, Profile, TallyError, format_money
from pb.domain.tally.rules import run_rule
from pb.domain.tally.tie_breaking import DEFAULT_TIE_BREAK, LEXICOGRAPHIC, TieBreak

GREEDY_RULES = ("greedy", "greedy-threshold", "greedy-no-skip")


@dataclass(frozen=True)
class FavouringTieBreak(TieBreak):
    """A tie-break that puts the favoured projects first (by id among themselves): the most a tie can do for them."""

    favoured: frozenset[str]
    name: ClassVar[str] = "favouring"

    def describe(self) -> str:
        return "the city's funded projects first"

    def order(self, project_ids: Collection[str], instance: Instance, profile: ApprovalProfile) -> list[str]:
        return sorted(project_ids, key=lambda project_id: (project_id not in self.favoured, project_id))


def diagnose(
    instance: Instance,
    profile: Profile,
    outcome: Outcome,
    published: Sequence[str],
    *,
    tie_break: TieBreak = DEFAULT_TIE_BREAK,
    comment: str = "",
) -> list[str]:
    """Sentences saying how outcome (a count of instance and profile) comes to differ from the published selection,
    and what reproduces the published one; [] when they do not differ."""
    city = frozenset(published)
    if city == frozenset(outcome.selected):
        return []
    diagnosis = _Diagnosis(instance, profile, outcome, city, tie_break)
    findings = diagnosis.over_budget() or diagnosis.tie() or diagnosis.other_greedy() or diagnosis.not_greedy()
    if not findings:
        findings = ["pb found no rule, tie-break or minimum score that reproduces the city's selection."]
    if comment.strip():
        findings.append(f"The file's comment: {' '.join(comment.split())}")
    return findings


class _Diagnosis:
    def __init__(
        self, instance: Instance, profile: Profile, outcome: Outcome, city: frozenset[str], tie_break: TieBreak
    ) -> None:
        self.instance, self.profile, self.outcome, self.city = instance, profile, outcome, city
        self.tie_break = tie_break
        self.score = outcome.votes
        self.unit = "points" if outcome.parameters.get("score") == "points" else "votes"
        self.cost = {project.id: project.cost for project in instance.projects}

    def money(self, amount: int) -> str:
        return format_money(amount, self.instance.money_exponent)

    def reproduces(self, rule: str, tie_break: TieBreak, instance: Instance | None = None) -> bool:
        try:
            counted = run_rule(rule, instance or self.instance, self.profile, tie_break=tie_break)
        except TallyError:
            return False
        return frozenset(counted.selected) == self.city

    def over_budget(self) -> list[str]:
        spent = sum(self.cost.get(project_id, 0) for project_id in self.city)
        if spent <= self.instance.budget:
            return []
        return [
            f"The city's selection costs {self.money(spent)}, more than the budget of {self.money(self.instance.budget)}:"
            " the city added money, so no count within the budget gives its selection."
        ]

    def tie(self) -> list[str]:
        rule = self.outcome.rule
        if not self.reproduces(rule, FavouringTieBreak(self.city)):
            return []
        only_pb = [p for p in self.outcome.selected if p not in self.city]
        only_city = sorted(self.city - set(self.outcome.selected), key=lambda p: -self.score.get(p, 0))
        pairs = []
        for project_id in only_city:
            tied = [other for other in only_pb if self.score.get(other) == self.score.get(project_id)]
            if tied:
                pairs.append(f"{project_id} with {', '.join(tied)} ({self.score[project_id]:,} {self.unit} each)")
        ties = f" ({'; '.join(pairs)})" if pairs else ""
        findings = [
            f"A tie{ties} was broken otherwise than by pb's tie-break ({self.outcome.tie_break}): {rule} with ties "
            "broken in favour of the projects the city funded gives the city's selection."
        ]
        for option, tie_break in (("--tie-break lexicographic", LEXICOGRAPHIC), ("the default tie-break", DEFAULT_TIE_BREAK)):
            if tie_break != self.tie_break and self.reproduces(rule, tie_break):
                findings.append(f"{option} reproduces it.")
        return findings

    def other_greedy(self) -> list[str]:
        if self.outcome.rule not in GREEDY_RULES:
            return []
        for rule in GREEDY_RULES:
            if rule != self.outcome.rule and self.reproduces(rule, self.tie_break):
                return [f"--rule {rule} reproduces the city's selection."]
        lowest = min((self.score.get(project_id, 0) for project_id in self.city), default=0)
        if lowest > self.instance.min_project_score:
            raised = replace(self.instance, min_project_score=lowest)
            for rule in ("greedy-threshold", "greedy-no-skip"):
                if self.reproduces(rule, self.tie_break, raised):
                    given = self.instance.min_project_score
                    gives = f"gives {given:,}" if given else "gives none"
                    return [
                        f"A minimum of {lowest:,} {self.unit} to be funded reproduces it with --rule {rule} (the file "
                        f"{gives}; add min_project_score_threshold;{lowest} to its META)."
                    ]
        return []

    def not_greedy(self) -> list[str]:
        if self.outcome.rule not in GREEDY_RULES:
            return []
        left = self.instance.budget - sum(self.cost.get(project_id, 0) for project_id in self.city)
        passed_over = [
            p for p in self.cost if p not in self.city and self.score.get(p, 0) > 0 and self.cost[p] <= left
        ]
        funded = sorted(self.city, key=lambda p: self.score.get(p, 0))
        if not passed_over or not funded or max(self.score[p] for p in passed_over) <= self.score.get(funded[0], 0):
            return []
        stronger = max(passed_over, key=lambda p: (self.score[p], p))
        weaker = funded[0]
        return [
            f"The city did not fund {stronger} ({self.score[stronger]:,} {self.unit}, costing "
            f"{self.money(self.cost[stronger])}) though it fitted in the {self.money(left)} the city left unspent, "
            f"and funded {weaker} with fewer ({self.score.get(weaker, 0):,}): no greedy count of these ballots gives "
            "the city's selection. The city counted votes that are not in the file, or used another rule."
        ]
