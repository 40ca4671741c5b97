"""Counting the ballots of every district with the cycle's rule, and reading the stored outcome back."""

import csv
import hashlib
import io
import json
from dataclasses import dataclass
from fractions import Fraction

from sqlalchemy import delete, func, select

from pb.domain import cycle as cycle_rules
from pb.domain.errors import ConflictError, NotFound, PermissionDenied
from pb.domain.messages import N_, Message, Nn_, to_data
from pb.domain.money import format_amount, minor_unit_exponent
from pb.domain.ballots import APPROVAL, CUMULATIVE, DESIGN_LABELS, KNAPSACK, RANKING, BallotDesign
from pb.domain.tally import (
    ApprovalProfile,
    Instance,
    Outcome,
    PointsProfile,
    Profile,
    Project,
    run_rule,
    seeded_tie_break,
)
from pb.domain.tally import ties as tie_rules
from pb.extensions import db
from pb.models import (
    Ballot,
    BallotChoice,
    Cycle,
    District,
    PaperSheet,
    ProjectResult,
    SealedBallot,
    TallyComparison,
    TallyRun,
    User,
)
from pb.services import alerts, audit, ballot_designs, load, paper, reconciliation, use_case, voting
from pb.services.proposals import projects_on_ballot

# The two rules every results page sets side by side, whichever rule the cycle uses.
COMPARED_RULES = ("greedy", "mes-add1")

# A label names a rule for people; its id (greedy, mes-add1, ...) is shown beside it where a recount needs it, so a
# label never repeats the id (it once read "Standard count (greedy) (greedy)").
RULE_LABELS = {
    "greedy": N_("Standard count: most votes first"),
    "greedy-threshold": N_("Standard count with a minimum score"),
    "greedy-no-skip": N_("Standard count, stopping at the first project that does not fit"),
    "mes": N_("Method of Equal Shares"),
    "mes-add1": N_("Method of Equal Shares (Add1, completed by the standard count)"),
    "mes-add1-no-completion": N_("Method of Equal Shares (Add1)"),
    "mes-add1-comparison": N_("Method of Equal Shares, checked against the standard count"),
    "phragmen": N_("Phragmén's sequential rule"),
}


# The standard count orders projects by what the ballots give them: votes, points or rank scores.
_GREEDY_LABELS = {
    CUMULATIVE: N_("Standard count: most points first"),
    RANKING: N_("Standard count: highest rank score first"),
}


def rule_label(rule: str, kind: str | None = None) -> str:
    """The rule's name for people (translated where it is shown); the id itself for a rule pb does not know.

    Given the ballot design's kind, the standard count says what it orders projects by (points, rank scores).
    """
    if rule == "greedy" and kind in _GREEDY_LABELS:
        return _GREEDY_LABELS[kind]
    return RULE_LABELS.get(rule, rule)


@dataclass(frozen=True)
class ScoreTerms:
    """The words a district's count is read in: votes (knapsack, approval), points (cumulative) or rank scores.

    `unit` names the figure in the downloads (votes, points, rank_score); `column` heads it in a table; `amount(n)`
    says "3 votes", "12 points" or "a rank score of 7"; `supporters(n)` says how many voters chose, gave points to
    or ranked a project.
    """

    kind: str
    unit: str
    column: Message
    title: Message  # "{district}" is filled in by the chart

    @property
    def is_points(self) -> bool:
        return self.unit != "votes"

    def amount(self, count: int) -> Message:
        if self.unit == "points":
            return Nn_("{count:,} point", "{count:,} points", count)
        if self.unit == "rank_score":
            return Nn_("a rank score of {count:,}", "a rank score of {count:,}", count)
        return Nn_("{count:,} vote", "{count:,} votes", count)

    def supporters(self, count: int) -> Message:
        if self.unit == "points":
            return Nn_("from {count:,} voter", "from {count:,} voters", count)
        if self.unit == "rank_score":
            return Nn_("ranked by {count:,} voter", "ranked by {count:,} voters", count)
        return Nn_("{count:,} voter", "{count:,} voters", count)


_VOTES = ScoreTerms(KNAPSACK, "votes", N_("Votes"), N_("Votes per project in {district}"))
_SCORE_TERMS = {
    KNAPSACK: _VOTES,
    APPROVAL: ScoreTerms(APPROVAL, "votes", N_("Votes"), N_("Votes per project in {district}")),
    CUMULATIVE: ScoreTerms(CUMULATIVE, "points", N_("Points"), N_("Points per project in {district}")),
    RANKING: ScoreTerms(RANKING, "rank_score", N_("Rank score"), N_("Rank scores per project in {district}")),
}


def score_terms(design: BallotDesign) -> ScoreTerms:
    return _SCORE_TERMS.get(design.kind, _VOTES)


def district_terms(district: District) -> ScoreTerms:
    """The words a district's count is read in, from the design its ballots were cast on."""
    return score_terms(ballot_designs.district_design(district))


def design_words(design: BallotDesign) -> Message:
    """What the residents were asked to do, and how the count reads it, in one or two sentences for the results page."""
    if design.kind == CUMULATIVE:
        cap = design.max_points_per_project
        spread = (
            N_("Residents spread {points:,} points among the projects, at most {cap:,} on one project.",
               points=design.points, cap=cap)
            if cap is not None and cap < design.points
            else N_("Residents spread {points:,} points among the projects.", points=design.points)
        )
        return N_("{spread} A project's score is the sum of the points it got; the count reads points, not voters.",
                  spread=spread)
    if design.kind == RANKING:
        places = design.max_projects or 1
        if places == 1:
            return N_("Residents chose 1 project; each choice scores 1.")
        if places == 2:
            return N_("Residents ranked up to 2 projects; a first place scores 2, a second 1.")
        if places == 3:
            return N_("Residents ranked up to 3 projects; a first place scores 3, a second 2, a third 1.")
        return N_("Residents ranked up to {count:,} projects; a first place scores {count:,}, a second {second:,}, and "
                  "so on down to 1 for place {count:,}.", count=places, second=places - 1)
    if design.kind == APPROVAL:
        if design.max_projects is not None:
            return Nn_("Residents chose up to {count:,} project, whatever it cost; each choice is one vote.",
                       "Residents chose up to {count:,} projects, whatever they cost; each choice is one vote.",
                       design.max_projects)
        return N_("Residents chose as many projects as they liked, whatever they cost; each choice is one vote.")
    if design.min_spend_percent:
        return N_("Residents chose projects costing together at most the budget, and at least {percent}% of it; each "
                  "choice is one vote.", percent=design.min_spend_percent)
    return N_("Residents chose projects costing together at most the budget; each choice is one vote.")


def design_label(design: BallotDesign) -> Message:
    return DESIGN_LABELS.get(design.kind, design.kind)


def district_ballots(district: District) -> list[Ballot]:
    return list(db.session.scalars(select(Ballot).where(Ballot.district_id == district.id)))


def _instance(district: District, withdrawn: frozenset[int] = frozenset()) -> Instance:
    projects = [p for p in projects_on_ballot(district.cycle_id, district.id) if p.id not in withdrawn]
    currency = district.cycle.currency
    return Instance(
        budget=district.budget,
        projects=tuple(Project(id=str(p.id), cost=p.cost, name=p.title) for p in projects),
        currency=currency, money_exponent=minor_unit_exponent(currency),
    )


def _profile(
    ballots: list[Ballot], withdrawn: frozenset[int] = frozenset(), design: BallotDesign | None = None,
) -> Profile:
    """The counted ballots as the engine reads them: approvals, or points (cumulative points, or rank scores).

    A rank keeps its score when a project ranked above it is withdrawn: the voter gave each project its place.
    """
    if design is None or not design.is_points:
        return ApprovalProfile.from_ballots(
            [str(choice.project_id) for choice in ballot.choices if choice.project_id not in withdrawn]
            for ballot in ballots
        )
    return PointsProfile.from_ballots(
        {str(project_id): score for project_id, score in design.scores(ballot_values(ballot)).items()
         if project_id not in withdrawn}
        for ballot in ballots
    )


def ballot_values(ballot: Ballot) -> dict[int, int]:
    """A counted ballot as project id -> value (1 for a plain choice, the points, or the rank)."""
    return {choice.project_id: choice.value if choice.value is not None else 1 for choice in ballot.choices}


def ballot_vote(ballot: Ballot, design: BallotDesign) -> tuple[list[int], list[int] | None]:
    """A counted ballot as pabulib writes a vote: the project ids, and the points aligned with them (cumulative).

    A ranking lists its projects best first (pabulib's ordinal vote); the other designs by project id, as ever.
    """
    values = ballot_values(ballot)
    if design.kind == RANKING:
        return sorted(values, key=lambda project_id: (values[project_id], project_id)), None
    if design.kind == CUMULATIVE:
        given = sorted(project_id for project_id, points in values.items() if points > 0)
        return given, [values[project_id] for project_id in given]
    return sorted(values), None


def supporters(run: "TallyRun") -> dict[int, int]:
    """Per project, how many counted ballots chose it, gave it points or ranked it (one query)."""
    return dict(db.session.execute(
        select(BallotChoice.project_id, func.count())
        .join(Ballot, BallotChoice.ballot_id == Ballot.id)
        .where(Ballot.district_id == run.district_id, func.coalesce(BallotChoice.value, 1) > 0)
        .group_by(BallotChoice.project_id)
    ).all())


@dataclass(frozen=True)
class ReceiptLine:
    """One project on a counted ballot, as the receipt page shows it: its title and its points or rank."""

    title: str
    project_id: int
    value: int


def receipt_lines(ballot: Ballot) -> tuple[str, list[ReceiptLine]]:
    """A counted ballot in its design's terms: the design's kind, and each project with its points or rank.

    A ranking is listed best first; the other designs in the order the ballot list writes them.
    """
    design = ballot_designs.district_design(ballot.district)
    values = ballot_values(ballot)
    titles = {choice.project_id: choice.project.title for choice in ballot.choices}
    order, _ = ballot_vote(ballot, design)
    return design.kind, [ReceiptLine(titles[project_id], project_id, values[project_id]) for project_id in order]


def count_district(
    cycle: Cycle, district: District, rules: tuple[str, ...] = (), withdrawn: frozenset[int] = frozenset()
) -> tuple[list[Outcome], int]:
    """Run the cycle's rule, then each of `rules`, on one district's ballots; the outcomes and the number read.

    Projects in `withdrawn` (taken off after publication by a correction) are left out of the count, and out of
    every ballot that chose them, as if they had never been on the ballot.
    """
    ballots = district_ballots(district)
    design = ballot_designs.district_design(district)
    instance, profile = _instance(district, withdrawn), _profile(ballots, withdrawn, design)
    tie_break = seeded_tie_break(cycle.tie_break_seed)
    outcomes = [run_rule(rule, instance, profile, tie_break=tie_break) for rule in (cycle.rule, *rules)]
    return outcomes, len(ballots)


def ballot_list(district: District) -> bytes:
    """The district's anonymised ballots as CSV bytes: receipt code and the project ids chosen, sorted by receipt.

    Sorted by receipt (a keyed hash) rather than by storage order: online ballots are stored shuffled when voting
    closes, but paper ballots follow the order their sheets were agreed. A vote is written as pabulib writes one:
    project ids joined by commas; a ranking's best first; a cumulative ballot's points in a `points` column, aligned
    with the ids (knapsack and approval lists are as they always were, so their digests still match).
    """
    design = ballot_designs.district_design(district)
    has_points = design.kind == CUMULATIVE
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["receipt", "vote", "points"] if has_points else ["receipt", "vote"])
    rows = []
    for ballot in district_ballots(district):
        ids, points = ballot_vote(ballot, design)
        row = [ballot.receipt, ",".join(map(str, ids))]
        if has_points:
            row.append(",".join(map(str, points or ())))
        rows.append(row)
    writer.writerows(sorted(rows))
    return buffer.getvalue().encode("utf-8")


def ballot_list_digest(content: bytes) -> str:
    return hashlib.sha256(content).hexdigest()


def _check_ballots_add_up(district: District, read: int) -> None:
    """Refuse to count if any ballot was acknowledged but not stored, stored but not read, or the reverse.

    Online, each acknowledged voter has exactly one sealed ballot, and the box opened at the close of the vote
    must have made exactly one counted ballot of each. Paper is checked apart: the residents marked at a polling
    station and the sheets in its box are counted by different people and differ by every spoilt or missing sheet,
    so marked paper voters are turnout, and each agreed (not spoilt) sheet must have one ballot.
    """
    acknowledged = db.session.scalar(
        select(func.count()).select_from(SealedBallot).where(SealedBallot.district_id == district.id)
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
    # Locked like a phase change, so a count never replaces the runs while the results are being published.
    cycle = load(Cycle, cycle_id, "cycle", for_update=True)
    cycle_rules.require_phase("tally", cycle.phase)
    unresolved = paper.unresolved_problems(cycle)
    if unresolved:
        raise ConflictError(
            N_("The votes were not counted: {problems} Every paper sheet needs two entries that agree (or a correction) "
               "before the count.", problems=tuple(unresolved)),
            problems=unresolved,
        )
    oversupplied = reconciliation.paper_problems(cycle)
    if oversupplied:
        raise ConflictError(
            N_("The votes were not counted: there are more paper sheets than paper voters. {problems} Record the "
               "residents who voted on paper, or check the sheets, before counting.", problems=tuple(oversupplied)),
            problems=oversupplied,
        )
    unfitting = unfitting_districts(cycle)
    if unfitting:
        raise ConflictError(
            N_("The votes were not counted: the rule “{rule}” cannot count the ballots of {districts}. Choose a rule "
               "that fits their ballot design in the cycle's settings, then count again.",
               rule=rule_label(cycle.rule), districts=", ".join(district.name for district in unfitting)),
        )
    db.session.execute(delete(TallyRun).where(TallyRun.cycle_id == cycle.id))
    sheets = paper.sheet_counts(cycle)
    runs = []
    for district in cycle.districts:
        run = build_run(actor, cycle, district)
        db.session.add(run)
        runs.append(run)
        audit.record(
            actor, "run-tally", f"district:{district.id}", cycle_id=cycle.id,
            after={"rule": run.rule, "selected": funded_ids(run), "spent": run.spent,
                   "ballots": run.ballot_count, "tie_break": run.tie_break,
                   "paper_sheets": _paper_report(sheets[district.id]),
                   "ballot_list_sha256": run.ballot_list_sha256},
        )
    # Every other official may be one of the two who approve this count (the one who counted may be the other).
    alerts.tell_officials("count_waiting", excluding=[actor.id], cycle=cycle, counted_by=actor, approvals_given=0)
    return runs


def unfitting_districts(cycle: Cycle) -> list[District]:
    """The districts whose ballot design the cycle's rule does not fit (a ranking has no Equal Shares, for one)."""
    return [district for district in cycle.districts
            if cycle.rule not in ballot_designs.district_design(district).fitting_rules]


def funded_ids(run: TallyRun) -> list[str]:
    """The funded project ids of a count, in the order the rule chose them."""
    return [str(result.project_id) for result in run.results if result.is_funded]


def build_run(actor: User, cycle: Cycle, district: District, withdrawn: frozenset[int] = frozenset()) -> TallyRun:
    """Count one district into a new, unsaved TallyRun with its results and the compared rules' outcomes.

    Withdrawn projects are left out of the count and recorded in the parameters, so that anyone re-running the
    count from the ballot list knows to leave them out too.
    """
    fitting = ballot_designs.district_design(district).fitting_rules
    compared = tuple(rule for rule in COMPARED_RULES if rule != cycle.rule and rule in fitting)
    (outcome, *others), ballot_count = count_district(cycle, district, compared, withdrawn)
    _check_ballots_add_up(district, ballot_count)
    recorded = dict(outcome.parameters)
    if withdrawn:
        recorded["withdrawn"] = ",".join(str(project_id) for project_id in sorted(withdrawn))
    run = TallyRun(
        cycle_id=cycle.id, district_id=district.id, rule=outcome.rule, tie_break=outcome.tie_break,
        parameters=json.dumps(recorded, sort_keys=True), budget=outcome.budget,
        spent=outcome.spent, ballot_count=ballot_count, run_by_id=actor.id,
        ballot_list_sha256=ballot_list_digest(ballot_list(district)),
    )
    for other in others:
        run.comparisons.append(
            TallyComparison(
                rule=other.rule, tie_break=other.tie_break, spent=other.spent,
                parameters=json.dumps(other.parameters, sort_keys=True),
                selected=json.dumps([int(project_id) for project_id in other.selected]),
            )
        )
    costs = {str(project.id): project.cost for project in projects_on_ballot(cycle.id, district.id)}
    for position, project_id in enumerate(_display_order(outcome), start=1):
        result = outcome.projects[project_id]
        run.results.append(
            ProjectResult(
                # The count's score: votes, or the points or rank scores a points count read (the rule's own
                # per-project figure is the number of supporters under Equal Shares, and the score under greedy).
                project_id=int(project_id), votes=outcome.votes.get(project_id, 0), cost=costs[project_id],
                is_funded=result.is_selected, position=position, explanation=str(result.explanation),
                explanation_data=json.dumps(to_data(result.explanation), ensure_ascii=False),
            )
        )
    return run


def tally_runs(cycle: Cycle) -> dict[int, TallyRun]:
    """The stored count per district id."""
    runs = db.session.scalars(select(TallyRun).where(TallyRun.cycle_id == cycle.id)).all()
    return {run.district_id: run for run in runs}


def published_runs(cycle: Cycle) -> dict[int, TallyRun]:
    """The stored count per district, only once results are public."""
    cycle_rules.require_phase("see-results", cycle.phase)
    return tally_runs(cycle)


def published_run(cycle: Cycle, district_id: int) -> TallyRun:
    """One district's stored count once results are public; NotFound for a district not in the cycle or not counted."""
    cycle_rules.require_phase("see-results", cycle.phase)
    district = load(District, district_id, "district")
    if district.cycle_id != cycle.id:
        raise NotFound("There is no such district in this cycle.")
    run = tally_runs(cycle).get(district.id)
    if run is None:
        raise NotFound(f"No count is stored for {district.name}.")
    return run


@dataclass(frozen=True)
class RuleColumn:
    """One rule's outcome in a district, for the side-by-side: what it funds and spends, and if the cycle used it."""

    rule: str
    label: str
    selected: tuple[int, ...]
    spent: int
    is_official: bool


def rule_columns(run: TallyRun) -> list[RuleColumn]:
    """The cycle's own outcome and each compared rule's, the standard count first; the cycle's rule is marked."""
    kind = ballot_designs.district_design(run.district).kind
    official = RuleColumn(
        run.rule, rule_label(run.rule, kind), tuple(r.project_id for r in run.results if r.is_funded), run.spent, True
    )
    others = {
        comparison.rule: RuleColumn(
            comparison.rule, rule_label(comparison.rule, kind), tuple(json.loads(comparison.selected)),
            comparison.spent, False,
        )
        for comparison in run.comparisons
    }
    others[run.rule] = official
    order = [rule for rule in COMPARED_RULES if rule in others]
    if run.rule not in COMPARED_RULES:
        order.insert(0, run.rule)
    return [others[rule] for rule in order]


def uncompared_rules(run: TallyRun, design: BallotDesign) -> list[Message]:
    """A sentence for each rule results pages usually set beside the count that this district's design does not fit.

    Equal Shares shares the budget by what each voter approves or gives points to; a ranking gives neither, so a
    ranking district is compared with no Equal Shares count.
    """
    return [N_("“{rule}” is not compared here: it cannot count this ballot design ({design}).",
               rule=rule_label(rule), design=design_label(design))
            for rule in COMPARED_RULES if rule != run.rule and rule not in design.fitting_rules]


def parameters(run: TallyRun) -> dict[str, str]:
    """The rule's recorded parameters, everything needed with the ballot list to run the count again."""
    return json.loads(run.parameters or "{}")


def tie_break_words(run: TallyRun) -> str:
    """How the count broke ties, for people (a message translated where it is shown), from its recorded parameters.

    On a points or ranking ballot the seeded tie-break's "more votes" are the voters who gave points or ranked.
    """
    recorded = parameters(run)
    kind = ballot_designs.district_design(run.district).kind
    if kind in (CUMULATIVE, RANKING) and recorded.get("tie_break") == "cost-votes-lottery" and "seed" in recorded:
        if kind == CUMULATIVE:
            return N_("the cheaper project first, then the one more voters gave points to, then a lottery drawn from "
                      "the published seed {seed}", seed=recorded["seed"])
        return N_("the cheaper project first, then the one more voters ranked, then a lottery drawn from the "
                  "published seed {seed}", seed=recorded["seed"])
    return tie_rules.tie_break_words(recorded, run.tie_break)


def broken_ties(run: TallyRun, seed: int | None = None) -> list[str]:
    """Each tie on votes the count broke between a funded and an unfunded project, and what broke it."""
    projects = [
        tie_rules.CountedProject(result.project_id, result.project.title, result.votes, result.cost, result.is_funded)
        for result in run.results
    ]
    return tie_rules.broken_ties(run.rule, parameters(run), projects)


@dataclass(frozen=True)
class ParameterRow:
    """One recorded parameter as the public page shows it: its name, the words for people, the exact value."""

    name: str
    shown: str
    exact: str


# Equal Shares gives each voter budget / voters, an exact fraction of the smallest unit ("4700002/3"): people read it
# rounded to the cent, with the exact fraction beside it for anyone who re-runs the count.
_MONEY_PARAMETERS = {
    "voter_budget": N_("Each voter's equal share of the budget: {amount} (rounded to the cent)"),
}
_PARAMETER_WORDS = {
    "voter_budget_increment": N_("Add1 raised each voter's share by {value} of the smallest currency unit at a time"),
    "add1_stop": N_("Add1 stopping rule: {value}"),
    "completion": N_("Completion: {value}"),
    "seed": N_("Tie-break seed: {value}"),
    "withdrawn": N_("Projects withdrawn by a correction and left out of the count: {value}"),
    "min_project_score": N_("Minimum score to be funded: {value}"),
    "score": N_("Score: {value}"),
}


def parameter_rows(run: TallyRun, currency: str) -> list[ParameterRow]:
    """The recorded parameters in words, money rounded to the cent, each with its exact recorded value."""
    recorded = parameters(run)
    rows = []
    for name, value in sorted(recorded.items()):
        if name == "tie_break":
            continue  # the page gives the tie-break its own line, in words (tie_break_words)
        if name in _MONEY_PARAMETERS:
            exact = Fraction(value)
            cents = round(exact)  # to the nearest smallest unit (half to even), as explanations round
            words = _MONEY_PARAMETERS[name]
            shown = Message(str(words), amount=format_amount(cents, currency))
        elif name in _PARAMETER_WORDS:
            shown = Message(str(_PARAMETER_WORDS[name]), value=value)
        else:
            shown = N_("{name}: {value}", name=name, value=value)
        rows.append(ParameterRow(name, shown, value))
    return rows


@dataclass(frozen=True)
class FundedChoices:
    """How many of a voter's own choices in a district were funded."""

    funded: int
    chosen: int
    kind: str = KNAPSACK  # the ballot design: "chose", "gave points to" or "ranked" these projects


def funded_choices(user: User, cycle: Cycle, runs: dict[int, TallyRun]) -> dict[int, FundedChoices]:
    """Per district the voter voted in, how many of their choices the published count funded."""
    found = {}
    for district_id, run in runs.items():
        choices = voting.current_choices(user, cycle.id, district_id)
        if choices is not None:
            funded = {r.project_id for r in run.results if r.is_funded}
            kind = ballot_designs.district_design(run.district).kind
            found[district_id] = FundedChoices(len(choices & funded), len(choices), kind)
    return found


def published_result(project_id: int, cycle: Cycle) -> ProjectResult | None:
    """A project's stored result and explanation once results are public; None before or without a count."""
    if not is_published(cycle):
        return None
    return db.session.scalar(
        select(ProjectResult).join(TallyRun).where(TallyRun.cycle_id == cycle.id, ProjectResult.project_id == project_id)
    )


def is_published(cycle: Cycle) -> bool:
    return cycle_rules.is_allowed("see-results", cycle.phase)
