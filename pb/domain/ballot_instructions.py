"""How to fill in a ballot of each design, in words: printed on the blank paper ballot, shown on the sheet entry page.

The sentences say what `pb.domain.ballots.problems` checks (budget, share of the budget to spend, number of
projects, points, ranks, category limits), so what a voter reads on paper is what an official's entry is held to.
"""

from collections.abc import Mapping

from pb.domain.ballots import APPROVAL, CUMULATIVE, KNAPSACK, RANKING, BallotRules
from pb.domain.messages import N_, Message, Nn_
from pb.domain.money import format_amount

# What the box beside each project holds on the paper, as its column's heading.
BOX_HEADINGS = {
    KNAPSACK: N_("Tick"),
    APPROVAL: N_("Tick"),
    CUMULATIVE: N_("Points"),
    RANKING: N_("Rank"),
}


def _how(rules: BallotRules) -> list[Message]:
    design, currency = rules.the_design, rules.currency
    if design.kind == KNAPSACK:
        found = [N_("Tick the box of each project you want to fund. Together the projects you tick may cost at most "
                    "{budget}, the district's budget.", budget=format_amount(rules.budget, currency))]
        if rules.min_spend:
            found.append(N_("They must cost at least {least} ({percent}% of the budget).",
                            least=format_amount(rules.min_spend, currency), percent=design.min_spend_percent))
        return found
    if design.kind == APPROVAL:
        return [N_("Tick the box of each project you support, whatever it costs.")]
    if design.kind == CUMULATIVE:
        found = [Nn_("You have {count:,} point to give. Write in a project's box how many points you give it; leave "
                     "the box empty for none.",
                     "You have {count:,} points to spread among the projects. Write in a project's box how many "
                     "points you give it; leave the box empty for none.", design.points)]
        if design.max_points_per_project is not None and design.max_points_per_project < design.points:
            found.append(Nn_("Give at most {count:,} point to one project.",
                             "Give at most {count:,} points to one project.", design.max_points_per_project))
        return found
    ranks = design.max_projects or 1
    if ranks == 1:
        return [N_("Rank your favourite project: write 1 in its box.")]
    return [
        Nn_("Rank up to {count:,} project: write 1 in the box of your first choice, 2 for your second, and so on, "
            "without gaps and without giving one rank to two projects.",
            "Rank up to {count:,} projects: write 1 in the box of your first choice, 2 for your second, and so on, "
            "without gaps and without giving one rank to two projects.", ranks),
        Nn_("In the count, the project ranked 1 scores {count:,} point, the one ranked 2 one point fewer, and so on.",
            "In the count, the project ranked 1 scores {count:,} points, the one ranked 2 one point fewer, and so on.",
            ranks),
    ]


def _how_many(rules: BallotRules) -> list[Message]:
    design = rules.the_design
    found = []
    if design.min_projects > 1:
        found.append({
            CUMULATIVE: Nn_("Give points to at least {count} project.", "Give points to at least {count} projects.",
                            design.min_projects),
            RANKING: Nn_("Rank at least {count} project.", "Rank at least {count} projects.", design.min_projects),
        }.get(design.kind) or Nn_("Tick at least {count} project.", "Tick at least {count} projects.",
                                  design.min_projects))
    if design.max_projects is not None and design.kind != RANKING:
        found.append(Nn_("Give points to at most {count} project.", "Give points to at most {count} projects.",
                         design.max_projects) if design.kind == CUMULATIVE else
                     Nn_("Tick at most {count} project.", "Tick at most {count} projects.", design.max_projects))
    return found


def _category_limits(rules: BallotRules, category_names: Mapping[int, str]) -> list[Message]:
    found = []
    for limit in rules.the_design.category_limits:
        name = category_names.get(limit.category_id, str(limit.category_id))
        if limit.max_projects is not None:
            found.append(Nn_("In {category}, choose at most {count} project.",
                             "In {category}, choose at most {count} projects.", limit.max_projects, category=name))
        cap = rules.category_budget(limit)
        if cap is not None:
            found.append(N_("In {category}, the projects you choose may cost at most {cap} ({percent}% of the "
                            "budget).", category=name, cap=format_amount(cap, rules.currency),
                            percent=limit.max_share_percent))
    return found


def instructions(rules: BallotRules, category_names: Mapping[int, str] | None = None) -> list[Message]:
    """The rules a ballot in a district must keep, one sentence each, in the order a voter needs them."""
    return _how(rules) + _how_many(rules) + _category_limits(rules, category_names or {})
