"""Published results: the pages, the rules side by side, explanations, charts, the ballot list and the officials' files."""

import csv
import hashlib
import html
import io
import json
import re
from types import SimpleNamespace

import pytest
from pypdf import PdfReader
from sqlalchemy import func, select

from pb import tally_cli
from pb.domain.cycle import Phase
from pb.domain.tally import ApprovalProfile, Instance, Project, run_rule, seeded_tie_break
from pb.extensions import db
from pb.models import Ballot, Role, TallyComparison, TallyRun
from pb.services import tallying, voting
from tests.conftest import close_voting


@pytest.fixture
def world(make_user, make_cycle, make_project, verify):
    """North (1,000 EUR): six residents choose Playground and Benches, four choose Library; South: one Skate ramp vote.

    The standard count funds Playground and Benches; Equal Shares funds one of them and the Library.
    """

    def build(rule: str = "greedy", phase: Phase = Phase.RESULTS) -> SimpleNamespace:
        cycle = make_cycle(Phase.VOTING, rule=rule, tie_break_seed=7)
        north, south = cycle.districts
        playground = make_project(cycle, north, cost=50_000, title="Playground")
        benches = make_project(cycle, north, cost=50_000, title="Benches")
        library = make_project(cycle, north, cost=50_000, title="Library corner")
        ramp = make_project(cycle, south, cost=20_000, title="Skate ramp")
        voters = []
        for choice, district in [([playground, benches], north)] * 6 + [([library], north)] * 4 + [([ramp], south)]:
            voter = make_user()
            verify(voter, district)
            voting.cast_ballot(voter, cycle.id, district.id, [project.id for project in choice])
            voters.append(voter)
        official = make_user(Role.OFFICIAL)
        close_voting(cycle)
        tallying.run_tally(official, cycle.id)
        cycle.phase = phase
        db.session.commit()
        return SimpleNamespace(cycle=cycle, north=north, south=south, playground=playground, benches=benches,
                               library=library, ramp=ramp, majority=voters[0], minority=voters[6], official=official)

    return build


def _run(district_id: int) -> TallyRun:
    db.session.expire_all()
    return db.session.scalar(select(TallyRun).where(TallyRun.district_id == district_id))


def _funded(district_id: int) -> set[int]:
    return {result.project_id for result in _run(district_id).results if result.is_funded}


def test_results_page_and_csv(client, app, make_user, make_cycle, make_project, verify):
    official = make_user(Role.OFFICIAL)
    cycle = make_cycle(Phase.VOTING, districts=(("North", 30_000),))
    swings = make_project(cycle, cost=20_000, title="Swings")
    formula = make_project(cycle, cost=15_000, title='=HYPERLINK("x")')
    for n in range(3):
        voter = make_user()
        verify(voter, cycle.districts[0])
        voter_client = app.test_client()
        voter_client.login(voter)
        choice = [swings.id] if n < 2 else [formula.id]
        assert voter_client.submit(f"/cycles/{cycle.id}/vote/{cycle.districts[0].id}",
                                   {"project": [str(c) for c in choice]}).status_code == 302
    close_voting(cycle)
    tallying.run_tally(official, cycle.id)
    cycle.phase = Phase.RESULTS
    db.session.commit()

    page = client.get(f"/cycles/{cycle.id}/results").get_data(as_text=True)
    assert "Swings" in page and "3 voters" in page and "Used: 200 EUR; left: 100 EUR" in page
    assert "Download the results (CSV)" in page  # for anyone, once the results are published

    response = client.get(f"/cycles/{cycle.id}/results.csv")  # anonymous
    assert response.status_code == 200 and "attachment" in response.headers["Content-Disposition"]
    text = response.get_data(as_text=True)
    assert text.startswith("\ufeff")
    rows = list(csv.reader(io.StringIO(text.lstrip("\ufeff"))))
    assert rows[0][:6] == ["district", "project_id", "title", "category", "cost_EUR", "votes"]
    assert rows[1][2:7] == ["Swings", "Green spaces", "200", "2", "yes"]
    assert rows[2][2] == "'=HYPERLINK(\"x\")"  # a formula is neutralised, never run by a spreadsheet
    assert rows[2][6] == "no"
    assert rows[1][9] == _run(cycle.districts[0].id).results[0].explanation


def _header_cells(page: str, district_id: int) -> list[str]:
    section = page[page.index(f'id="district-{district_id}"'):]
    section = section[section.index('class="results comparison"'):]
    header = section[section.index("<thead>"):section.index("</thead>")]
    return [re.sub(r"<[^>]+>", "", cell).strip() for cell in re.findall(r"<th[^>]*>(.*?)</th>", header, re.DOTALL)]


@pytest.mark.parametrize(
    ("rule", "marked"),
    [("greedy", "Standard count: most votes first"), ("mes-add1", "Method of Equal Shares (Add1, completed by the standard count)")],
)
def test_the_results_page_sets_the_standard_count_and_equal_shares_side_by_side(client, world, rule, marked):
    w = world(rule)
    page = client.get(f"/cycles/{w.cycle.id}/results").get_data(as_text=True)
    headers = _header_cells(page, w.north.id)
    assert headers[1:] == [
        "Standard count: most votes first" + (" used for this cycle" if rule == "greedy" else ""),
        "Method of Equal Shares (Add1, completed by the standard count)" + (" used for this cycle" if rule != "greedy" else ""),
    ]
    assert page.count("used for this cycle") == 2  # one marked column per district
    assert f"{marked} <span class=\"badge used\">used for this cycle" in page
    # The library is funded by Equal Shares only; whichever rule was used, both outcomes are shown.
    library_row = page[page.index(f'id="project-{w.library.id}"'):]
    library_row = library_row[:library_row.index("</tr>")]
    assert re.findall(r'<td class="rule[^"]*">(.*?)</td>', library_row) == [
        '<span class="muted">not funded</span>', '<span class="badge funded">Funded</span>']
    assert (w.library.id in _funded(w.north.id)) is (rule == "mes-add1")
    comparisons = db.session.scalars(select(TallyComparison).where(TallyComparison.tally_run_id == _run(w.north.id).id))
    other = "mes-add1" if rule == "greedy" else "greedy"
    assert [(c.rule, c.spent) for c in comparisons] == [(other, 100_000)]


def test_every_project_says_why_it_did_or_did_not_win_on_the_results_and_project_pages(client, world):
    w = world()
    results = {result.project_id: result for result in _run(w.north.id).results}
    page = html.unescape(client.get(f"/cycles/{w.cycle.id}/results").get_data(as_text=True))
    assert page.count("Why was it funded?") == 3 and page.count("Why was it not funded?") == 1
    for result in results.values():
        assert result.explanation and result.explanation in page
    funded = html.unescape(client.get(f"/proposals/{w.playground.id}").get_data(as_text=True))
    assert "Why did this project win?" in funded and results[w.playground.id].explanation in funded
    lost = html.unescape(client.get(f"/proposals/{w.library.id}").get_data(as_text=True))
    assert "Why didn't this project win?" in lost and results[w.library.id].explanation in lost
    assert f'href="/cycles/{w.cycle.id}/results/{w.north.id}#project-{w.library.id}"' in lost


def test_the_project_page_has_no_results_section_before_publication(client, world):
    w = world(phase=Phase.TALLYING)
    assert _run(w.north.id) is not None  # counted, but not published
    page = client.get(f"/proposals/{w.library.id}").get_data(as_text=True)
    assert client.get(f"/proposals/{w.library.id}").status_code == 200
    assert "win?" not in page and _run(w.north.id).results[-1].explanation not in page


def test_a_logged_in_voter_sees_how_many_of_their_choices_were_funded(client, world):
    w = world()
    client.login(w.majority)
    page = client.get(f"/cycles/{w.cycle.id}/results").get_data(as_text=True)
    assert "You voted for 2 projects in North; 2 of them were funded." in page
    assert page.count("You voted for") == 1  # not in South, where they did not vote
    client.login(w.minority)
    page = client.get(f"/cycles/{w.cycle.id}/results/{w.north.id}").get_data(as_text=True)
    assert "You voted for 1 project in North; it was not funded." in page
    assert voting.current_choices(w.minority, w.cycle.id, w.north.id) == {w.library.id}


def test_the_district_page_shows_one_district(client, world):
    w = world()
    response = client.get(f"/cycles/{w.cycle.id}/results/{w.south.id}")
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "Skate ramp" in page and "Playground" not in page
    assert "Used: 200 EUR; left: 300 EUR" in page
    assert "1 voter (1 online, 0 on paper) of 1 verified resident (100.0 %)" in page


@pytest.mark.parametrize(
    ("url", "status", "message"),
    [
        ("/cycles/999999/results/1", 404, "There is no such cycle."),
        ("/cycles/{cycle}/results/999999", 404, "There is no such district."),
        ("/cycles/{cycle}/results/{other_district}", 404, "There is no such district in this cycle."),
        ("/cycles/{cycle}/results/{other_district}/votes.svg", 404, "There is no such district in this cycle."),
        ("/cycles/{cycle}/charts/pie-in-the-sky.svg", 404, "There is no chart called"),
        ("/cycles/{cycle}/results/99999999999999999999/ballots.csv", 404, ""),
    ],
)
def test_unknown_cycles_districts_and_charts_get_a_clear_404(client, world, make_cycle, url, status, message):
    w = world()
    other = make_cycle(Phase.RESULTS)
    response = client.get(url.format(cycle=w.cycle.id, other_district=other.districts[0].id))
    assert response.status_code == status
    assert message in response.get_data(as_text=True)


@pytest.mark.parametrize("phase", [Phase.VOTING, Phase.TALLYING])
@pytest.mark.parametrize(
    "path", ["results/{north}/votes.svg", "charts/budget-by-category.svg", "charts/budget-by-district.svg",
             "results/{north}/ballots.csv", "results.json", "results.pdf", "results/{north}.pb", "results.csv"],
)
def test_vote_counts_charts_and_files_are_refused_with_409_before_publication(client, world, phase, path):
    w = world(phase=phase)
    client.login(w.official)
    response = client.get(f"/cycles/{w.cycle.id}/" + path.format(north=w.north.id))
    assert response.status_code == 409
    page = response.get_data(as_text=True)
    assert "Results are not published yet." in page and "Playground" not in page


def test_results_pages_redirect_with_a_message_before_publication(client, world):
    w = world(phase=Phase.TALLYING)
    response = client.get(f"/cycles/{w.cycle.id}/results/{w.north.id}", follow_redirects=True)
    page = response.get_data(as_text=True)
    assert response.request.path == f"/cycles/{w.cycle.id}" and "Results are not published yet." in page


@pytest.mark.parametrize("phase", [Phase.VOTING, Phase.TALLYING, Phase.RESULTS])
@pytest.mark.parametrize("kind", ["turnout", "ballots-per-day"])
def test_turnout_charts_are_public_from_the_vote_and_show_no_votes(client, world, phase, kind):
    w = world(phase=phase)
    response = client.get(f"/cycles/{w.cycle.id}/charts/{kind}.svg")
    assert response.status_code == 200 and response.mimetype == "image/svg+xml"
    svg = response.get_data(as_text=True)
    assert svg.lstrip().startswith("<?xml") and "</svg>" in svg
    assert "Playground" not in svg and "Library" not in svg
    assert response.headers["ETag"] and response.cache_control.public


def test_turnout_charts_are_refused_before_the_vote(client, make_cycle):
    cycle = make_cycle(Phase.PROPOSALS)
    response = client.get(f"/cycles/{cycle.id}/charts/turnout.svg")
    assert response.status_code == 409 and "Turnout is shown once voting has opened." in response.get_data(as_text=True)


@pytest.mark.parametrize("kind", ["budget-by-category", "budget-by-district", "turnout", "ballots-per-day", "votes"])
def test_published_charts_are_svg_cached_and_answer_a_revalidation_with_304(client, world, kind):
    w = world()
    url = (f"/cycles/{w.cycle.id}/results/{w.north.id}/votes.svg" if kind == "votes"
           else f"/cycles/{w.cycle.id}/charts/{kind}.svg")
    first = client.get(url)
    assert first.status_code == 200 and first.mimetype == "image/svg+xml"
    assert first.cache_control.max_age == 300
    again = client.get(url, headers={"If-None-Match": first.headers["ETag"]})
    assert again.status_code == 304 and again.get_data() == b""
    assert client.get(url).get_data() == first.get_data()  # the same numbers draw the same picture


def test_each_chart_on_the_page_has_a_text_alternative_and_its_numbers_in_a_table(client, world):
    w = world()
    page = client.get(f"/cycles/{w.cycle.id}/results").get_data(as_text=True)
    figures = re.findall(r'<figure class="chart" id="([^"]+)" aria-labelledby="[^"]+-caption">(.*?)</figure>', page, re.DOTALL)
    assert [name for name, _ in figures] == [
        f"chart-votes-{w.north.id}", f"chart-votes-{w.south.id}", "chart-budget-by-category",
        "chart-budget-by-district", "chart-turnout", "chart-ballots-per-day"]
    for _, body in figures:
        assert re.search(r'<img src="[^"]+\.svg" alt="[^"]{40,}"', body)
        assert "<figcaption" in body and "<table>" in body
    votes_table = dict(figures)[f"chart-votes-{w.north.id}"]
    assert re.search(r'<th scope="row">Library corner</th><td class="number">4</td><td class="number">500 EUR</td>', votes_table)
    turnout_table = dict(figures)["chart-turnout"]
    assert re.search(r'<th scope="row">North</th><td class="number">10</td><td class="number">0</td>'
                     r'<td class="number">10</td><td class="number">100.0 %</td>', turnout_table)


def _digest_on_page(page: str, district_id: int) -> str:
    section = page[page.index(f'id="district-{district_id}"'):]
    return re.search(r'<code class="digest">([0-9a-f]{64})</code>', section).group(1)


@pytest.mark.parametrize("rule", ["greedy", "mes-add1", "mes-add1-comparison"])
def test_anyone_can_download_the_ballot_list_check_its_digest_and_rerun_the_count(client, world, rule):
    w = world(rule)
    page = client.get(f"/cycles/{w.cycle.id}/results").get_data(as_text=True)
    assert f"<dt>Parameter <code>seed</code></dt><dd>Tie-break seed: {w.cycle.tie_break_seed}</dd>" in page
    assert f"<dt>Rule</dt><dd>{tallying.rule_label(rule)} · name for pb-tally: <code>{rule}</code></dd>" in page
    assert f"<code>pb-tally ballots.pb --rule {rule} --seed {w.cycle.tie_break_seed}</code>" in page
    response = client.get(f"/cycles/{w.cycle.id}/results/{w.north.id}/ballots.csv")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    body = response.get_data()
    assert hashlib.sha256(body).hexdigest() == _digest_on_page(page, w.north.id) == _run(w.north.id).ballot_list_sha256

    rows = list(csv.DictReader(io.StringIO(body.decode("utf-8"))))
    receipts = set(db.session.scalars(select(Ballot.receipt).where(Ballot.district_id == w.north.id)))
    assert {row["receipt"] for row in rows} == receipts and len(rows) == 10
    assert [row["receipt"] for row in rows] == sorted(receipts)
    # The instance as the page lists it: the budget and each project's number and cost in the smallest unit.
    section = page[page.index(f'id="district-{w.north.id}"'):page.index(f'id="district-{w.south.id}"')]
    budget = int(re.search(r"<dt>Budget</dt><dd><code>(\d+)</code>", section).group(1))
    costs = re.findall(r"<tr><td><code>(\d+)</code></td><td class=\"number\"><code>(\d+)</code></td></tr>", section)
    assert len(costs) == 3
    instance = Instance(budget, tuple(Project(project_id, int(cost)) for project_id, cost in costs))
    run = _run(w.north.id)
    profile = ApprovalProfile.from_ballots(row["vote"].split(",") if row["vote"] else [] for row in rows)
    outcome = run_rule(run.rule, instance, profile, tie_break=seeded_tie_break(w.cycle.tie_break_seed))
    assert {int(project_id) for project_id in outcome.selected} == _funded(w.north.id)


@pytest.mark.parametrize("rule", ["greedy", "mes-add1", "mes-add1-comparison", "phragmen"])
def test_a_district_exported_to_pabulib_tallies_to_the_published_winners(client, world, tmp_path, capsys, rule):
    w = world(rule)
    client.login(w.official)
    response = client.get(f"/cycles/{w.cycle.id}/results/{w.north.id}.pb")
    assert response.status_code == 200 and "attachment" in response.headers["Content-Disposition"]
    path = tmp_path / "north.pb"
    path.write_bytes(response.get_data())
    assert tally_cli.main([str(path), "--rule", rule, "--seed", str(w.cycle.tie_break_seed), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert {int(project_id) for project_id in report["selected"]} == _funded(w.north.id)
    assert report["matches_published"] is True and report["voters"] == 10
    text = response.get_data(as_text=True)
    votes = text[text.index("VOTES"):].splitlines()[2:]
    assert sorted(int(line.split(";")[0]) for line in votes) == list(range(1, 11))  # numbered, not user ids


def test_the_officials_json_export_is_the_stored_count(client, world):
    w = world()
    client.login(w.official)
    response = client.get(f"/cycles/{w.cycle.id}/results.json")
    assert response.status_code == 200 and response.mimetype == "application/json"
    document = json.loads(response.get_data(as_text=True))
    north = next(d for d in document["districts"] if d["id"] == w.north.id)
    assert {p["id"] for p in north["projects"] if p["is_funded"]} == _funded(w.north.id)
    assert north["ballot_list_sha256"] == _run(w.north.id).ballot_list_sha256
    assert [c["rule"] for c in north["comparison"] if c["is_official"]] == ["greedy"]


def test_the_printable_report_is_a_pdf_of_several_pages(client, world):
    w = world()
    client.login(w.official)
    response = client.get(f"/cycles/{w.cycle.id}/results.pdf")
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    body = response.get_data()
    assert body.startswith(b"%PDF") and body.rstrip().endswith(b"%%EOF")
    pages = PdfReader(io.BytesIO(body)).pages
    assert len(pages) > 1 and f"Page 1 of {len(pages)}" in pages[0].extract_text()  # more in tests/services/test_report.py


@pytest.mark.parametrize("path", ["results/{north}.pb"])
def test_officials_files_are_not_for_residents(client, world, path):
    w = world()
    client.login(w.majority)
    assert client.get(f"/cycles/{w.cycle.id}/" + path.format(north=w.north.id)).status_code == 403


def test_recounting_replaces_the_comparisons_too(world, make_user):
    w = world(phase=Phase.TALLYING)
    tallying.run_tally(w.official, w.cycle.id)
    assert db.session.scalar(select(func.count()).select_from(TallyComparison)) == 2  # one per district


@pytest.mark.parametrize("rule", ["greedy", "mes-add1"])
def test_anyone_can_rerun_the_count_with_pb_tally_from_the_public_pabulib_ballot_list(client, world, tmp_path, capsys, rule):
    w = world(rule)
    listing = client.get(f"/cycles/{w.cycle.id}/results/{w.north.id}/ballots.csv").get_data(as_text=True)
    response = client.get(f"/cycles/{w.cycle.id}/results/{w.north.id}/ballots.pb")
    assert response.status_code == 200 and "attachment" in response.headers["Content-Disposition"]
    text = response.get_data(as_text=True)
    votes = [line.split(";", 1) for line in text[text.index("VOTES"):].splitlines()[2:]]
    rows = [row for row in csv.reader(io.StringIO(listing))][1:]
    assert [[receipt, vote.strip('"')] for receipt, vote in votes] == rows  # the same ballots, under their receipts
    assert f"ballot_list_sha256;{_run(w.north.id).ballot_list_sha256}" in text
    path = tmp_path / "north.pb"
    path.write_text(text)
    assert tally_cli.main([str(path), "--rule", rule, "--seed", str(w.cycle.tie_break_seed), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert {int(project_id) for project_id in report["selected"]} == _funded(w.north.id)
    assert report["matches_published"] is True


def test_the_public_pabulib_ballot_list_waits_for_publication(client, world):
    w = world(phase=Phase.TALLYING)
    response = client.get(f"/cycles/{w.cycle.id}/results/{w.north.id}/ballots.pb")
    assert response.status_code == 409 and "Results are not published yet." in response.get_data(as_text=True)


def test_the_results_page_lists_the_audit_log_head_at_each_phase_change(client, world):
    from pb.services import audit

    w = world()
    for phase in ("tallying", "results"):
        audit.record(w.official, "advance-phase", f"cycle:{w.cycle.id}", cycle_id=w.cycle.id, after={"phase": phase})
        db.session.commit()
    heads = audit.published_heads(w.cycle.id)
    page = client.get(f"/cycles/{w.cycle.id}/results").get_data(as_text=True)
    assert "Audit log head at each phase change" in page
    assert all(head.entry_hash in page for head in heads) and len(heads) == 2
    assert "now: Results published" in page and "now: Counting the votes" in page


@pytest.mark.parametrize("rule", ["greedy", "mes-add1"])
def test_the_recount_recipe_in_docs_works_from_public_data_alone(client, world, tmp_path, capsys, rule):
    """docs/recount.md, step by step, as an outsider: no login. A title that would run as a spreadsheet formula
    changes nothing in the files a recount reads."""
    w = world(rule)
    w.playground.title = "＝HYPERLINK(\"https://evil.example\",\"x\")"
    db.session.commit()
    cycle_id, district_id = w.cycle.id, w.north.id
    ballots_csv = client.get(f"/cycles/{cycle_id}/results/{district_id}/ballots.csv").get_data()
    ballots_pb = client.get(f"/cycles/{cycle_id}/results/{district_id}/ballots.pb").get_data()
    page = client.get(f"/cycles/{cycle_id}/results").get_data(as_text=True)
    published = client.get(f"/api/v1/cycles/{cycle_id}/results").get_json()

    # Step 2: the digest shown on the page and in the API is the digest of the downloaded bytes.
    digest = hashlib.sha256(ballots_csv).hexdigest()
    assert f'<code class="digest">{digest}</code>' in page
    [north] = [d for d in published["districts"] if d["district"]["id"] == district_id]
    assert north["count"]["ballot_list_sha256"] == digest
    # Step 3: the pabulib file holds the same ballots, and the title as typed.
    text = ballots_pb.decode("utf-8")
    votes = {line.split(";")[0]: line.split(";")[1] for line in text[text.index("VOTES"):].splitlines()[2:]}
    assert votes == {row["receipt"]: row["vote"] for row in csv.DictReader(io.StringIO(ballots_csv.decode("utf-8")))}
    from pb.domain.tally import pabulib

    names = {row["project_id"]: row["name"] for row in pabulib.read(text).projects}
    assert names[str(w.playground.id)] == w.playground.title
    # Steps 4 and 5: the command the page prints, and the published winners.
    assert f"pb-tally ballots.pb --rule {rule} --seed {w.cycle.tie_break_seed}" in page
    path = tmp_path / "ballots.pb"
    path.write_bytes(ballots_pb)
    assert tally_cli.main([str(path), "--rule", rule, "--seed", str(w.cycle.tie_break_seed), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    funded = {project["project_id"] for project in north["count"]["projects"] if project["is_funded"]}
    assert {int(project_id) for project_id in report["selected"]} == funded and report["matches_published"] is True


# Issue 19: what residents see of the results, and the rough edges found there.


def test_the_first_view_says_what_was_funded_where_and_how_many_took_part(client, world):
    w = world()
    page = html.unescape(client.get(f"/cycles/{w.cycle.id}/results").get_data(as_text=True))
    first_view = page[:page.index('<details class="check-count"')]
    # What got funded (title, cost, district), where (the map), how many took part (of the verified residents).
    assert "3 projects are funded, for 1,200 EUR of the 1,500 EUR budget." in first_view
    assert "11 residents took part. That is 100.0 % of the 11 residents verified to vote." in first_view
    assert f'href="/cycles/{w.cycle.id}/results/map"' in first_view
    assert "The 2 funded projects in North" in first_view and "The 1 funded project in South" in page
    assert "Playground" in first_view and "500 EUR" in first_view
    south_view = page[page.index(f'id="district-{w.south.id}"'):page.index(f'id="check-{w.south.id}"')]
    assert "Skate ramp" in south_view and "200 EUR" in south_view
    assert "Library corner" not in first_view  # not funded: in the full list, behind "Check the count yourself"
    # The re-count details sit behind one closed disclosure per district (no script needed to open it).
    check = page[page.index(f'<details class="check-count" id="check-{w.north.id}">'):]
    check = check[:check.index("</details>\n  </section>") if "</details>\n  </section>" in check else None]
    assert "<summary><h3>Check the count yourself</h3></summary>" in check
    for detail in ("Library corner", "SHA-256 of the ballot list", "pb-tally ballots.pb", "Votes per project in North"):
        assert detail in check
    assert "pb-tally" not in first_view and "SHA-256" not in first_view


def test_a_rule_label_never_repeats_its_id():
    # Regression: the results page and the report read "Standard count (greedy) (greedy)".
    for rule in tallying.RULE_LABELS:
        assert f"({rule})" not in tallying.rule_label(rule)


def test_the_results_page_never_doubles_the_rule_name(client, world):
    w = world()
    page = client.get(f"/cycles/{w.cycle.id}/results").get_data(as_text=True)
    assert "(greedy) (greedy)" not in page and "(greedy)" not in page
    assert "Standard count: most votes first · name for pb-tally: <code>greedy</code>" in page


def test_equal_shares_parameters_are_shown_in_words_not_raw_fractions(client, world):
    # Regression: "voter_budget 4700002/3" on the public page. North: 100,000 cents among 10 voters (a whole share);
    # the exact value stays in the JSON for a recount.
    w = world("mes-add1")
    page = html.unescape(client.get(f"/cycles/{w.cycle.id}/results").get_data(as_text=True))
    assert "Each voter's equal share of the budget:" in page and "(rounded to the cent)" in page
    assert not re.search(r"<dd><code>\d+/\d+</code></dd>", page) and not re.search(r"voter_budget</code></dt><dd><code>", page)
    assert "Amounts in the explanations are rounded to the cent" in page
    exact = client.get(f"/cycles/{w.cycle.id}/results.json").get_json()
    north = next(d for d in exact["districts"] if d["id"] == w.north.id)
    assert "voter_budget" in north["parameters"]


def test_an_equal_share_in_thirds_of_a_cent_is_shown_rounded_to_the_cent(app, world):
    w = world("mes-add1")
    run = _run(w.north.id)
    run.parameters = json.dumps({**json.loads(run.parameters), "voter_budget": "4700002/3"})
    db.session.commit()
    with app.test_request_context():
        rows = {row.name: str(row.shown) for row in tallying.parameter_rows(run, "EUR")}
    assert rows["voter_budget"] == "Each voter's equal share of the budget: 15,666.67 EUR (rounded to the cent)"
    assert "tie_break" not in rows and rows["seed"] == "Tie-break seed: 7"  # the tie-break has its own line


def test_the_tie_break_line_is_a_translatable_message_not_the_engines_english(client, world):
    # Regression: the tie-break line was the engine's English describe() text, which no catalogue can translate.
    w = world()
    page = client.get(f"/cycles/{w.cycle.id}/results").get_data(as_text=True)
    assert "lower cost, then more votes, then lottery" not in page
    assert ("<dt>Tie-break</dt><dd>the cheaper project first, then the one with more votes, then a lottery drawn "
            f"from the published seed {w.cycle.tie_break_seed}</dd>") in page
    assert tallying.tie_break_words(_run(w.north.id)).template.startswith("the cheaper project first")


@pytest.fixture
def tied(make_user, make_cycle, make_project, verify):
    """North (600 EUR): Fountain (500 EUR) and Benches (400 EUR) have 2 votes each and only one fits."""
    cycle = make_cycle(Phase.VOTING, districts=(("North", 60_000),), tie_break_seed=4)
    north = cycle.districts[0]
    fountain = make_project(cycle, north, cost=50_000, title="Fountain")
    benches = make_project(cycle, north, cost=40_000, title="Benches")
    for project in (fountain, fountain, benches, benches):
        voter = make_user()
        verify(voter, north)
        voting.cast_ballot(voter, cycle.id, north.id, [project.id])
    official = make_user(Role.OFFICIAL)
    close_voting(cycle)
    tallying.run_tally(official, cycle.id)
    cycle.phase = Phase.RESULTS
    db.session.commit()
    return SimpleNamespace(cycle=cycle, north=north, fountain=fountain, benches=benches)


def test_a_tie_the_count_broke_is_explained_on_the_page_and_in_the_json(client, tied):
    assert _funded(tied.north.id) == {tied.benches.id}
    page = html.unescape(client.get(f"/cycles/{tied.cycle.id}/results").get_data(as_text=True))
    sentence = ("Benches and Fountain had 2 votes each. The tie-break put them in this order: Benches, then Fountain, "
                "because the cheaper project comes first. Funded: Benches. Not funded: Fountain.")
    first_view = page[:page.index('<details class="check-count"')]
    assert "How a tie was broken" in first_view and sentence in first_view
    document = client.get(f"/cycles/{tied.cycle.id}/results.json").get_json()
    assert document["districts"][0]["ties"] == [sentence]


def test_no_tie_no_tie_section(client, world):
    w = world()
    assert "How a tie was broken" not in client.get(f"/cycles/{w.cycle.id}/results").get_data(as_text=True)


@pytest.mark.parametrize("path", ["results.csv", "results.json", "results.pdf"])
@pytest.mark.parametrize("who", ["anonymous", "resident"])
def test_anyone_can_download_the_published_results(client, world, path, who):
    # Regression: a resident got a 403 for the results CSV and PDF.
    w = world()
    if who == "resident":
        client.login(w.majority)
    response = client.get(f"/cycles/{w.cycle.id}/{path}")
    assert response.status_code == 200 and "attachment" in response.headers["Content-Disposition"]
    assert response.mimetype == {"csv": "text/csv", "json": "application/json", "pdf": "application/pdf"}[path.split(".")[1]]


@pytest.mark.parametrize("phase", [Phase.VOTING, Phase.TALLYING])
@pytest.mark.parametrize("path", ["results.csv", "results.json", "results.pdf"])
@pytest.mark.parametrize("who", ["anonymous", "resident"])
def test_before_publication_the_downloads_stay_refused(client, world, phase, path, who):
    w = world(phase=phase)
    if who == "resident":
        client.login(w.majority)
    response = client.get(f"/cycles/{w.cycle.id}/{path}")
    assert response.status_code == 409
    assert "Playground" not in response.get_data(as_text=True)


def test_project_pages_and_lists_show_funded_and_not_funded_after_results(client, world):
    # Regression: after results projects still said "Accepted: on the ballot".
    w = world()
    funded = client.get(f"/proposals/{w.playground.id}").get_data(as_text=True)
    assert '<span class="badge status-funded">Funded</span>' in funded and "Accepted: on the ballot" not in funded
    lost = client.get(f"/proposals/{w.library.id}").get_data(as_text=True)
    assert '<span class="badge status-not_funded">Not funded</span>' in lost
    listing = client.get(f"/cycles/{w.cycle.id}/proposals").get_data(as_text=True)
    assert "Accepted: on the ballot</span>" not in listing
    assert listing.count('<span class="badge status-funded">Funded</span>') == 3
    assert listing.count('<span class="badge status-not_funded">Not funded</span>') == 1


def test_before_results_a_project_is_still_on_the_ballot(client, world):
    w = world(phase=Phase.TALLYING)
    page = client.get(f"/proposals/{w.playground.id}").get_data(as_text=True)
    assert '<span class="badge status-accepted">Accepted: on the ballot</span>' in page


def test_explanations_and_the_csv_write_parts_of_a_euro_with_both_decimals(client, make_user, make_cycle, make_project, verify):
    # Regression: "11,562.5 EUR" in explanations and the CSV; a part of a euro is written with both decimals.
    cycle = make_cycle(Phase.VOTING, districts=(("North", 2_000_000),))
    north = cycle.districts[0]
    hall = make_project(cycle, north, cost=1_156_250, title="Hall")
    voter = make_user()
    verify(voter, north)
    voting.cast_ballot(voter, cycle.id, north.id, [hall.id])
    close_voting(cycle)
    tallying.run_tally(make_user(Role.OFFICIAL), cycle.id)
    cycle.phase = Phase.RESULTS
    db.session.commit()
    explanation = _run(north.id).results[0].explanation
    assert "it costs 11,562.50 EUR" in explanation and "11,562.5 EUR" not in explanation.replace("11,562.50", "")
    text = client.get(f"/cycles/{cycle.id}/results.csv").get_data(as_text=True)
    rows = list(csv.reader(io.StringIO(text.lstrip("\ufeff"))))
    assert rows[1][4] == "11562.50" and "11,562.50 EUR" in rows[1][9]
