"""The published record in every form: the numbers behind each chart, CSV, JSON, pabulib files, the PDF report
and the public ballot list. All of it is read from the stored count (TallyRun), never counted again here.

Nothing in this module writes to the database. Who may download what is the views' business: the results (CSV,
JSON, PDF), the ballot list and the charts are public once results are; the district pabulib files are for officials.
Amounts in explanations are rounded to the cent; the exact figures are in the JSON (see docs/results.md).
"""

import csv
import io
import random
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime

from flask_babel import gettext
from sqlalchemy import select

from pb import charts, pdf
from pb.charts import ChartData
from pb.domain import timetable
from pb.domain.ballots import CUMULATIVE, KNAPSACK, BallotDesign
from pb.domain.cycle import Phase
from pb.domain.errors import NotFound, PhaseError
from pb.domain.messages import N_, Figure, Message
from pb.domain.money import amount_for_input, format_amount, minor_unit_exponent
from pb.domain.tally import Project, pabulib
from pb.extensions import db
from pb.models import Cycle, District, Proposal, TallyRun
from pb.services import ballot_designs, load, printing, tallying, voting

# Turnout is no vote count: it may be shown from the opening of the vote, unlike anything per project.
TURNOUT_PHASES = frozenset({Phase.VOTING, Phase.TALLYING, Phase.RESULTS, Phase.CLOSED})
PUBLIC_CHARTS = ("budget-by-category", "budget-by-district", "turnout", "ballots-per-day")
NO_CATEGORY = N_("No category")


def district_of(cycle: Cycle, district_id: int) -> District:
    """The cycle's district with this id; NotFound for a district of another cycle or none."""
    district = load(District, district_id, "district")
    if district.cycle_id != cycle.id:
        raise NotFound("There is no such district in this cycle.")
    return district


def _money(cycle: Cycle, amount: int) -> str:
    """An amount as exports and chart images write it; the web shows it in the reader's number style."""
    return format_amount(amount, cycle.currency)


def _count(number: int) -> Figure:
    return Figure(f"{number:,}", "count", number)


def _scale(cycle: Cycle) -> int:
    return 10 ** minor_unit_exponent(cycle.currency)


def percent(part: int, whole: int) -> str:
    return Figure(f"{100 * part / whole:.1f} %", "share", part, whole) if whole else "–"


def _require_turnout_phase(cycle: Cycle) -> None:
    if cycle.phase not in TURNOUT_PHASES:
        raise PhaseError(
            N_("Turnout is shown once voting has opened. This cycle is now: {phase}.", phase=cycle.phase.label.lower())
        )


# The numbers behind the charts.


def votes_chart(cycle: Cycle, district_id: int) -> ChartData:
    """Votes per project in one district, funded projects marked, against the budget (published results only)."""
    run = tallying.published_run(cycle, district_id)
    district = run.district
    results = run.results
    funded = sum(result.is_funded for result in results)
    terms = tallying.district_terms(district)
    words = {
        "votes": N_(
            "Bar chart of the votes for each of the {count} projects in {district}, funded projects first. {funded} "
            "were funded, using {spent} of the budget of {budget}. The table beside the chart gives the same numbers.",
            count=len(results), district=district.name, funded=funded, spent=_money(cycle, run.spent),
            budget=_money(cycle, run.budget),
        ),
        "points": N_(
            "Bar chart of the points residents gave each of the {count} projects in {district}, funded projects "
            "first. {funded} were funded, using {spent} of the budget of {budget}. The table beside the chart gives "
            "the same numbers.", count=len(results), district=district.name, funded=funded,
            spent=_money(cycle, run.spent), budget=_money(cycle, run.budget),
        ),
        "rank_score": N_(
            "Bar chart of the rank score of each of the {count} projects in {district}, funded projects first. "
            "{funded} were funded, using {spent} of the budget of {budget}. The table beside the chart gives the "
            "same numbers.", count=len(results), district=district.name, funded=funded,
            spent=_money(cycle, run.spent), budget=_money(cycle, run.budget),
        ),
    }
    return ChartData(
        kind="votes",
        title=Message(terms.title.template, district=district.name),
        description=words[terms.unit],
        labels=tuple(result.project.title for result in results),
        series=((terms.column, tuple(r.votes for r in results)), (N_("Cost"), tuple(r.cost for r in results))),
        columns=(N_("Project"), terms.column, N_("Cost"), N_("Funded")),
        rows=tuple(
            (r.project.title, _count(r.votes), _money(cycle, r.cost), N_("yes") if r.is_funded else N_("no"))
            for r in results
        ),
        marks=tuple(result.is_funded for result in results),
        limit=run.budget,
        unit=cycle.currency,
        scale=_scale(cycle),
    )


def budget_by_category_chart(cycle: Cycle) -> ChartData:
    """The money given to funded projects per category, all districts together (published results only)."""
    runs = tallying.published_runs(cycle)
    amounts: dict[str, int] = defaultdict(int)
    for run in runs.values():
        for result in run.results:
            if result.is_funded:
                category = result.project.category
                amounts[category.name if category else NO_CATEGORY] += result.cost
    ordered = sorted(amounts.items(), key=lambda item: (-item[1], item[0]))
    total = sum(amounts.values())
    return ChartData(
        kind="budget-by-category",
        title=N_("Funded budget by category"),
        description=N_(
            "Bar chart of the money given to funded projects in each of {count} categories, {total} in all. "
            "The table beside the chart gives the same numbers.", count=len(ordered), total=_money(cycle, total),
        ),
        labels=tuple(name for name, _ in ordered),
        series=((N_("Funded"), tuple(amount for _, amount in ordered)),),
        columns=(N_("Category"), N_("Funded"), N_("Share")),
        rows=tuple((name, _money(cycle, amount), percent(amount, total)) for name, amount in ordered),
        unit=cycle.currency,
        scale=_scale(cycle),
    )


def budget_by_district_chart(cycle: Cycle) -> ChartData:
    """Each district's budget, split into what the funded projects use and what is left (published results only)."""
    runs = tallying.published_runs(cycle)
    districts = [district for district in cycle.districts if district.id in runs]
    spent = tuple(runs[d.id].spent for d in districts)
    left = tuple(runs[d.id].budget - runs[d.id].spent for d in districts)
    return ChartData(
        kind="budget-by-district",
        title=N_("Budget used and left by district"),
        description=N_(
            "Stacked bar chart of the budget of each of {count} districts: used by funded projects, and left over; "
            "{used} used of {budget}. The table beside the chart gives the same numbers.",
            count=len(districts), used=_money(cycle, sum(spent)), budget=_money(cycle, sum(spent) + sum(left)),
        ),
        labels=tuple(d.name for d in districts),
        series=((N_("Used"), spent), (N_("Left"), left)),
        columns=(N_("District"), N_("Budget"), N_("Used"), N_("Left")),
        rows=tuple(
            (d.name, _money(cycle, runs[d.id].budget), _money(cycle, used), _money(cycle, rest))
            for d, used, rest in zip(districts, spent, left)
        ),
        unit=cycle.currency,
        scale=_scale(cycle),
    )


def turnout_chart(cycle: Cycle) -> ChartData:
    """Voters per district, online and on paper, against the verified residents (from the opening of the vote)."""
    _require_turnout_phase(cycle)
    channels, verified = voting.turnout_by_channel(cycle), voting.verified_counts(cycle)
    districts = cycle.districts
    online = tuple(channels[d.id]["online"] for d in districts)
    paper = tuple(channels[d.id]["paper"] for d in districts)
    eligible = tuple(verified[d.id] for d in districts)
    voters = sum(online) + sum(paper)
    return ChartData(
        kind="turnout",
        title=N_("Turnout by district"),
        description=N_(
            "Bar chart of the residents who voted in each of {count} districts, online and on paper, drawn against "
            "the verified residents: {voters:,} voters of {eligible:,} verified residents. "
            "The table beside the chart gives the same numbers.", count=len(districts), voters=voters,
            eligible=sum(eligible),
        ),
        labels=tuple(d.name for d in districts),
        series=((N_("Online"), online), (N_("Paper"), paper), (N_("Verified residents"), eligible)),
        columns=(N_("District"), N_("Online"), N_("Paper"), N_("Verified residents"), N_("Turnout")),
        rows=tuple(
            (d.name, _count(o), _count(p), _count(e), percent(o + p, e))
            for d, o, p, e in zip(districts, online, paper, eligible)
        ),
    )


def turnout_per_day(cycle: Cycle) -> list[tuple[date, int, int]]:
    """Voters per day of the vote, online and on paper: when they first voted, never what."""
    days: dict[date, dict[str, int]] = defaultdict(lambda: {"online": 0, "paper": 0})
    for day, _, channel, count in voting.voters_per_day(cycle):
        days[day][channel] += count
    return [(day, counts["online"], counts["paper"]) for day, counts in sorted(days.items())]


def ballots_per_day_chart(cycle: Cycle) -> ChartData:
    """Voters per day during the vote, online and on paper (turnout only, from the opening of the vote)."""
    _require_turnout_phase(cycle)
    days = turnout_per_day(cycle)
    total = sum(online + paper for _, online, paper in days)
    return ChartData(
        kind="ballots-per-day",
        title=N_("Voters per day"),
        description=N_(
            "Bar chart of how many residents voted on each of {count} days, online and on paper, {total:,} in all. "
            "It shows turnout only, no votes. The table beside the chart gives the same numbers.",
            count=len(days), total=total,
        ),
        labels=tuple(day.isoformat() for day, _, _ in days),
        series=((N_("Online"), tuple(o for _, o, _ in days)), (N_("Paper"), tuple(p for _, _, p in days))),
        columns=(N_("Day"), N_("Online"), N_("Paper"), N_("Total")),
        rows=tuple((day.isoformat(), _count(o), _count(p), _count(o + p)) for day, o, p in days),
    )


def cycle_chart(cycle: Cycle, kind: str) -> ChartData:
    """One of the cycle-wide charts by name; NotFound for a name that is none."""
    builders = {
        "budget-by-category": budget_by_category_chart,
        "budget-by-district": budget_by_district_chart,
        "turnout": turnout_chart,
        "ballots-per-day": ballots_per_day_chart,
    }
    if kind not in builders:
        raise NotFound(N_("There is no chart called {kind}; the charts are: {charts}.", kind=repr(kind[:40]), charts=", ".join(builders)))
    return builders[kind](cycle)


# Files for officials.


CSV_COLUMNS = ("district", "project_id", "title", "category", "cost", "votes", "funded", "rule", "position", "explanation")


# What makes a spreadsheet read a cell as a formula (OWASP, "CSV Injection"): = + - @, a tab or a line break first,
# and the full-width and small forms (＝ ＋ － ＠, ﹦ ﹢ ﹣ ﹫) that some spreadsheets fold to them.
FORMULA_PREFIXES = frozenset("=+-@\t\r\n\uff1d\uff0b\uff0d\uff20\ufe66\ufe62\ufe63\ufe6b")


def spreadsheet_cell(text: str) -> str:
    """Human-facing text made safe for a CSV cell: a leading apostrophe when it would start a formula.

    Spaces before the prefix do not help, as spreadsheets skip them. Only for text people wrote (titles, names,
    explanations); never for data a recount reads, which must stay byte-exact (see docs/recount.md).
    """
    if text.lstrip(" \u00a0\u3000")[:1] in FORMULA_PREFIXES:
        return "'" + text
    return text


# Where a district's count reads points or rank scores, the `votes` column is `score`, and two columns say what the
# score is (votes, points, rank_score) and how many voters chose, gave points to or ranked the project.
POINTS_CSV_COLUMNS = tuple("score" if column == "votes" else column for column in CSV_COLUMNS) + ("score_unit", "voters")


def results_csv(cycle: Cycle) -> str:
    """The published results as CSV text with a byte-order mark, so Excel and LibreOffice read it as UTF-8.

    A cycle whose every district counts votes (knapsack, approval) has the columns it always had; one with points or
    rank scores anywhere writes `score`, `score_unit` and `voters` instead of `votes`.
    """
    runs = tallying.published_runs(cycle)
    terms = {district.id: tallying.district_terms(district) for district in cycle.districts if district.id in runs}
    has_points = any(words.is_points for words in terms.values())
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    columns = POINTS_CSV_COLUMNS if has_points else CSV_COLUMNS
    writer.writerow([f"cost_{cycle.currency}" if column == "cost" else column for column in columns])
    for district in cycle.districts:
        run = runs.get(district.id)
        supporters = tallying.supporters(run) if run and has_points else {}
        for result in run.results if run else []:
            project = result.project
            row = [
                spreadsheet_cell(district.name), project.id, spreadsheet_cell(project.title),
                spreadsheet_cell(project.category.name) if project.category else "",
                amount_for_input(result.cost, cycle.currency), result.votes, "yes" if result.is_funded else "no",
                run.rule, result.position, spreadsheet_cell(result.explanation),
            ]
            if has_points:
                row += [terms[district.id].unit, supporters.get(result.project_id, 0)]
            writer.writerow(row)
    return "\ufeff" + buffer.getvalue()


def _project_record(result, terms: tallying.ScoreTerms, supporters: dict[int, int]) -> dict:
    """One project's published result; a points or ranking count names its score so, with the voters behind it."""
    record = {
        "id": result.project_id,
        "title": result.project.title,
        "category": result.project.category.name if result.project.category else None,
        "cost": result.cost,
        terms.unit: result.votes,
    }
    if terms.is_points:
        record["voters"] = supporters.get(result.project_id, 0)
    record |= {"is_funded": result.is_funded, "position": result.position, "explanation": result.explanation}
    return record


def _district_record(cycle: Cycle, district: District, run: TallyRun, turnout: dict, verified: int) -> dict:
    design = ballot_designs.district_design(district)
    terms = tallying.score_terms(design)
    supporters = tallying.supporters(run) if terms.is_points else {}
    return {
        "id": district.id,
        "name": district.name,
        "budget": run.budget,
        "spent": run.spent,
        "left": run.budget - run.spent,
        "ballots_counted": run.ballot_count,
        "turnout": {"online": turnout["online"], "paper": turnout["paper"], "verified_residents": verified},
        # What the residents were asked to do, and what the `score_unit` each project's count is in.
        "ballot_design": design.to_data(),
        "score_unit": terms.unit,
        "rule": run.rule,
        "rule_label": tallying.rule_label(run.rule, design.kind),
        "tie_break": run.tie_break,
        "tie_break_seed": cycle.tie_break_seed,
        "parameters": tallying.parameters(run),
        # Each tie on votes the count broke between a funded and an unfunded project, and what broke it (in English).
        "ties": [str(tie) for tie in tallying.broken_ties(run)],
        "ballot_list_sha256": run.ballot_list_sha256,
        "counted_at": run.created_at.isoformat(timespec="seconds") + "Z",
        "projects": [_project_record(result, terms, supporters) for result in run.results],
        "comparison": [
            {"rule": column.rule, "label": column.label, "selected": list(column.selected), "spent": column.spent,
             "is_official": column.is_official}
            for column in tallying.rule_columns(run)
        ],
    }


def results_json(cycle: Cycle) -> dict:
    """The published results as one JSON document; money is in minor units of the currency (see `minor_unit`)."""
    runs = tallying.published_runs(cycle)
    channels, verified = voting.turnout_by_channel(cycle), voting.verified_counts(cycle)
    return {
        "format": "pb-results/1",
        "cycle": {
            "id": cycle.id,
            "name": cycle.name,
            "phase": cycle.phase.value,
            "currency": cycle.currency,
            "minor_unit": minor_unit_exponent(cycle.currency),
            "rule": cycle.rule,
            "tie_break_seed": cycle.tie_break_seed,
            # The days as before (in the cycle's zone), then the moments in ISO 8601 with the zone's offset.
            "voting_open_on": _iso_day(cycle, cycle.voting_open_at),
            "voting_close_on": _iso_day(cycle, cycle.voting_close_at),
            "timezone": cycle.timezone,
            "voting_open_at": timetable.iso(cycle.voting_open_at, cycle.timezone),
            "voting_close_at": timetable.iso(cycle.voting_close_at, cycle.timezone),
        },
        "districts": [
            _district_record(cycle, district, runs[district.id], channels[district.id], verified[district.id])
            for district in cycle.districts
            if district.id in runs
        ],
    }


def _iso_day(cycle: Cycle, moment: datetime | None) -> str | None:
    """The calendar day of one of the cycle's moments, in its zone, as the exports have always given it."""
    return timetable.local_day(moment, cycle.timezone).isoformat() if moment else None


def _pabulib_rule(rule: str) -> str:
    names = {pb_rule: name for name, pb_rule in pabulib.RULE_NAMES.items()}
    return names.get(rule, rule)


def _design_meta(design: BallotDesign, budget: int, project_count: int) -> dict[str, str]:
    """The META keys pabulib uses for a design's ballots: their lengths, the cost cap, the points to spread."""
    meta = {
        "min_length": str(design.min_projects),
        "max_length": str(design.max_projects or project_count),
    }
    if design.kind == KNAPSACK:
        meta["max_sum_cost"] = str(budget)
        if design.min_spend_percent:
            meta["min_sum_cost"] = str(-(-budget * design.min_spend_percent // 100))
    elif design.kind == CUMULATIVE:
        meta["max_sum_points"] = str(design.points)
        meta["max_points"] = str(design.max_points_per_project or design.points)
    return meta


# A vote as pabulib writes it: the project ids, and the points aligned with them for a cumulative ballot.
Vote = tuple[list[str], list[str] | None]


def _pabulib(cycle: Cycle, run: TallyRun, voters: list[tuple[str, Vote]]) -> str:
    """The district's count as pabulib text: META with the rule and its parameters, PROJECTS with `selected`, VOTES.

    The vote_type is the design's: approval (knapsack, approval), cumulative (a `points` column aligned with `vote`)
    or ordinal (`vote` best first; META max_length is the number of ranks, so a reader scores ranks as pb counted them).
    """
    district = run.district
    design = ballot_designs.district_design(district)
    projects = [
        Project(
            str(result.project_id), result.cost, result.project.title,
            frozenset({result.project.category.name}) if result.project.category else frozenset(),
        )
        for result in sorted(run.results, key=lambda result: result.project_id)
    ]
    vote_type = design.pabulib_vote_type
    meta = {
        "description": f"{cycle.name}, {district.name}",
        "unit": district.name,
        "instance": cycle.name,
        "num_projects": str(len(projects)),
        "num_votes": str(len(voters)),
        "budget": str(run.budget),
        "currency": cycle.currency,
        "vote_type": "approval",  # from_parts builds approval elections; the design's vote_type is set below
        "rule": _pabulib_rule(run.rule),
        "pb_rule": run.rule,
        "tie_break": run.tie_break,
        "tie_break_seed": str(cycle.tie_break_seed),
        **{f"pb_{key}": value for key, value in sorted(tallying.parameters(run).items())},
        **_design_meta(design, run.budget, len(projects)),
        "date_begin": _iso_day(cycle, cycle.voting_open_at) or "",
        "date_end": _iso_day(cycle, cycle.voting_close_at) or "",
        "ballot_list_sha256": run.ballot_list_sha256,
    }
    # A project withdrawn by a correction is not in the count, so it leaves the votes too (META pb_withdrawn says which).
    counted = {project.id for project in projects}
    votes = []  # each vote's counted projects, and their points (cumulative) or ranks as cast (ordinal), aligned
    for _, (choices, points) in voters:
        kept = [position for position, choice in enumerate(choices) if choice in counted]
        values = (
            [int(value) for value in points or ()] if vote_type == "cumulative"
            else list(range(1, len(choices) + 1)) if vote_type == "ordinal" else None
        )
        votes.append(([choices[i] for i in kept], None if values is None else [values[i] for i in kept]))
    election = pabulib.PabulibElection.from_parts(meta, projects, [choices for choices, _ in votes])
    for row, (voter_id, _) in zip(election.votes, voters):
        row["voter_id"] = voter_id
    if vote_type != "approval":
        _with_values(election, design, vote_type, votes)
    funded = {str(result.project_id) for result in run.results if result.is_funded}
    election.project_columns.append("selected")
    for row in election.projects:
        row["selected"] = "1" if row["project_id"] in funded else "0"
    election.check()
    return pabulib.write(election)


def _with_values(
    election: pabulib.PabulibElection, design: BallotDesign, vote_type: str, votes: list[tuple[list[str], list[int]]]
) -> None:
    """Make the approval election from_parts built the design's: the points of each vote, each project's score.

    A ranking from which a correction withdrew a project keeps each remaining project's rank score, as the count did;
    an ordinal vote with the gap closed would score them higher. Such a file is written as `scoring`, the rank scores
    as points, so that it still reproduces the count.
    """
    if vote_type == "ordinal":
        has_gap = any(ranks != list(range(1, len(ranks) + 1)) for _, ranks in votes)
        given = [[design.rank_score(rank) for rank in ranks] for _, ranks in votes]
    else:
        has_gap, given = False, [points for _, points in votes]
    election.meta["vote_type"] = "scoring" if has_gap else vote_type
    has_points_column = vote_type == "cumulative" or has_gap
    if has_points_column:
        election.vote_columns.append("points")
    scores: dict[str, int] = defaultdict(int)
    for row, (choices, _), points in zip(election.votes, votes, given):
        if has_points_column:
            row["points"] = ",".join(map(str, points))
        for choice, value in zip(choices, points):
            scores[choice] += value
    # Real cumulative and ordinal files (Katowice, Kraków) give each project its voters and its score.
    election.project_columns.insert(election.project_columns.index("votes") + 1, "score")
    for row in election.projects:
        row["score"] = str(scores[row["project_id"]])


def district_pabulib(cycle: Cycle, district_id: int) -> str:
    """One district's published count as a pabulib `.pb` file for officials, every vote under a plain number.

    Voters are numbered 1, 2, 3, ... in a random order, never by ballot id: ballot ids follow the order people
    voted in, which the turnout records could match to names.
    """
    run = tallying.published_run(cycle, district_id)
    design = ballot_designs.district_design(run.district)
    ballots = [_as_vote(*tallying.ballot_vote(ballot, design)) for ballot in tallying.district_ballots(run.district)]
    random.SystemRandom().shuffle(ballots)
    return _pabulib(cycle, run, [(str(number), vote) for number, vote in enumerate(ballots, start=1)])


def _as_vote(ids: list[int], points: list[int] | None) -> Vote:
    return [str(project_id) for project_id in ids], None if points is None else [str(value) for value in points]


def public_ballot_list(cycle: Cycle, district_id: int) -> bytes:
    """The district's anonymised ballots (receipt code and choices) as CSV, once results are public."""
    run = tallying.published_run(cycle, district_id)
    return tallying.ballot_list(run.district)


def public_ballot_list_pabulib(cycle: Cycle, district_id: int) -> str:
    """The same ballots as a pabulib file whose voter ids are the receipt codes, for `pb-tally` and pabutools."""
    run = tallying.published_run(cycle, district_id)
    listing = csv.DictReader(io.StringIO(tallying.ballot_list(run.district).decode("utf-8")))
    return _pabulib(cycle, run, [
        (row["receipt"], (_split(row["vote"]), _split(row["points"]) if "points" in row else None)) for row in listing
    ])


def _split(text: str) -> list[str]:
    return text.split(",") if text else []


@dataclass(frozen=True)
class ReportDistrict:
    """One district's part of the printed report: its stored count, turnout and the votes chart."""

    district: District
    run: TallyRun
    voters: int
    verified: int
    rule_label: str
    tie_break: object  # a message in words, translated where it is shown
    ties: tuple  # each tie the count broke between a funded and an unfunded project, and what broke it
    parameters: tuple  # tallying.ParameterRow: money rounded to the cent, never a raw fraction
    chart: ChartData
    picture: str  # the chart's address among the document's in-memory pictures
    terms: tallying.ScoreTerms  # votes, points or rank scores
    design: object  # the ballot design in words (a message, translated where it is shown)
    supporters: dict  # project id -> voters who gave it points or ranked it (points and ranking counts only)


@dataclass(frozen=True)
class ReportChart:
    data: ChartData
    picture: str


@dataclass(frozen=True)
class ReportSummary:
    funded: int
    projects: int
    budget: int
    spent: int
    voters: int
    verified: int

    @property
    def turnout(self) -> str:
        return percent(self.voters, self.verified)


def _chart_picture(data: ChartData, name: str, pictures: dict[str, pdf.Picture]) -> str:
    pictures[name] = pdf.Picture(charts.svg(data), "image/svg+xml")
    return pdf.MEMORY_PREFIX + name


def results_pdf(cycle: Cycle) -> bytes:
    """The printable report as tagged A4 PDF: the city's letterhead, the date, a summary, each district's projects
    and votes chart, the cycle's charts and how it was counted; every page numbered "Page N of M"."""
    runs = tallying.published_runs(cycle)
    channels, verified = voting.turnout_by_channel(cycle), voting.verified_counts(cycle)
    pictures: dict[str, pdf.Picture] = {}
    sections = []
    for district in cycle.districts:
        run = runs.get(district.id)
        if run is None:
            continue
        chart = votes_chart(cycle, district.id)
        design = ballot_designs.district_design(district)
        terms = tallying.score_terms(design)
        sections.append(ReportDistrict(
            district=district, run=run, voters=channels[district.id]["online"] + channels[district.id]["paper"],
            verified=verified[district.id], rule_label=tallying.rule_label(run.rule, design.kind),
            terms=terms, design=tallying.design_words(design),
            supporters=tallying.supporters(run) if terms.is_points else {},
            tie_break=tallying.tie_break_words(run), ties=tuple(tallying.broken_ties(run)),
            parameters=tuple(tallying.parameter_rows(run, cycle.currency)),
            chart=chart, picture=_chart_picture(chart, f"votes-{district.id}.svg", pictures),
        ))
    summary = ReportSummary(
        funded=sum(result.is_funded for section in sections for result in section.run.results),
        projects=sum(len(section.run.results) for section in sections),
        budget=sum(section.run.budget for section in sections), spent=sum(section.run.spent for section in sections),
        voters=sum(section.voters for section in sections), verified=sum(section.verified for section in sections),
    )
    cycle_charts = []
    for kind in PUBLIC_CHARTS:
        data = cycle_chart(cycle, kind)
        cycle_charts.append(ReportChart(data=data, picture=_chart_picture(data, f"{kind}.svg", pictures)))
    has_points = any(section.terms.is_points for section in sections)
    return printing.document(
        "reports/results.html", printing.letterhead(), printing.made_on(cycle.timezone),
        gettext("Results: %(name)s", name=cycle.name), pictures, cycle=cycle,
        sections=sections, summary=summary, charts=cycle_charts, has_points=has_points,
        missing=[district.name for district in cycle.districts if district.id not in runs],
    )


PROPOSAL_CSV_COLUMNS = ("id", "title", "district", "category", "status", "status_label", "estimated_cost",
                        "final_cost", "submitted_on")


def proposals_csv(cycle: Cycle, render=str) -> str:
    """Every proposal of a cycle as CSV for officials' spreadsheets, with a byte-order mark, oldest first.

    No author and no email: a list that travels by email or sits on a shared drive must not say who proposed what
    (officials who need the author open the proposal in pb). Costs are plain numbers in the cycle's currency, named
    in the column header ("1250.50"), so spreadsheets can add them. `render` writes the status in the reader's language.
    """
    proposals = db.session.scalars(select(Proposal).where(Proposal.cycle_id == cycle.id).order_by(Proposal.id))
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow([f"{column}_{cycle.currency}" if column.endswith("_cost") else column
                     for column in PROPOSAL_CSV_COLUMNS])
    for proposal in proposals:
        writer.writerow([
            proposal.id, spreadsheet_cell(proposal.title), spreadsheet_cell(proposal.district.name),
            spreadsheet_cell(proposal.category.name) if proposal.category else "", proposal.status.value,
            spreadsheet_cell(render(proposal.status.label)),
            amount_for_input(proposal.estimated_cost, cycle.currency),
            amount_for_input(proposal.final_cost, cycle.currency) if proposal.final_cost is not None else "",
            proposal.created_at.date().isoformat(),
        ])
    return "\ufeff" + buffer.getvalue()
