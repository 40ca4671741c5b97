"""Whether a cycle's ballots add up, per district: what blocks the count and its approval, and what officials approve.

Paper: every sheet in a polling station's box, counted or spoilt, was handed to a resident an official marked as a
paper voter, so a district may never have more agreed and spoilt sheets than marked paper voters; fewer is only a
warning (a voter may take the sheet home). Online: every ballot counted online is one online voter. Online turnout is
read through `pb.services.voting.turnout_by_channel`, never from the tables directly, so this module does not care how
online participation is stored.
"""

from dataclasses import dataclass, field

from sqlalchemy import func, select

from pb.domain.errors import ConflictError
from pb.domain.messages import N_, Nn_, join
from pb.extensions import db
from pb.models import Ballot, Cycle, District, PaperSheet, Proposal, ProjectResult, TallyRun
from pb.services import paper, voting


@dataclass
class DistrictTotals:
    """One district's figures as the officials approving the count see them, with what blocks and what to check."""

    district_id: int
    name: str
    verified: int
    online_voters: int
    paper_voters: int
    agreed_sheets: int
    spoilt_sheets: int
    unresolved_sheets: int
    stored_ballots: int
    is_counted: bool = False
    online_ballots_counted: int = 0
    paper_ballots_counted: int = 0
    budget: int = 0
    spent: int = 0
    funded: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    @property
    def ballots_counted(self) -> int:
        return self.online_ballots_counted + self.paper_ballots_counted


def _paper_problem(district: District, agreed: int, spoilt: int, paper_voters: int) -> str | None:
    if agreed + spoilt <= paper_voters:
        return None
    if spoilt:
        return N_("{district}: {agreed} agreed and {spoilt} spoilt paper sheets but {voters} paper voters recorded.",
                  district=district.name, agreed=agreed, spoilt=spoilt, voters=paper_voters)
    return N_("{district}: {agreed} agreed paper sheets but {voters} paper voters recorded.",
              district=district.name, agreed=agreed, voters=paper_voters)


def paper_problems(cycle: Cycle) -> list[str]:
    """Districts whose agreed and spoilt paper sheets outnumber the paper voters recorded there, with the numbers."""
    sheets, turnout = paper.sheet_counts(cycle), voting.turnout_by_channel(cycle)
    found = []
    for district in cycle.districts:
        problem = _paper_problem(district, sheets[district.id].agreed, sheets[district.id].spoilt,
                                 turnout[district.id]["paper"])
        if problem:
            found.append(problem)
    return found


def _stored_ballots(cycle: Cycle) -> dict[int, int]:
    return dict(db.session.execute(
        select(Ballot.district_id, func.count()).where(Ballot.cycle_id == cycle.id).group_by(Ballot.district_id)
    ).all())


def _funded_titles(run: TallyRun) -> list[str]:
    return list(db.session.scalars(
        select(Proposal.title).join(ProjectResult, ProjectResult.project_id == Proposal.id)
        .where(ProjectResult.tally_run_id == run.id, ProjectResult.is_funded.is_(True))
        .order_by(ProjectResult.position)
    ))


def _check_count(totals: DistrictTotals, district: District, run: TallyRun) -> None:
    totals.is_counted = True
    totals.paper_ballots_counted = totals.agreed_sheets
    totals.online_ballots_counted = run.ballot_count - totals.agreed_sheets
    totals.budget, totals.spent, totals.funded = run.budget, run.spent, _funded_titles(run)
    if run.ballot_count != totals.stored_ballots:
        totals.problems.append(Nn_(
            "{district}: the count read {count} ballot, but {stored} are stored now; count again.",
            "{district}: the count read {count} ballots, but {stored} are stored now; count again.",
            run.ballot_count, district=district.name, stored=totals.stored_ballots))
    if totals.online_ballots_counted != totals.online_voters:
        totals.problems.append(Nn_(
            "{district}: {count} ballot was counted online but {voters} residents voted online.",
            "{district}: {count} ballots were counted online but {voters} residents voted online.",
            totals.online_ballots_counted, district=district.name, voters=totals.online_voters))
    if not totals.funded:
        totals.warnings.append(N_("{district}: the count funds no project.", district=district.name))


def district_totals(cycle: Cycle) -> list[DistrictTotals]:
    """Per district: turnout by channel, paper sheets, the stored count, and every problem and warning."""
    sheets, turnout = paper.sheet_counts(cycle), voting.turnout_by_channel(cycle)
    verified, stored = voting.verified_counts(cycle), _stored_ballots(cycle)
    runs = {run.district_id: run for run in db.session.scalars(select(TallyRun).where(TallyRun.cycle_id == cycle.id))}
    found = []
    for district in cycle.districts:
        counted_sheets = sheets[district.id]
        totals = DistrictTotals(
            district_id=district.id, name=district.name, verified=verified[district.id],
            online_voters=turnout[district.id]["online"], paper_voters=turnout[district.id]["paper"],
            agreed_sheets=counted_sheets.agreed, spoilt_sheets=counted_sheets.spoilt,
            unresolved_sheets=counted_sheets.pending + counted_sheets.disagreed, stored_ballots=stored.get(district.id, 0),
            budget=district.budget,
        )
        problem = _paper_problem(district, totals.agreed_sheets, totals.spoilt_sheets, totals.paper_voters)
        if problem:
            totals.problems.append(problem)
        totals.problems.extend(counted_sheets.problems)
        run = runs.get(district.id)
        if run is None:
            totals.problems.append(N_("{district} is not counted yet.", district=district.name))
        else:
            _check_count(totals, district, run)
        if totals.paper_voters > totals.agreed_sheets + totals.spoilt_sheets:
            totals.warnings.append(N_(
                "{district}: {voters} paper voters recorded but only {sheets} sheets entered; check the polling "
                "stations' records for the missing sheets.", district=district.name, voters=totals.paper_voters,
                sheets=totals.agreed_sheets + totals.spoilt_sheets))
        if totals.spoilt_sheets:
            totals.warnings.append(N_("{district}: {count} paper sheets were agreed as spoilt and are not counted.",
                                      district=district.name, count=totals.spoilt_sheets))
        if totals.online_voters + totals.paper_voters > totals.verified:
            totals.warnings.append(N_(
                "{district}: {voters} residents voted but only {verified} are verified there now.",
                district=district.name, voters=totals.online_voters + totals.paper_voters, verified=totals.verified))
        found.append(totals)
    return found


def require_reconciled(cycle: Cycle, refusal: str) -> None:
    """Refuse (ConflictError, every problem listed) unless every district is counted and its ballots add up."""
    problems = [problem for totals in district_totals(cycle) for problem in totals.problems]
    if problems:
        raise ConflictError(join(refusal, *problems), problems=problems)
