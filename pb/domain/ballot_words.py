"""A ballot design in plain words, as residents read it on the cycle page and officials on their control room."""

from collections.abc import Mapping

from pb.domain.ballots import APPROVAL, CUMULATIVE, KNAPSACK, RANKING, BallotDesign
from pb.domain.messages import N_, Message, Nn_
from pb.domain.money import format_amount

# How each counting rule an official may choose works, for residents (pb.services.cycles.RULE_NAMES).
RULE_WORDS = {
    "greedy": N_("Projects are funded in order of their number of votes, as long as the money lasts; a project that "
                 "no longer fits is skipped and the next one is tried."),
    "greedy-no-skip": N_("Projects are funded in order of their number of votes, as long as the money lasts; the "
                         "count stops at the first project that no longer fits."),
    "mes": N_("The Method of Equal Shares: the budget is split equally among the voters, and a project is funded when "
              "its supporters can pay for it together from their shares. Groups of residents get projects in "
              "proportion to their size. Money left over stays unspent."),
    "mes-add1": N_("The Method of Equal Shares: the budget is split equally among the voters, and a project is funded "
                   "when its supporters can pay for it together from their shares. Groups of residents get projects "
                   "in proportion to their size. Money left over is used for the projects with most votes that still "
                   "fit."),
}


def describe(design: BallotDesign, budget: int, currency: str,
             category_names: Mapping[int, str] | None = None) -> list[Message]:
    """One sentence per rule of the ballot: what a voter does, then the limits on the count and per category."""
    sentences = [_main(design, budget, currency)]
    if design.min_projects > 1 and design.kind != RANKING:
        sentences.append(_at_least(design))
    if design.kind == CUMULATIVE and design.max_projects:
        sentences.append(Nn_("Give points to at most {count} project.", "Give points to at most {count} projects.",
                             design.max_projects))
    if design.kind == RANKING and design.min_projects > 1:
        sentences.append(Nn_("Rank at least {count} project.", "Rank at least {count} projects.",
                             design.min_projects))
    names = category_names or {}
    for limit in design.category_limits:
        name = names.get(limit.category_id, str(limit.category_id))
        if limit.max_projects is not None and limit.max_share_percent is not None:
            sentences.append(Nn_(
                "In {category}: at most {count} project, costing at most {percent}% of the budget ({amount}).",
                "In {category}: at most {count} projects, costing at most {percent}% of the budget ({amount}).",
                limit.max_projects, category=name, percent=limit.max_share_percent,
                amount=format_amount(budget * limit.max_share_percent // 100, currency)))
        elif limit.max_projects is not None:
            sentences.append(Nn_("In {category}: at most {count} project.", "In {category}: at most {count} projects.",
                                 limit.max_projects, category=name))
        elif limit.max_share_percent is not None:
            sentences.append(N_("In {category}: projects costing at most {percent}% of the budget ({amount}) in all.",
                                category=name, percent=limit.max_share_percent,
                                amount=format_amount(budget * limit.max_share_percent // 100, currency)))
    return sentences


def _main(design: BallotDesign, budget: int, currency: str) -> Message:
    most = design.max_projects
    if design.kind == KNAPSACK:
        cap = format_amount(budget, currency)
        if design.min_spend_percent and most:
            return Nn_("Choose up to {count} project costing up to {budget} in all, spending at least {percent}%.",
                       "Choose up to {count} projects costing up to {budget} in all, spending at least {percent}%.",
                       most, budget=cap, percent=design.min_spend_percent)
        if design.min_spend_percent:
            return N_("Choose projects costing up to {budget} in all, spending at least {percent}%.", budget=cap,
                      percent=design.min_spend_percent)
        if most:
            return Nn_("Choose up to {count} project costing up to {budget} in all.",
                       "Choose up to {count} projects costing up to {budget} in all.", most, budget=cap)
        return N_("Choose projects costing up to {budget} in all.", budget=cap)
    if design.kind == APPROVAL:
        if most:
            return Nn_("Choose up to {count} project, whatever it costs.",
                       "Choose up to {count} projects, whatever they cost.", most)
        return N_("Choose as many projects as you like, whatever they cost.")
    if design.kind == CUMULATIVE:
        cap = design.max_points_per_project
        if cap is not None and cap < design.points:
            main = Nn_("Spread {count} point among the projects, at most {cap} on one.",
                       "Spread {count} points among the projects, at most {cap} on one.", design.points, cap=cap)
        else:
            main = Nn_("Spread {count} point among the projects.", "Spread {count} points among the projects.",
                       design.points)
        return main
    ranks = most or 1
    return Nn_("Rank up to {count} project: the first scores {count} point, the last 1.",
               "Rank up to {count} projects: the first scores {count} points, the last 1.", ranks)


def _at_least(design: BallotDesign) -> Message:
    if design.kind == CUMULATIVE:
        return Nn_("Give points to at least {count} project.", "Give points to at least {count} projects.",
                   design.min_projects)
    return Nn_("Choose at least {count} project.", "Choose at least {count} projects.", design.min_projects)
