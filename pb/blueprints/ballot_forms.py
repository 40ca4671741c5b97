"""Reading a submitted ballot of any design from a form: the online ballot and the paper sheet entry share it.

The fields are the same on both pages:
- knapsack and approval: one checkbox per project, `project` = the project id;
- cumulative: one number input per project, `points-<project id>` (empty or 0: no points);
- ranking: one select per project, `rank-<project id>` (empty: not ranked; 1 = first).
Anything that is not a whole number is refused as a whole ballot, naming no project (the page shows it again).
"""

from collections.abc import Mapping

from pb.domain.ballots import CUMULATIVE, RANKING, BallotDesign
from pb.domain.errors import BallotError
from pb.domain.messages import N_
from pb.domain.numbers import parse_whole_number

NOT_PROJECTS = N_("Some choices are not projects on this ballot; reload the page and choose again.")
FIELD_PREFIXES = {CUMULATIVE: "points-", RANKING: "rank-"}


def _valued(form: Mapping, prefix: str, refusal: str) -> dict[int, int]:
    ballot: dict[int, int] = {}
    for name in form:
        if not name.startswith(prefix):
            continue
        project_id = parse_whole_number(name[len(prefix):])
        text = (form.get(name) or "").strip()
        if project_id is None:
            raise BallotError(NOT_PROJECTS)
        if text == "":
            continue
        value = parse_whole_number(text)
        if value is None:
            raise BallotError(refusal)
        if value:
            ballot[project_id] = value
    return ballot


def submitted_ballot(form, design: BallotDesign) -> dict[int, int] | list[int]:
    """The ballot a form submitted: project id -> points or rank, or the list of ticked project ids."""
    if design.kind == CUMULATIVE:
        return _valued(form, FIELD_PREFIXES[CUMULATIVE], N_("Points are whole numbers of 0 or more."))
    if design.kind == RANKING:
        return _valued(form, FIELD_PREFIXES[RANKING], N_("Ranks are whole numbers from 1."))
    chosen = [parse_whole_number(value) for value in form.getlist("project")]
    if None in chosen:
        raise BallotError(NOT_PROJECTS)
    return [project_id for project_id in chosen if project_id is not None]


def shown_ballot(form, design: BallotDesign) -> dict[int, int]:
    """What a refused form submitted, as well as it can be read, to show it again (never raises).

    A field that cannot be read is left out; every other one is shown as the voter entered it.
    """
    prefix = FIELD_PREFIXES.get(design.kind)
    if prefix is None:
        return dict.fromkeys(
            (number for number in map(parse_whole_number, form.getlist("project")) if number is not None), 1)
    shown = {}
    for name in form:
        if name.startswith(prefix):
            project_id = parse_whole_number(name[len(prefix):])
            value = parse_whole_number((form.get(name) or "").strip())
            if project_id is not None and value:
                shown[project_id] = value
    return shown
