"""Correcting published results over HTTP: propose with a reason, a second official approves, the public pages show
the new revision with its reason and keep every earlier revision readable."""

import html

import pytest

from pb.domain.cycle import Phase
from pb.extensions import db
from pb.models import ResultRevision, Role
from pb.services import cycles, publication, revisions, tallying, voting
from tests.conftest import close_voting


@pytest.fixture
def published(make_cycle, make_project, make_user, verify):
    """North (1,000 EUR), greedy: "Pool" 600 EUR and "Bench" 400 EUR funded, "Trees" 500 EUR not; published."""
    officials = [make_user(Role.OFFICIAL, name=name) for name in ("Olga", "Pieter")]
    cycle = make_cycle(Phase.VOTING)
    north = cycle.districts[0]
    pool, trees, bench = (make_project(cycle, north, cost=cost, title=title)
                          for cost, title in [(60_000, "Pool"), (50_000, "Trees"), (40_000, "Bench")])
    for choice in [[pool], [pool], [pool, bench], [trees, bench], [trees]]:
        voter = make_user()
        verify(voter, north)
        voting.cast_ballot(voter, cycle.id, north.id, [project.id for project in choice])
    close_voting(cycle)
    tallying.run_tally(officials[0], cycle.id)
    for official in officials:
        publication.approve_results(official, cycle.id)
    cycles.advance_phase(officials[0], cycle.id, Phase.TALLYING)
    return cycle, officials, pool


def _revisions() -> list[tuple[int, str]]:
    db.session.expire_all()
    return [(r.number, r.status) for r in db.session.query(ResultRevision).order_by(ResultRevision.number)]


def test_an_official_proposes_a_correction_and_another_publishes_it(client, published, app):
    cycle, (olga, pieter), pool = published
    client.login(olga)
    page = client.get(f"/admin/cycles/{cycle.id}/corrections/new")
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert "North: Pool" in text and "North: Bench" in text and "North: Trees" not in text
    response = client.submit(f"/admin/cycles/{cycle.id}/corrections/new",
                             {"project_ids": [pool.id], "reason": "The pool site is protected <b>land</b>."})
    assert response.status_code == 302 and response.location.endswith(f"/admin/cycles/{cycle.id}")
    assert _revisions() == [(1, "published"), (2, "pending")]
    admin = client.get(f"/admin/cycles/{cycle.id}").get_data(as_text=True)
    assert "Revision 2 waits for approval" in admin and "no longer funded: Pool" in admin
    assert "newly funded: Trees" in admin and "A different official must approve it." in admin
    public = client.get(f"/cycles/{cycle.id}/results").get_data(as_text=True)
    assert "Revision 1, published" in public and "Corrected results" not in public

    client.submit("/logout")
    client.login(pieter)
    response = client.submit(f"/admin/cycles/{cycle.id}/corrections/2/approve")
    assert response.status_code == 302
    assert _revisions() == [(1, "published"), (2, "published")]
    public = client.get(f"/cycles/{cycle.id}/results").get_data(as_text=True)
    assert "Corrected results: revision 2" in public
    assert html.escape("The pool site is protected <b>land</b>.") in public and "<b>land</b>" not in public
    listing = client.get(f"/cycles/{cycle.id}/results/revisions").get_data(as_text=True)
    assert "Revision 2" in listing and "Revision 1" in listing and "no longer funded: Pool" in listing
    assert "Proposed by Olga, approved by Pieter." in listing
    project_page = client.get(f"/proposals/{pool.id}").get_data(as_text=True)
    assert "Withdrawn after the results were published" in project_page and "revision 2 of the results" in project_page
    first = client.get(f"/cycles/{cycle.id}/results/revisions/1")
    assert first.status_code == 200 and "A later revision replaces it." in first.get_data(as_text=True)
    assert "Pool" in first.get_data(as_text=True)


def test_a_refused_correction_form_explains_itself_and_stores_nothing(client, published):
    cycle, (olga, _), _ = published
    client.login(olga)
    response = client.submit(f"/admin/cycles/{cycle.id}/corrections/new", {"reason": ""})
    assert response.status_code == 400
    text = response.get_data(as_text=True)
    assert "Choose at least one funded project to withdraw." in text and "Give the reason for the correction." in text
    response = client.submit(f"/admin/cycles/{cycle.id}/corrections/new",
                             {"project_ids": ["999999"], "reason": "x"})
    assert response.status_code == 400 and "Choose among the projects listed" in response.get_data(as_text=True)
    response = client.submit(f"/admin/cycles/{cycle.id}/corrections/new",
                             {"project_ids": ["not a number"], "reason": "x"})
    assert response.status_code == 400 and "Choose among the projects listed" in response.get_data(as_text=True)
    assert _revisions() == [(1, "published")]


def test_the_proposer_cannot_approve_and_is_told_why(client, published):
    cycle, (olga, _), pool = published
    revisions.propose_correction(olga, cycle.id, "Pool cannot be built.", [pool.id])
    client.login(olga)
    response = client.submit(f"/admin/cycles/{cycle.id}/corrections/2/approve", follow_redirects=True)
    assert "a different official must approve it" in response.get_data(as_text=True)
    assert _revisions() == [(1, "published"), (2, "pending")]
    response = client.submit(f"/admin/cycles/{cycle.id}/corrections/2/cancel", follow_redirects=True)
    assert "The correction is cancelled" in response.get_data(as_text=True)
    assert _revisions() == [(1, "published"), (2, "cancelled")]


def test_revisions_are_not_public_before_publication_and_unknown_ones_are_not_found(client, published, make_cycle):
    cycle, _, _ = published
    assert client.get(f"/cycles/{cycle.id}/results/revisions/5").status_code == 404
    assert client.get(f"/cycles/{cycle.id}/results/revisions/2").status_code == 404  # pending ones are not public
    early = make_cycle(Phase.VOTING)
    for url in (f"/cycles/{early.id}/results/revisions", f"/cycles/{early.id}/results/revisions/1"):
        response = client.get(url)
        assert response.status_code == 302 and response.location.endswith(f"/cycles/{early.id}")


def test_corrections_are_refused_before_publication(client, published, make_cycle, make_user):
    _, (olga, _), _ = published
    counting = make_cycle(Phase.TALLYING)
    client.login(olga)
    response = client.get(f"/admin/cycles/{counting.id}/corrections/new", follow_redirects=True)
    assert "only be corrected once they are published" in response.get_data(as_text=True)
    assert client.get("/admin/cycles/999999/corrections/new").status_code == 404


def test_the_api_names_the_revision_and_what_it_withdrew(client, published):
    cycle, (olga, pieter), pool = published
    first = client.get(f"/api/v1/cycles/{cycle.id}/results").get_json()["revision"]
    assert (first["number"], first["reason"], first["withdrawn_project_ids"]) == (1, "", [])
    revisions.propose_correction(olga, cycle.id, "Pool cannot be built.", [pool.id])
    assert client.get(f"/api/v1/cycles/{cycle.id}/results").get_json()["revision"]["number"] == 1  # pending: not yet
    revisions.approve_correction(pieter, cycle.id, 2)
    results = client.get(f"/api/v1/cycles/{cycle.id}/results").get_json()
    assert results["revision"]["number"] == 2 and results["revision"]["reason"] == "Pool cannot be built."
    assert results["revision"]["withdrawn_project_ids"] == [pool.id]
    assert results["revision"]["published_at"].endswith("Z")
    north = results["districts"][0]["count"]
    assert pool.id not in {project["project_id"] for project in north["projects"]}
    assert north["parameters"]["withdrawn"] == str(pool.id)


def test_a_revision_counts_its_ballots_with_the_right_plural_and_the_withdrawn_project_says_so(client, published):
    # Regressions: "1 ballots" on a revision page; a project withdrawn by a correction still read "Accepted: on the
    # ballot" on its page and in the proposal list.
    cycle, (olga, pieter), pool = published
    page = client.get(f"/cycles/{cycle.id}/results/revisions/1").get_data(as_text=True)
    assert "; 5 ballots." in page
    revisions.propose_correction(olga, cycle.id, "The pool site is protected land.", [pool.id])
    revisions.approve_correction(pieter, cycle.id, 2)
    project_page = client.get(f"/proposals/{pool.id}").get_data(as_text=True)
    assert '<span class="badge status-withdrawn_after_results">Withdrawn after the results</span>' in project_page
    assert "Accepted: on the ballot" not in project_page
    listing = client.get(f"/cycles/{cycle.id}/proposals").get_data(as_text=True)
    assert "Withdrawn after the results</span>" in listing and "Accepted: on the ballot</span>" not in listing


def test_a_revision_of_one_ballot_says_one_ballot(client, make_cycle, make_project, make_user, verify):
    officials = [make_user(Role.OFFICIAL) for _ in range(2)]
    cycle = make_cycle(Phase.VOTING)
    north = cycle.districts[0]
    project = make_project(cycle, north, cost=10_000)
    voter = make_user()
    verify(voter, north)
    voting.cast_ballot(voter, cycle.id, north.id, [project.id])
    close_voting(cycle)
    tallying.run_tally(officials[0], cycle.id)
    for official in officials:
        publication.approve_results(official, cycle.id)
    cycles.advance_phase(officials[0], cycle.id, Phase.TALLYING)
    page = client.get(f"/cycles/{cycle.id}/results/revisions/1").get_data(as_text=True)
    assert "; 1 ballot." in page and "1 ballots" not in page
