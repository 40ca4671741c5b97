"""The page where officials check and approve the count: totals per district, reconciliation, warnings."""

from sqlalchemy import func, select

from pb.domain.cycle import Phase
from pb.extensions import db
from pb.models import Participation, ResultApproval, Role
from pb.services import paper, publication, tallying, voting
from tests.conftest import close_voting


def _counted(make_user, make_cycle, make_project, verify):
    """Northside: one online voter, two paper voters, one agreed sheet (a sheet is missing); Southside: one online."""
    olga, pieter = make_user(Role.OFFICIAL, name="Olga"), make_user(Role.OFFICIAL, name="Pieter")
    cycle = make_cycle(Phase.VOTING, districts=(("Northside", 100_000), ("Southside", 50_000)))
    north, south = cycle.districts
    fountain = make_project(cycle, north, cost=30_000, title="Fountain")
    benches = make_project(cycle, south, cost=10_000, title="Benches")
    for district, project in ((north, fountain), (south, benches)):
        voter = make_user()
        verify(voter, district)
        voting.cast_ballot(voter, cycle.id, district.id, [project.id])
    for _ in range(2):
        voter = make_user()
        verify(voter, north)
        paper.record_paper_voter(olga, voter.id, north.id)
    for official in (olga, pieter):
        paper.enter_sheet(official, north.id, "Library", 1, [fountain.id])
    close_voting(cycle)
    tallying.run_tally(olga, cycle.id)
    return cycle, olga, pieter


def test_the_approval_page_shows_totals_reconciliation_and_warnings(client, make_user, make_cycle, make_project, verify):
    cycle, olga, _ = _counted(make_user, make_cycle, make_project, verify)
    client.login(olga)
    response = client.get(f"/admin/cycles/{cycle.id}/approve-results")
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "Totals per district" in page and "Northside" in page and "Southside" in page
    assert "Verified residents" in page and "Ballots counted online" in page and "Voters on paper" in page
    assert "Fountain" in page and "Benches" in page
    assert "Northside: 2 paper voters recorded but only 1 sheets entered" in page
    assert publication.count_digest(cycle) in page
    assert "I have checked these figures: approve the count" in page


def test_approving_from_the_page_sends_the_count_shown(app, client, make_user, make_cycle, make_project, verify):
    cycle, olga, pieter = _counted(make_user, make_cycle, make_project, verify)
    client.login(olga)
    shown = publication.count_digest(cycle)
    tallying.run_tally(pieter, cycle.id)  # counted again meanwhile
    response = client.submit(f"/admin/cycles/{cycle.id}/approve-results", {"count_digest": shown},
                             follow_redirects=True)
    assert "counted again after you opened the page" in response.get_data(as_text=True)
    assert db.session.scalar(select(func.count()).select_from(ResultApproval)) == 0
    current = publication.count_digest(cycle)
    response = client.submit(f"/admin/cycles/{cycle.id}/approve-results", {"count_digest": current},
                             follow_redirects=True)
    assert "You approved the count." in response.get_data(as_text=True)
    assert db.session.scalar(select(func.count()).select_from(ResultApproval)) == 1


def test_the_page_offers_no_approval_while_the_count_does_not_add_up(client, make_user, make_cycle, make_project,
                                                                     verify):
    cycle, olga, _ = _counted(make_user, make_cycle, make_project, verify)
    north = cycle.districts[0]
    marks = db.session.scalars(select(Participation).where(Participation.channel == "paper")).all()
    for mark in marks:
        paper.undo_paper_voter(olga, mark.user_id, north.id, "Marked by mistake.")
    client.login(olga)
    page = client.get(f"/admin/cycles/{cycle.id}/approve-results").get_data(as_text=True)
    assert "The count cannot be approved" in page
    assert "Northside: 1 agreed paper sheets but 0 paper voters recorded." in page
    assert "I have checked these figures" not in page
    response = client.submit(f"/admin/cycles/{cycle.id}/approve-results", {"count_digest": publication.count_digest(cycle)},
                             follow_redirects=True)
    assert "its ballots do not add up" in response.get_data(as_text=True)
    assert db.session.scalar(select(func.count()).select_from(ResultApproval)) == 0
