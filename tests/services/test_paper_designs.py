"""Paper sheets of every ballot design: double entry keeps the points and ranks, disagrees on any one value, settles
into ballots the count reads; and the blank ballot each design prints."""

import io
import json

import pytest
from pypdf import PdfReader
from sqlalchemy import func, select

from pb.domain.cycle import Phase
from pb.domain.errors import BallotError, PermissionDenied, PhaseError
from pb.extensions import db
from pb.models import Ballot, BallotChoice, Category, PaperEntry, PaperSheet, Role
from pb.services import blank_ballots, paper, tallying

A4 = (595.28, 841.89)

DESIGNS = {
    "knapsack": {"ballot_design": "knapsack", "max_projects": 2},
    "approval": {"ballot_design": "approval", "max_projects": 2},
    "cumulative": {"ballot_design": "cumulative", "ballot_settings": '{"points": 10, "max_points_per_project": 6}'},
    "ranking": {"ballot_design": "ranking", "max_projects": 2},
}


@pytest.fixture
def officials(make_user):
    return [make_user(Role.OFFICIAL) for _ in range(3)]


@pytest.fixture
def world(make_cycle, make_project):
    """A cycle of the design asked for; North (budget 1,000 EUR) has Swings (600), Trees (400) and Bench (100)."""

    def build(design: str, phase: Phase = Phase.VOTING):
        cycle = make_cycle(phase, **DESIGNS[design])
        north = cycle.districts[0]
        projects = [make_project(cycle, north, cost=cost, title=title, summary=f"About the {title.lower()}.")
                    for cost, title in [(60_000, "Swings"), (40_000, "Trees"), (10_000, "Bench")]]
        return cycle, north, projects

    return build


def _count(model, *where) -> int:
    return db.session.scalar(select(func.count()).select_from(model).where(*where))


def _stored_values() -> list[dict[int, int | None]]:
    db.session.expire_all()
    return [{choice.project_id: choice.value for choice in ballot.choices}
            for ballot in db.session.scalars(select(Ballot))]


# What each design's paper says, as given to the service, and the values its counted ballot keeps.
SHEETS = {
    "knapsack": (lambda p: [p[1].id, p[2].id], lambda p: {p[1].id: None, p[2].id: None}),
    "approval": (lambda p: [p[0].id, p[1].id], lambda p: {p[0].id: None, p[1].id: None}),
    "cumulative": (lambda p: {p[0].id: 6, p[2].id: 4}, lambda p: {p[0].id: 6, p[2].id: 4}),
    "ranking": (lambda p: {p[2].id: 1, p[0].id: 2}, lambda p: {p[2].id: 1, p[0].id: 2}),
}


@pytest.mark.parametrize("design", DESIGNS)
def test_two_agreeing_entries_settle_into_a_ballot_with_the_values_of_the_paper(design, world, officials, audit_log):
    cycle, north, projects = world(design)
    given, kept = (make(projects) for make in SHEETS[design])
    assert paper.enter_sheet(officials[0], north.id, "Library", 1, given).status == paper.PENDING
    sheet = paper.enter_sheet(officials[1], north.id, "Library", 1, given)
    assert sheet.status == paper.AGREED
    assert _stored_values() == [kept]
    stored = [entry.choices for entry in db.session.scalars(select(PaperEntry))]
    if design in ("knapsack", "approval"):  # the form entries have always had: sorted ids
        assert stored == [json.dumps(sorted(kept))] * 2
    else:
        assert stored == [json.dumps(sorted([pid, value] for pid, value in kept.items()))] * 2
    entry = sheet.entries[0]
    assert paper.entry_choices(entry) == sorted(kept) and paper.entry_values(entry) == kept
    assert [after["choices"] for *_, after in audit_log("enter-paper-sheet")] == [json.loads(stored[0])] * 2


@pytest.mark.parametrize("design, first, second", [
    ("cumulative", {0: 6, 2: 4}, {0: 5, 2: 4}),  # one project's points differ
    ("cumulative", {0: 6, 2: 4}, {0: 6, 1: 4}),  # the same points on another project
    ("ranking", {2: 1, 0: 2}, {0: 1, 2: 2}),  # the same projects in the other order
    ("ranking", {2: 1, 0: 2}, {2: 1}),  # one rank left out
])
def test_entries_that_differ_in_one_value_disagree_until_a_correction(design, first, second, world, officials):
    cycle, north, projects = world(design)
    paper.enter_sheet(officials[0], north.id, "Library", 1, {projects[i].id: v for i, v in first.items()})
    sheet = paper.enter_sheet(officials[1], north.id, "Library", 1, {projects[i].id: v for i, v in second.items()})
    assert (sheet.status, _count(Ballot)) == (paper.DISAGREED, 0)
    sheet = paper.correct_entry(officials[1], north.id, "Library", 1, {projects[i].id: v for i, v in first.items()})
    assert sheet.status == paper.AGREED
    assert _stored_values() == [{projects[i].id: v for i, v in first.items()}]


def test_zero_points_are_no_points_so_entries_written_with_and_without_them_agree(world, officials):
    _, north, (swings, trees, bench) = world("cumulative")
    paper.enter_sheet(officials[0], north.id, "Library", 1, {swings.id: 3, trees.id: 0})
    sheet = paper.enter_sheet(officials[1], north.id, "Library", 1, {swings.id: 3})
    assert sheet.status == paper.AGREED and _stored_values() == [{swings.id: 3}]


@pytest.mark.parametrize("design, ballot, problem", [
    ("cumulative", {0: 7}, "At most 6 points may go to one project."),
    ("cumulative", {0: 6, 1: 5}, "You gave 11 points, 1 more than the 10 you have."),
    ("ranking", {0: 1, 1: 1}, "Two projects share rank 1"),
    ("ranking", {0: 2}, "Rank 1 is missing"),
    ("ranking", {0: 1, 1: 2, 2: 3}, "Rank at most 2 projects (you ranked 3)."),
    ("approval", {0: 1, 1: 1, 2: 1}, "Choose at most 2 projects (you chose 3)."),
    ("knapsack", {0: 1, 1: 1}, None),  # 1,000 EUR: exactly the budget
])
def test_a_sheet_that_breaks_its_designs_rules_is_refused_and_changes_nothing(design, ballot, problem, world,
                                                                              officials, snapshot):
    _, north, projects = world(design)
    given = {projects[i].id: value for i, value in ballot.items()}
    if problem is None:
        assert paper.enter_sheet(officials[0], north.id, "Library", 1, given).status == paper.PENDING
        return
    before = snapshot()
    with pytest.raises(BallotError, match="Sheet 1 from Library was not saved") as refused:
        paper.enter_sheet(officials[0], north.id, "Library", 1, given)
    assert any(problem in found for found in refused.value.problems)
    assert snapshot() == before


def test_category_limits_hold_on_paper_as_online(make_cycle, make_project, officials, snapshot):
    cycle = make_cycle(Phase.DRAFT, ballot_design="approval")
    streets = Category(cycle=cycle, name="Streets")
    db.session.add(streets)
    db.session.commit()
    cycle.ballot_settings = json.dumps({"category_limits": [{"category_id": streets.id, "max_projects": 1}]})
    cycle.phase = Phase.VOTING
    db.session.commit()
    north = cycle.districts[0]
    lamps, kerbs = (make_project(cycle, north, category=streets) for _ in range(2))
    before = snapshot()
    with pytest.raises(BallotError) as refused:
        paper.enter_sheet(officials[0], north.id, "Library", 1, [lamps.id, kerbs.id])
    assert "At most 1 project may be chosen in Streets (you chose 2)." in refused.value.problems
    assert snapshot() == before


def test_a_spoilt_sheet_of_any_design_has_no_choices(world, officials):
    _, north, projects = world("ranking")
    paper.enter_sheet(officials[0], north.id, "Library", 1, {}, is_spoilt=True)
    sheet = paper.enter_sheet(officials[1], north.id, "Library", 1, {}, is_spoilt=True)
    assert sheet.status == paper.SPOILT and _count(Ballot) == 0
    assert [entry.choices for entry in sheet.entries] == ["[]", "[]"]


def test_the_count_reads_paper_points_and_rank_scores(world, officials):
    for design, sheets, votes in [
        ("cumulative", [{0: 6, 2: 4}, {1: 5, 2: 5}], (6, 5, 9)),
        ("ranking", [{2: 1, 0: 2}, {0: 1}], (1 + 2, 0, 2)),  # rank 1 of 2 scores 2, rank 2 scores 1
    ]:
        cycle, north, projects = world(design)
        for number, ballot in enumerate(sheets, start=1):
            for official in officials[:2]:
                paper.enter_sheet(official, north.id, "Library", number, {projects[i].id: v for i, v in ballot.items()})
        outcomes, read = tallying.count_district(cycle, north)
        assert read == 2
        assert [outcomes[0].votes.get(str(project.id), 0) for project in projects] == list(votes)


def test_values_survive_the_whole_way_for_a_sheet_agreed_after_a_third_entry(world, officials):
    _, north, (swings, trees, _) = world("cumulative")
    paper.enter_sheet(officials[0], north.id, "Town hall", 4, {swings.id: 2, trees.id: 6})
    paper.enter_sheet(officials[1], north.id, "Town hall", 4, {swings.id: 6, trees.id: 2})
    sheet = paper.enter_sheet(officials[2], north.id, "Town hall", 4, {swings.id: 2, trees.id: 5})
    assert sheet.status == paper.DISAGREED
    sheet = paper.correct_entry(officials[2], north.id, "Town hall", 4, {swings.id: 2, trees.id: 6})
    assert sheet.status == paper.AGREED
    assert db.session.execute(select(BallotChoice.project_id, BallotChoice.value).order_by(BallotChoice.project_id)
                              ).all() == [(swings.id, 2), (trees.id, 6)]


# --- the blank ballot -------------------------------------------------------------------------------------------


def _text(body: bytes) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(body)).pages)


INSTRUCTIONS = {
    "knapsack": ["Tick the box of each project you want to fund", "at most 1,000 EUR", "Tick at most 2 projects."],
    "approval": ["Tick the box of each project you support, whatever it costs.", "Tick at most 2 projects."],
    "cumulative": ["You have 10 points to spread among the projects.", "Give at most 6 points to one project."],
    "ranking": ["Rank up to 2 projects: write 1 in the box of your first choice",
                "the project ranked 1 scores 2 points"],
}
HEADINGS = {"knapsack": "Tick", "approval": "Tick", "cumulative": "Points", "ranking": "Rank"}


@pytest.mark.parametrize("design", DESIGNS)
def test_the_blank_ballot_lists_the_projects_and_says_the_designs_rules(design, world, officials):
    cycle, north, projects = world(design)
    body = blank_ballots.blank_ballot(officials[0], north.id)
    reader = PdfReader(io.BytesIO(body))
    catalog = reader.trailer["/Root"]
    assert "/StructTreeRoot" in catalog and bool(catalog["/MarkInfo"]["/Marked"])
    assert reader.metadata.title == f"Ballot: {cycle.name}, North"
    assert all((float(page.mediabox.width), float(page.mediabox.height)) == pytest.approx(A4, abs=1)
               for page in reader.pages)
    text = " ".join(_text(body).split())
    for words in INSTRUCTIONS[design] + [cycle.name, "District: North", "Polling station", "Sheet number",
                                         HEADINGS[design], "Participatory budget"]:
        assert words in text
    # On paper in the order every sheet prints them, by title; with cost, category and summary.
    places = [text.index(title) for title in ("Bench", "Swings", "Trees")]
    assert places == sorted(places)
    assert "About the swings." in text and "600 EUR" in text and "Green spaces" in text


def test_the_blank_ballot_says_the_category_limits(make_cycle, make_project, officials):
    cycle = make_cycle(Phase.DRAFT, ballot_design="knapsack")
    streets = Category(cycle=cycle, name="Streets")
    db.session.add(streets)
    db.session.commit()
    cycle.ballot_settings = json.dumps({"min_spend_percent": 50, "category_limits": [
        {"category_id": streets.id, "max_projects": 1, "max_share_percent": 30}]})
    cycle.phase = Phase.TALLYING
    db.session.commit()
    make_project(cycle, cycle.districts[0], category=streets, title="Lamps")
    text = " ".join(_text(blank_ballots.blank_ballot(officials[0], cycle.districts[0].id)).split())
    assert "They must cost at least 500 EUR (50% of the budget)." in text
    assert "In Streets, choose at most 1 project." in text
    assert "In Streets, the projects you choose may cost at most 300 EUR (30% of the budget)." in text
    assert "Lamps" in text


@pytest.mark.parametrize("phase", [Phase.DRAFT, Phase.REVIEW, Phase.RESULTS])
def test_the_blank_ballot_waits_for_the_final_project_list(phase, world, officials):
    _, north, _ = world("approval", phase)
    with pytest.raises(PhaseError, match="once the project list is final"):
        blank_ballots.blank_ballot(officials[0], north.id)


def test_only_officials_print_blank_ballots(world, make_user):
    _, north, _ = world("approval")
    with pytest.raises(PermissionDenied):
        blank_ballots.blank_ballot(make_user(Role.MODERATOR), north.id)
