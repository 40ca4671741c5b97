"""The results pages, receipts and downloads of a cumulative and a ranking cycle speak in points and rank scores."""

import csv
import html
import io
import json
import re

import pytest
from pypdf import PdfReader

from pb.services import voting
from tests.services.test_design_results import published_design  # noqa: F401 (a fixture)


def _text(response) -> str:
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", response.get_data(as_text=True))).split())


def test_a_cumulative_results_page_describes_the_ballot_and_counts_points(client, published_design):  # noqa: F811
    cycle, projects, voters = published_design("cumulative")
    client.login(voters[0])
    response = client.get(f"/cycles/{cycle.id}/results")
    assert response.status_code == 200
    text = _text(response)
    assert "The ballot: Residents spread 10 points among the projects, at most 5 on one project." in text
    assert "Rule used: Standard count: most points first" in text
    assert "14 points (from 3 voters)" in text and "7 points (from 2 voters)" in text
    assert "Project, points and cost" in text and "Standard count: most votes first" not in text
    # Only the tie-break speaks of votes: between two projects with the same points, the one more voters gave points.
    assert [match.start() for match in re.finditer(r"\bvotes\b", text)] == [
        match.start() + len("then the one with more ") for match in re.finditer("then the one with more votes", text)]
    assert "You gave points to 2 projects in North; 1 of them funded." in text  # big (not funded) and small (funded)
    assert "Points per project in North" in text


def test_a_ranking_results_page_gives_rank_scores_and_says_equal_shares_is_not_compared(client, published_design):  # noqa: F811
    cycle, projects, voters = published_design("ranking")
    client.login(voters[1])
    text = _text(client.get(f"/cycles/{cycle.id}/results/{cycle.districts[0].id}"))
    assert "Residents ranked up to 3 projects; a first place scores 3, a second 2, a third 1." in text
    assert "a rank score of 8 (ranked by 3 voters)" in text and "Rank score" in text
    assert "is not compared here: it cannot count this ballot design (Ranking: rank your favourite projects)" in text
    assert "Standard count: highest rank score first" in text
    assert "You ranked 2 projects in North; 2 of them funded." in text


def test_the_receipt_page_shows_the_ranks_in_order_and_the_points(client, published_design):  # noqa: F811
    cycle, projects, voters = published_design("ranking")
    north = cycle.districts[0]
    code = voting.current_receipt(voters[0], cycle.id, north.id)
    response = client.get(f"/cycles/{cycle.id}/receipt?code={code}")
    assert response.status_code == 200
    text = _text(response)
    assert "This ballot was counted" in text
    assert re.search(r"Rank 1: big .*Rank 2: mid .*Rank 3: small", text)

    cycle, projects, voters = published_design("cumulative")
    code = voting.current_receipt(voters[2], cycle.id, cycle.districts[0].id)
    text = _text(client.get(f"/cycles/{cycle.id}/receipt?code={code}"))
    assert "The points this ballot gave, 10 in all:" in text
    assert "mid: 5 points" in text and "small: 3 points" in text and "extra: 2 points" in text


@pytest.mark.parametrize(("design", "unit"), [("cumulative", "points"), ("ranking", "rank_score"), ("approval", "votes")])
def test_the_downloads_name_the_score(client, published_design, design, unit):  # noqa: F811
    cycle, _, _ = published_design(design)
    north = cycle.districts[0]
    document = json.loads(client.get(f"/cycles/{cycle.id}/results.json").get_data(as_text=True))
    record = next(d for d in document["districts"] if d["id"] == north.id)
    assert record["score_unit"] == unit and record["ballot_design"]["kind"] == design
    assert all(unit in project for project in record["projects"])
    rows = list(csv.DictReader(io.StringIO(client.get(f"/cycles/{cycle.id}/results.csv").get_data(as_text=True).lstrip("\ufeff"))))
    assert ({row["score_unit"] for row in rows if row["district"] == "North"} == {unit}) if unit != "votes" else (
        "votes" in rows[0])
    pdf = PdfReader(io.BytesIO(client.get(f"/cycles/{cycle.id}/results.pdf").get_data()))
    text = " ".join(" ".join(page.extract_text().split()) for page in pdf.pages)
    assert {"points": "Points per project in North", "rank_score": "Rank scores per project in North",
            "votes": "Votes per project in North"}[unit] in text
    api = client.get(f"/api/v1/cycles/{cycle.id}/results").get_json()
    count = next(d for d in api["districts"] if d["district"]["id"] == north.id)["count"]
    assert (count["ballot_design"], count["score_unit"]) == (design, unit)


def test_the_officials_count_page_the_project_page_and_a_revision_speak_rank_scores(client, published_design, make_user):  # noqa: F811
    from pb.models import Role

    cycle, projects, _ = published_design("ranking", publish=False)
    client.login(make_user(Role.OFFICIAL))
    text = _text(client.get(f"/admin/cycles/{cycle.id}"))
    assert "big (a rank score of 8, 600 EUR)" in text and "small (a rank score of 6, 300 EUR)" in text

    cycle, projects, _ = published_design("cumulative")
    text = _text(client.get(f"/proposals/{projects['mid'].id}"))
    assert "Count: 14 points; cost 500 EUR." in text
    text = _text(client.get(f"/cycles/{cycle.id}/results/revisions/1"))
    assert "Points" in text and " Votes " not in f" {text} "
    text = _text(client.get(f"/cycles/{cycle.id}/results/{cycle.districts[0].id}"))
    assert "then the one more voters gave points to, then a lottery drawn from the published seed 7" in text
