"""Which ties a vote-ordered count broke, and what broke each one, in words a resident can read.

The standard counts (greedy and its variants) take projects from the most votes down; projects with the same votes
follow the tie-break. A tie is worth explaining when it separated a funded project from one that was not. The
words are rebuilt from the stored count (votes, costs, funded or not) and the tie-break's recorded parameters, so
they can be shown for any published count, and they say exactly what the tie-break compared: the cost, then (for
the seeded tie-break) a lottery ticket drawn from the published seed.
"""

from collections import defaultdict
from dataclasses import dataclass

from pb.domain.messages import N_, Message, Nn_
from pb.domain.tally.tie_breaking import SeededTieBreak

# The rules whose order is votes first, tie-break second: a tie on votes there is a tie the tie-break decides.
VOTE_ORDERED_RULES = frozenset({"greedy", "greedy-threshold", "greedy-no-skip"})


@dataclass(frozen=True)
class CountedProject:
    """One project as a stored count has it."""

    project_id: int
    title: str
    votes: int
    cost: int
    is_funded: bool


def tie_break_words(parameters: dict[str, str], fallback: str = "") -> Message | str:
    """The tie-break a count used, for people, from the parameters it recorded (translated where it is shown)."""
    name = parameters.get("tie_break")
    if name == SeededTieBreak.name and "seed" in parameters:
        return N_("the cheaper project first, then the one with more votes, then a lottery drawn from the published "
                  "seed {seed}", seed=parameters["seed"])
    if name == "lexicographic":
        return N_("the project with the lower number first")
    return fallback or str(name or "")


def _listed(titles: list[str]) -> Message:
    if len(titles) == 2:
        return N_("{first} and {second}", first=titles[0], second=titles[1])
    return N_("{others} and {last}", others=", ".join(titles[:-1]), last=titles[-1])


def _in_order(titles: list[str]) -> Message | str:
    if len(titles) == 1:
        return titles[0]
    return N_("{first}, then {rest}", first=titles[0], rest=_in_order(titles[1:]))


def broken_ties(rule: str, parameters: dict[str, str], projects: list[CountedProject]) -> list[Message]:
    """A sentence per tie on votes that separated funded from unfunded projects, saying what put them in order.

    Only the vote-ordered rules are explained; Equal Shares orders by what supporters pay, and a tie there is rarer
    than one in a few hundred rounds. Points ballots tie on points, and the tie-break may then look at how many
    people voted, which a stored count does not keep, so they are left out rather than explained wrongly.
    """
    if rule not in VOTE_ORDERED_RULES or parameters.get("score") == "points":
        return []
    seed = parameters.get("seed")
    is_seeded = parameters.get("tie_break") == SeededTieBreak.name and seed is not None
    lottery = SeededTieBreak(int(seed)) if is_seeded else None
    groups: dict[int, list[CountedProject]] = defaultdict(list)
    for project in projects:
        if project.votes > 0:
            groups[project.votes].append(project)
    sentences = []
    for votes in sorted(groups, reverse=True):
        tied = groups[votes]
        if len(tied) < 2 or len({project.is_funded for project in tied}) < 2:
            continue
        if lottery is not None:
            tied.sort(key=lambda p: (p.cost, lottery.lottery_ticket(str(p.project_id))))
            costs = [project.cost for project in tied]
            same_cost = len(set(costs)) < len(costs)
            if len(set(costs)) == 1:
                reason = N_("they cost the same, so the lottery drawn from the published seed {seed} decided", seed=seed)
            elif same_cost:
                reason = N_("the cheaper project comes first, and the lottery drawn from the published seed {seed} "
                            "decided between those that cost the same", seed=seed)
            else:
                reason = N_("the cheaper project comes first")
        else:
            tied.sort(key=lambda p: str(p.project_id))
            reason = N_("the project with the lower number comes first")
        titles = [project.title for project in tied]
        funded = [project.title for project in tied if project.is_funded]
        unfunded = [project.title for project in tied if not project.is_funded]
        sentences.append(Nn_(
            "{projects} had {count:,} vote each. The tie-break put them in this order: {order}, because {reason}. "
            "Funded: {funded}. Not funded: {unfunded}.",
            "{projects} had {count:,} votes each. The tie-break put them in this order: {order}, because {reason}. "
            "Funded: {funded}. Not funded: {unfunded}.",
            votes, projects=_listed(titles), order=_in_order(titles), reason=reason,
            funded=", ".join(funded), unfunded=", ".join(unfunded),
        ))
    return sentences
