"""Ballot rules: what makes an approval ballot valid for a district, as a list of plain-words problems."""

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from pb.domain.errors import BallotError
from pb.domain.messages import N_, Nn_
from pb.domain.money import format_amount


@dataclass(frozen=True)
class BallotRules:
    """The limits a cycle sets on every ballot in one district."""

    budget: int
    currency: str
    min_projects: int = 0
    max_projects: int | None = None


def problems(choices: Iterable[int], costs: Mapping[int, int], rules: BallotRules) -> list[str]:
    """Everything wrong with a ballot choosing `choices` among projects with `costs` (empty: valid)."""
    chosen = list(choices)
    found: list[str] = []
    if len(set(chosen)) != len(chosen):
        found.append(N_("A project was chosen more than once."))
    unknown = [project_id for project_id in set(chosen) if project_id not in costs]
    if unknown:
        found.append(N_("Some choices are not projects on this ballot; reload the page and choose again."))
    known = {project_id for project_id in chosen if project_id in costs}
    total = sum(costs[project_id] for project_id in known)
    if total > rules.budget:
        found.append(N_(
            "Your choices cost {total}, {excess} more than the budget of {budget}.",
            total=format_amount(total, rules.currency), excess=format_amount(total - rules.budget, rules.currency),
            budget=format_amount(rules.budget, rules.currency),
        ))
    if not chosen:
        found.append(N_("Choose at least one project."))
    elif len(known) < rules.min_projects:
        found.append(Nn_("Choose at least {count} project (you chose {chosen}).", "Choose at least {count} projects (you chose {chosen}).",
                          rules.min_projects, chosen=len(known)))
    if rules.max_projects is not None and len(known) > rules.max_projects:
        found.append(Nn_("Choose at most {count} project (you chose {chosen}).", "Choose at most {count} projects (you chose {chosen}).",
                          rules.max_projects, chosen=len(known)))
    return found


def check(choices: Iterable[int], costs: Mapping[int, int], rules: BallotRules) -> frozenset[int]:
    """The validated set of choices, or a BallotError carrying every problem."""
    chosen = list(choices)
    found = problems(chosen, costs, rules)
    if found:
        raise BallotError(N_("Your ballot was not saved: {problems}", problems=tuple(found)), problems=found)
    return frozenset(chosen)
