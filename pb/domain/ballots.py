"""Ballot rules: what makes an approval ballot valid for a district, as a list of plain-words problems."""

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from pb.domain.errors import BallotError
from pb.domain.money import format_amount


@dataclass(frozen=True)
class BallotRules:
    """The limits a cycle sets on every ballot in one district."""

    budget: int
    currency: str
    min_projects: int = 0
    max_projects: int | None = None


def _projects(count: int) -> str:
    return f"{count} project" if count == 1 else f"{count} projects"


def problems(choices: Iterable[int], costs: Mapping[int, int], rules: BallotRules) -> list[str]:
    """Everything wrong with a ballot choosing `choices` among projects with `costs` (empty: valid)."""
    chosen = list(choices)
    found: list[str] = []
    if len(set(chosen)) != len(chosen):
        found.append("A project was chosen more than once.")
    unknown = [project_id for project_id in set(chosen) if project_id not in costs]
    if unknown:
        found.append("Some choices are not projects on this ballot; reload the page and choose again.")
    known = {project_id for project_id in chosen if project_id in costs}
    total = sum(costs[project_id] for project_id in known)
    if total > rules.budget:
        found.append(
            f"Your choices cost {format_amount(total, rules.currency)}, "
            f"{format_amount(total - rules.budget, rules.currency)} more than the budget of "
            f"{format_amount(rules.budget, rules.currency)}."
        )
    if not chosen:
        found.append("Choose at least one project.")
    elif len(known) < rules.min_projects:
        found.append(f"Choose at least {_projects(rules.min_projects)} (you chose {len(known)}).")
    if rules.max_projects is not None and len(known) > rules.max_projects:
        found.append(f"Choose at most {_projects(rules.max_projects)} (you chose {len(known)}).")
    return found


def check(choices: Iterable[int], costs: Mapping[int, int], rules: BallotRules) -> frozenset[int]:
    """The validated set of choices, or a BallotError carrying every problem."""
    chosen = list(choices)
    found = problems(chosen, costs, rules)
    if found:
        raise BallotError("Your ballot was not saved: " + " ".join(found), problems=found)
    return frozenset(chosen)
