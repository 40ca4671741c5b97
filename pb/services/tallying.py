"""Counting the ballots of every district with the cycle's rule, and reading the stored outcome back."""

import json

from sqlalchemy import delete, func, select

from pb.domain import cycle as cycle_rules
from pb.domain.errors import ConflictError, PermissionDenied
from pb.domain.tally import ApprovalProfile, Instance, Outcome, Project, run_rule, seeded_tie_break
from pb.extensions import db
from pb.models import Ballot, Cycle, District, PaperSheet, Participation, ProjectResult, TallyRun, User
from pb.services import audit, load, paper, use_case
from pb.services.proposals import projects_on_ballot


def count_district(cycle: Cycle, district: District) -> tuple[Outcome, int]:
    """Run the cycle's rule on one district's ballots; returns the outcome and the number of ballots read."""
    projects = projects_on_ballot(cycle.id, district.id)
    instance = Instance(
        budget=district.budget,
        projects=tuple(Project(id=str(p.id), cost=p.cost, name=p.title) for p in projects),
    )
    ballots = db.session.scalars(select(Ballot).where(Ballot.district_id == district.id)).all()
    profile = ApprovalProfile.from_ballots([str(choice.project_id) for choice in ballot.choices] for ballot in ballots)
    outcome = run_rule(cycle.rule, instance, profile, tie_break=seeded_tie_break(cycle.tie_break_seed))
    return outcome, len(ballots)


def _check_ballots_add_up(district: District, read: int) -> None:
    """Refuse to count if any ballot was acknowledged but not stored, stored but not read, or the reverse.

    Online, each acknowledged voter has exactly one stored ballot. Paper is checked apart: the residents marked at
    a polling station and the sheets in its box are counted by different people and differ by every spoilt or
    missing sheet, so marked paper voters are turnout, and each agreed (not spoilt) sheet must have one ballot.
    """
    acknowledged = db.session.scalar(
        select(func.count()).select_from(Participation)
        .where(Participation.district_id == district.id, Participation.channel != "paper")
    )
    stored = db.session.scalar(select(func.count()).select_from(Ballot).where(Ballot.district_id == district.id))
    agreed_sheets = db.session.scalar(
        select(func.count()).select_from(PaperSheet)
        .where(PaperSheet.district_id == district.id, PaperSheet.status == paper.AGREED)
    )
    paper_stored = db.session.scalar(
        select(func.count()).select_from(PaperSheet).join(Ballot, PaperSheet.ballot_id == Ballot.id)
        .where(PaperSheet.district_id == district.id, PaperSheet.status == paper.AGREED)
    )
    online_stored, online_read = stored - paper_stored, read - paper_stored
    if acknowledged == online_stored == online_read and agreed_sheets == paper_stored:
        return
    paper_words = (
        f" Besides these, {agreed_sheets} paper sheets are agreed and {paper_stored} ballots are stored for them."
        if agreed_sheets or paper_stored else ""
    )
    raise ConflictError(
        f"The count in {district.name} was stopped because the ballots do not add up: {acknowledged} voters were "
        f"told their ballot was saved, {online_stored} ballots are stored and {online_read} were read for the "
        f"count.{paper_words} Nothing was counted; ask the system administrator to investigate before counting again."
    )


def _paper_report(sheets: paper.DistrictSheets) -> dict[str, int]:
    return {"entered": sheets.entered, "agreed": sheets.agreed, "spoilt": sheets.spoilt}


def _display_order(outcome: Outcome) -> list[str]:
    funded = list(outcome.selected)
    others = sorted(
        (pid for pid in outcome.projects if pid not in outcome.selected),
        key=lambda pid: (-outcome.votes.get(pid, 0), int(pid)),
    )
    return funded + others


@use_case
def run_tally(actor: User, cycle_id: int) -> list[TallyRun]:
    """An official counts every district; running it again replaces the earlier count."""
    if not actor.is_official:
        raise PermissionDenied("Only officials can run the count.")
    cycle = load(Cycle, cycle_id, "cycle")
    cycle_rules.require_phase("tally", cycle.phase)
    unresolved = paper.unresolved_problems(cycle)
    if unresolved:
        raise ConflictError(
            "The votes were not counted: " + " ".join(unresolved)
            + " Every paper sheet needs two entries that agree (or a correction) before the count.",
            problems=unresolved,
        )
    db.session.execute(delete(TallyRun).where(TallyRun.cycle_id == cycle.id))
    sheets = paper.sheet_counts(cycle)
    runs = []
    for district in cycle.districts:
        outcome, ballot_count = count_district(cycle, district)
        _check_ballots_add_up(district, ballot_count)
        run = TallyRun(
            cycle_id=cycle.id, district_id=district.id, rule=outcome.rule, tie_break=outcome.tie_break,
            parameters=json.dumps(outcome.parameters, sort_keys=True), budget=outcome.budget,
            spent=outcome.spent, ballot_count=ballot_count, run_by_id=actor.id,
        )
        for position, project_id in enumerate(_display_order(outcome), start=1):
            result = outcome.projects[project_id]
            run.results.append(
                ProjectResult(
                    project_id=int(project_id), votes=result.votes, is_funded=result.is_selected,
                    position=position, explanation=result.explanation,
                )
            )
        db.session.add(run)
        runs.append(run)
        audit.record(
            actor, "run-tally", f"district:{district.id}", cycle_id=cycle.id,
            after={"rule": outcome.rule, "selected": list(outcome.selected), "spent": outcome.spent,
                   "ballots": ballot_count, "tie_break": outcome.tie_break,
                   "paper_sheets": _paper_report(sheets[district.id])},
        )
    return runs


def tally_runs(cycle: Cycle) -> dict[int, TallyRun]:
    """The stored count per district id."""
    runs = db.session.scalars(select(TallyRun).where(TallyRun.cycle_id == cycle.id)).all()
    return {run.district_id: run for run in runs}


def published_runs(cycle: Cycle) -> dict[int, TallyRun]:
    """The stored count per district, only once results are public."""
    cycle_rules.require_phase("see-results", cycle.phase)
    return tally_runs(cycle)
