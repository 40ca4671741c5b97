"""Counts, exports and receipts of every ballot design speak its terms, and its pabulib file reproduces the winners."""

import csv
import hashlib
import io
import json
import subprocess
import sys
from pathlib import Path

import pytest
from pypdf import PdfReader
from sqlalchemy import func, select

from pb.domain.cycle import Phase
from pb.domain.errors import ConflictError
from pb.domain.tally import pabulib, run_rule, seeded_tie_break
from pb.extensions import db
from pb.models import Ballot, ProjectResult, Role, TallyRun
from pb.services import cycles, exports, publication, tallying, voting
from tests.conftest import close_voting

# North has 1,000 EUR; its projects cost 600, 500, 300 and 200 EUR.
COSTS = {"big": 60_000, "mid": 50_000, "small": 30_000, "extra": 20_000}

DESIGNS = {
    "knapsack": {"ballot_design": "knapsack"},
    "approval": {"ballot_design": "approval", "max_projects": 3},
    "cumulative": {"ballot_design": "cumulative", "ballot_settings": '{"points": 10, "max_points_per_project": 5}'},
    "ranking": {"ballot_design": "ranking", "max_projects": 3},
}

# Each ballot: title -> value (1 for a choice, points, or the rank).
BALLOTS = {
    "knapsack": [{"big": 1, "small": 1}, {"big": 1}, {"big": 1, "extra": 1}, {"mid": 1}, {"mid": 1, "extra": 1}],
    "approval": [{"big": 1, "mid": 1, "small": 1}, {"big": 1}, {"mid": 1, "small": 1}, {"small": 1, "extra": 1},
                 {"mid": 1}],
    # Points: big 10 (2 voters), mid 14 (3), small 13 (3), extra 7 (2).
    "cumulative": [{"big": 5, "small": 5}, {"big": 5, "mid": 5}, {"mid": 5, "small": 3, "extra": 2},
                   {"small": 5, "extra": 5}, {"mid": 4}],
    # Rank scores (3/2/1): big 8 (3 voters), mid 6 (3), small 6 (3), extra 5 (2).
    "ranking": [{"big": 1, "mid": 2, "small": 3}, {"big": 1, "small": 2}, {"mid": 1, "big": 2},
                {"small": 1, "extra": 2, "mid": 3}, {"extra": 1}],
}

# What greedy funds with these ballots: cumulative by points (mid 14, small 13, then extra fits; big does not);
# ranking by rank score (big 8; mid and small tie on 6 and the cheaper goes first; then nothing else fits).
GREEDY_FUNDED = {
    "cumulative": {"mid", "small", "extra"},
    "ranking": {"big", "small"},
}

CASES = [("knapsack", "greedy"), ("knapsack", "mes-add1"), ("approval", "greedy"), ("approval", "mes-add1"),
         ("cumulative", "greedy"), ("cumulative", "mes-add1"), ("cumulative", "mes"), ("ranking", "greedy"),
         ("ranking", "greedy-no-skip")]


@pytest.fixture
def published_design(make_cycle, make_project, make_user, verify):
    """A cycle of the design counted with `rule`, approved by two officials and published."""

    def build(design: str, rule: str = "greedy", publish: bool = True):
        cycle = make_cycle(Phase.VOTING, rule=rule, tie_break_seed=7, **DESIGNS[design])
        north, south = cycle.districts
        projects = {title: make_project(cycle, north, cost=cost, title=title) for title, cost in COSTS.items()}
        make_project(cycle, south, cost=10_000, title="south")
        voters = []
        for ballot in BALLOTS[design]:
            resident = make_user()
            verify(resident, north)
            voting.cast_ballot(resident, cycle.id, north.id, {projects[title].id: value for title, value in ballot.items()})
            voters.append(resident)
        close_voting(cycle)
        olga, pieter = make_user(Role.OFFICIAL), make_user(Role.OFFICIAL)
        tallying.run_tally(olga, cycle.id)
        if publish:
            publication.approve_results(olga, cycle.id)
            publication.approve_results(pieter, cycle.id)
            assert cycles.advance_phase(olga, cycle.id, Phase.TALLYING) is Phase.RESULTS
        return cycle, projects, voters

    return build


def _run(district_id: int) -> TallyRun:
    return db.session.scalar(select(TallyRun).where(TallyRun.district_id == district_id))


def _funded(district_id: int) -> set[str]:
    return {str(result.project_id) for result in _run(district_id).results if result.is_funded}


def _scores(design: str) -> dict[str, int]:
    scores: dict[str, int] = {}
    for ballot in BALLOTS[design]:
        for title, value in ballot.items():
            scores[title] = scores.get(title, 0) + (4 - value if design == "ranking" else value)
    return scores


@pytest.mark.parametrize(("design", "rule"), CASES, ids=[f"{d}-{r}" for d, r in CASES])
def test_the_district_pabulib_file_is_in_the_designs_vote_type_and_reproduces_the_published_winners(
        published_design, design, rule):
    cycle, projects, _ = published_design(design, rule)
    north = cycle.districts[0]
    election = pabulib.read(exports.district_pabulib(cycle, north.id))
    meta = election.meta
    assert meta["vote_type"] == {"knapsack": "approval", "approval": "approval", "cumulative": "cumulative",
                                 "ranking": "ordinal"}[design]
    expected_meta = {
        "knapsack": {"min_length": "1", "max_length": "4", "max_sum_cost": "100000"},
        "approval": {"min_length": "1", "max_length": "3"},
        "cumulative": {"min_length": "1", "max_length": "4", "max_sum_points": "10", "max_points": "5"},
        "ranking": {"min_length": "1", "max_length": "3"},
    }[design]
    assert {key: meta.get(key) for key in expected_meta} == expected_meta
    assert ("max_sum_cost" in meta) is (design == "knapsack") and ("points" in election.vote_columns) is (
        design == "cumulative")
    outcome = run_rule(rule, election.instance(), election.profile(), tie_break=seeded_tie_break(int(meta["tie_break_seed"])))
    assert set(outcome.selected) == set(election.published_selection()) == _funded(north.id)
    if design in GREEDY_FUNDED and rule.startswith("greedy"):
        assert _funded(north.id) == {str(projects[title].id) for title in GREEDY_FUNDED[design]}
    if design in ("cumulative", "ranking"):  # each project's score and voters, as Katowice's and Kraków's files give
        ids = {str(project.id): title for title, project in projects.items()}
        assert {ids[row["project_id"]]: int(row["score"]) for row in election.projects} == _scores(design)
    # The public ballot list in pabulib form, under the receipt codes, counts the same.
    public = pabulib.read(exports.public_ballot_list_pabulib(cycle, north.id))
    again = run_rule(rule, public.instance(), public.profile(), tie_break=seeded_tie_break(cycle.tie_break_seed))
    assert set(again.selected) == _funded(north.id) and public.meta["vote_type"] == meta["vote_type"]


def test_an_ordinal_vote_lists_the_best_first_and_a_cumulative_vote_its_points_in_line(published_design):
    cycle, projects, _ = published_design("ranking")
    ids = {project.id: title for title, project in projects.items()}
    listing = list(csv.reader(io.StringIO(exports.public_ballot_list(cycle, cycle.districts[0].id).decode())))
    assert listing[0] == ["receipt", "vote"]
    ranked = sorted([[ids[int(pid)] for pid in vote.split(",")] for _, vote in listing[1:]])
    assert ranked == sorted([sorted(ballot, key=ballot.get) for ballot in BALLOTS["ranking"]])

    cycle, projects, _ = published_design("cumulative")
    ids = {project.id: title for title, project in projects.items()}
    listing = list(csv.reader(io.StringIO(exports.public_ballot_list(cycle, cycle.districts[0].id).decode())))
    assert listing[0] == ["receipt", "vote", "points"]
    given = sorted(sorted((ids[int(pid)], int(points)) for pid, points in zip(vote.split(","), points.split(",")))
                   for _, vote, points in listing[1:])
    assert given == sorted(sorted(ballot.items()) for ballot in BALLOTS["cumulative"])


@pytest.mark.parametrize("design", DESIGNS)
def test_the_ballot_list_digest_matches_the_public_list(published_design, design):
    cycle, _, _ = published_design(design)
    north = cycle.districts[0]
    body = exports.public_ballot_list(cycle, north.id)
    assert hashlib.sha256(body).hexdigest() == _run(north.id).ballot_list_sha256
    assert f"ballot_list_sha256;{_run(north.id).ballot_list_sha256}" in exports.public_ballot_list_pabulib(cycle, north.id)


def test_a_knapsack_ballot_list_keeps_its_old_form(published_design):
    cycle, _, _ = published_design("knapsack")
    north = cycle.districts[0]
    buffer = io.StringIO()  # the list as pb wrote it before ballot designs
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["receipt", "vote"])
    writer.writerows(sorted(
        (ballot.receipt, ",".join(str(choice.project_id) for choice in ballot.choices))
        for ballot in db.session.scalars(select(Ballot).where(Ballot.district_id == north.id))))
    assert exports.public_ballot_list(cycle, north.id).decode() == buffer.getvalue()


@pytest.mark.parametrize("rule", ["greedy", "mes-add1"])
def test_a_points_count_stores_each_projects_points_whatever_the_rule(published_design, rule):
    cycle, projects, _ = published_design("cumulative", rule)
    stored = {result.project.title: result.votes for result in _run(cycle.districts[0].id).results}
    assert stored == _scores("cumulative")  # points, never the number of supporters Equal Shares works with
    assert tallying.supporters(_run(cycle.districts[0].id)) == {
        projects["big"].id: 2, projects["mid"].id: 3, projects["small"].id: 3, projects["extra"].id: 2}


def test_a_rule_that_does_not_fit_the_design_is_refused_and_nothing_is_counted(published_design, make_user):
    cycle, _, _ = published_design("ranking", publish=False)
    cycle.rule = "mes-add1"  # as if the settings had let it through
    db.session.commit()
    before = db.session.scalar(select(func.count()).select_from(TallyRun))
    with pytest.raises(ConflictError, match="cannot count the ballots of North, South"):
        tallying.run_tally(make_user(Role.OFFICIAL), cycle.id)
    db.session.rollback()
    assert db.session.scalar(select(func.count()).select_from(TallyRun)) == before == 2  # the earlier count stands


def test_a_ranking_count_is_compared_with_no_equal_shares(published_design):
    cycle, _, _ = published_design("ranking")
    run = _run(cycle.districts[0].id)
    assert [column.rule for column in tallying.rule_columns(run)] == ["greedy"] and not run.comparisons
    notes = tallying.uncompared_rules(run, tallying.ballot_designs.district_design(run.district))
    assert len(notes) == 1 and "Method of Equal Shares" in notes[0] and "Ranking" in notes[0]


@pytest.mark.parametrize("design", ["cumulative", "ranking"])
def test_pb_tally_reruns_an_exported_file_to_the_published_winners(published_design, tmp_path, design):
    cycle, _, _ = published_design(design)
    north = cycle.districts[0]
    path = tmp_path / f"{design}.pb"
    path.write_text(exports.district_pabulib(cycle, north.id), encoding="utf-8")
    command = Path(sys.executable).with_name("pb-tally")
    done = subprocess.run([str(command), str(path), "--rule", cycle.rule, "--seed", str(cycle.tie_break_seed), "--json"],
                          capture_output=True, check=False, timeout=120)
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert set(report["selected"]) == _funded(north.id) and report["matches_published"] is True


def test_a_withdrawn_project_keeps_the_rank_scores_in_the_file(published_design, make_user):
    """A correction that withdraws a ranked project: the file is `scoring`, each rank keeping its score as counted."""
    cycle, projects, _ = published_design("ranking")
    north = cycle.districts[0]
    run = _run(north.id)
    corrected = tallying.build_run(make_user(Role.OFFICIAL), cycle, north, frozenset({projects["big"].id}))
    db.session.delete(run)
    db.session.flush()
    db.session.add(corrected)
    db.session.commit()
    election = pabulib.read(exports.district_pabulib(cycle, north.id))
    assert election.meta["vote_type"] == "scoring" and election.meta["pb_withdrawn"] == str(projects["big"].id)
    outcome = run_rule("greedy", election.instance(), election.profile(), tie_break=seeded_tie_break(cycle.tie_break_seed))
    assert set(outcome.selected) == _funded(north.id)
    scores = {row["project_id"]: int(row["score"]) for row in election.projects}
    assert scores == {str(projects[t].id): s for t, s in _scores("ranking").items() if t != "big"}


def test_the_votes_chart_csv_and_json_say_points_and_rank_scores(published_design):
    cycle, projects, _ = published_design("cumulative")
    north = cycle.districts[0]
    chart = exports.votes_chart(cycle, north.id)
    assert chart.title == "Points per project in North" and chart.series[0][0] == "Points"
    assert chart.columns[1] == "Points" and "points residents gave" in chart.description
    rows = list(csv.DictReader(io.StringIO(exports.results_csv(cycle).lstrip("\ufeff"))))
    mid = next(row for row in rows if row["title"] == "mid")
    assert (mid["score"], mid["score_unit"], mid["voters"]) == ("14", "points", "3") and "votes" not in mid
    document = exports.results_json(cycle)
    record = next(d for d in document["districts"] if d["id"] == north.id)
    assert record["score_unit"] == "points" and record["ballot_design"]["points"] == 10
    assert record["rule_label"] == "Standard count: most points first"
    mid = next(p for p in record["projects"] if p["title"] == "mid")
    assert (mid["points"], mid["voters"]) == (14, 3) and "votes" not in mid

    cycle, _, _ = published_design("ranking")
    north = cycle.districts[0]
    assert exports.votes_chart(cycle, north.id).title == "Rank scores per project in North"
    record = next(d for d in exports.results_json(cycle)["districts"] if d["id"] == north.id)
    big = next(p for p in record["projects"] if p["title"] == "big")
    assert (record["score_unit"], big["rank_score"], big["voters"]) == ("rank_score", 8, 3)


def test_a_knapsack_csv_keeps_its_columns(published_design):
    cycle, _, _ = published_design("knapsack")
    header = exports.results_csv(cycle).lstrip("\ufeff").splitlines()[0]
    assert header == "district,project_id,title,category,cost_EUR,votes,funded,rule,position,explanation"


@pytest.mark.parametrize(("design", "words"), [
    ("cumulative", ["Residents spread 10 points among the projects, at most 5 on one project.", "Points", "Voters"]),
    ("ranking", ["a first place scores 3, a second 2, a third 1", "Rank score"]),
    ("approval", ["Residents chose up to 3 projects, whatever they cost"]),
])
def test_the_printed_report_speaks_the_designs_terms(published_design, design, words):
    cycle, _, _ = published_design(design)
    text = " ".join(" ".join(page.extract_text().split()) for page in PdfReader(io.BytesIO(exports.results_pdf(cycle))).pages)
    for word in words:
        assert word in text


def test_a_receipt_shows_the_points_and_the_ranks_in_order(published_design):
    cycle, projects, voters = published_design("ranking")
    north = cycle.districts[0]
    ballot = voting.look_up_receipt(cycle, voting.current_receipt(voters[0], cycle.id, north.id))
    kind, lines = tallying.receipt_lines(ballot)
    assert (kind, [(line.title, line.value) for line in lines]) == ("ranking", [("big", 1), ("mid", 2), ("small", 3)])

    cycle, projects, voters = published_design("cumulative")
    ballot = voting.look_up_receipt(cycle, voting.current_receipt(voters[2], cycle.id, cycle.districts[0].id))
    kind, lines = tallying.receipt_lines(ballot)
    assert (kind, sorted((line.title, line.value) for line in lines)) == (
        "cumulative", [("extra", 2), ("mid", 5), ("small", 3)])


def test_results_read_from_stored_scores_match_the_points_in_each_ballot(published_design):
    cycle, _, _ = published_design("cumulative", "mes-add1")
    north = cycle.districts[0]
    total = db.session.scalar(select(func.sum(ProjectResult.votes)).where(ProjectResult.tally_run_id == _run(north.id).id))
    assert total == sum(sum(ballot.values()) for ballot in BALLOTS["cumulative"])
