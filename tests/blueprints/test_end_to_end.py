"""A whole budget cycle through the HTTP client: set-up, proposals, review, voting, count, published results."""

import re

from sqlalchemy import select

from pb.domain.cycle import Phase
from pb.extensions import db
from pb.models import Ballot, Cycle, Participation, Proposal, ProposalStatus, Role, SealedBallot, TallyRun, User
from tests.page_forms import submit_page_form


def _flashes(response) -> list[str]:
    return re.findall(r'class="message [a-z]+">([^<]*)<', response.get_data(as_text=True))


def _move_on(client, cycle_id: int, **typed):
    """Press "Move to: ..." on the control room and confirm on the page it opens, as an official's browser would."""
    return submit_page_form(client, f"/admin/cycles/{cycle_id}/advance", **typed)


def _new_client(app, user):
    client = app.test_client()
    client.login(user)
    return client


def test_a_whole_cycle_from_proposal_to_published_results(app, client, make_user):
    official = make_user(Role.OFFICIAL, email="official@city.example")
    moderator = make_user(Role.MODERATOR, email="moderator@city.example")

    # A resident registers themselves.
    response = client.submit("/register", {
        "name": "Rita Resident", "email": "rita@city.example",
        "password": "a-long-password", "confirm": "a-long-password",
    })
    assert response.status_code == 200  # "we sent you an email"
    # She follows the confirmation link from the email, then logs in.
    from pb.models import OutboxMessage

    body = db.session.scalar(select(OutboxMessage.body_text).where(OutboxMessage.recipient == "rita@city.example"))
    [link] = re.findall(r"http://pb\.test(/confirm/\S+)", body)
    assert client.get(link).status_code == 302
    rita = db.session.scalar(select(User).where(User.email == "rita@city.example"))
    assert rita.email_confirmed_at is not None
    client.login(rita, "a-long-password")
    voters = [make_user(email=f"voter{n}@city.example") for n in range(4)]

    # The official sets up the cycle.
    as_official = _new_client(app, official)
    response = as_official.submit("/admin/cycles/new", {
        "name": "Townsville 2027", "currency": "EUR", "total_budget": "1 000", "rule": "greedy",
        "min_projects": "1", "max_projects": "",
    })
    assert response.status_code == 302
    cycle = db.session.scalar(select(Cycle).where(Cycle.name == "Townsville 2027"))
    assert cycle.total_budget == 100_000 and [d.name for d in cycle.districts] == ["Whole city"]
    assert as_official.submit(f"/admin/cycles/{cycle.id}/categories", {"category-name": "Parks"}).status_code == 302
    assert _move_on(as_official, cycle.id).status_code == 302
    db.session.refresh(cycle)
    assert cycle.phase is Phase.PROPOSALS
    district = cycle.districts[0]
    category = cycle.categories[0]

    # Rita proposes three projects; one is later rejected.
    as_rita = client
    titles = {"Benches": "300", "Fountain": "450.50", "Gold statue": "900"}
    for title, cost in titles.items():
        response = as_rita.submit(f"/cycles/{cycle.id}/proposals/new", {
            "title": title, "summary": f"{title} for everyone", "description": "Long text.",
            "estimated_cost": cost, "district_id": district.id, "category_id": category.id, "location": "Main square",
        })
        assert response.status_code == 302, _flashes(response)
    proposals = {p.title: p for p in db.session.scalars(select(Proposal).where(Proposal.cycle_id == cycle.id))}
    assert proposals["Fountain"].estimated_cost == 45_050

    # Review: the official cannot advance while proposals wait.
    _move_on(as_official, cycle.id)
    page = as_official.get(f"/admin/cycles/{cycle.id}/advance").get_data(as_text=True)
    assert "3 proposals are still waiting for review" in page and "Open voting now" not in page
    response = as_official.submit(f"/admin/cycles/{cycle.id}/advance", {"expected_phase": "review", "reason": "Test."},
                                  follow_redirects=True)
    assert "3 proposals are still waiting for review" in response.get_data(as_text=True)
    db.session.refresh(cycle)
    assert cycle.phase is Phase.REVIEW

    as_moderator = _new_client(app, moderator)

    def decide(title: str, decision: str, **typed):
        proposal_id = proposals[title].id
        return submit_page_form(as_moderator, f"/moderation/proposals/{proposal_id}",
                                f"/moderation/proposals/{proposal_id}/{decision}", **typed)

    assert decide("Benches", "accept", accept__final_cost="300").status_code == 302
    assert decide("Fountain", "accept", accept__final_cost="500",
                  accept__note="Includes the water connection.").status_code == 302
    assert decide("Gold statue", "reject", reject__note="Not a public need.").status_code == 302
    for proposal in proposals.values():
        db.session.refresh(proposal)
    assert proposals["Fountain"].final_cost == 50_000 and proposals["Fountain"].status is ProposalStatus.ACCEPTED
    assert proposals["Gold statue"].status is ProposalStatus.REJECTED
    assert "Not a public need." in as_rita.get("/my/proposals").get_data(as_text=True)

    # Voting: verification, then ballots. No date was published, so opening voting needs a reason.
    response = _move_on(as_official, cycle.id, follow_redirects=True)
    assert response.status_code == 400 and "Write the reason for moving on today" in response.get_data(as_text=True)
    _move_on(as_official, cycle.id, reason="The council set no dates for this pilot.")
    db.session.refresh(cycle)
    assert cycle.phase is Phase.VOTING
    for voter in [rita, *voters]:
        response = as_moderator.submit(f"/moderation/cycles/{cycle.id}/residents", {"user_id": voter.id, "district_id": district.id})
        assert response.status_code == 302
    benches, fountain = proposals["Benches"].id, proposals["Fountain"].id
    ballot_url = f"/cycles/{cycle.id}/vote/{district.id}"
    assert "Cast my ballot" in as_rita.get(ballot_url).get_data(as_text=True)
    assert as_rita.submit(ballot_url, {"project": [str(benches)]}).status_code == 302
    as_rita.submit(ballot_url, {"project": [str(benches), str(fountain)]})  # changes her mind
    for n, voter in enumerate(voters):
        choice = [str(fountain)] if n < 3 else [str(benches)]
        assert _new_client(app, voter).submit(ballot_url, {"project": choice}).status_code == 302
    assert db.session.query(SealedBallot).count() == 5  # sealed until voting closes
    assert (db.session.query(Ballot).count(), db.session.query(Participation).count()) == (0, 0)
    # No vote counts anywhere public during voting.
    assert as_rita.get(f"/cycles/{cycle.id}/results").status_code == 302

    # Tallying and publication.
    page = as_official.get(f"/admin/cycles/{cycle.id}/advance").get_data(as_text=True)
    assert "Voting ends for everyone" in page and "No date was published for this step" in page
    _move_on(as_official, cycle.id, reason="The council set no dates for this pilot.")
    page = as_official.get(f"/admin/cycles/{cycle.id}/advance").get_data(as_text=True)
    assert "The votes have not been counted yet in: Whole city" in page
    assert as_official.submit(f"/admin/cycles/{cycle.id}/tally").status_code == 302
    run = db.session.scalar(select(TallyRun).where(TallyRun.cycle_id == cycle.id))
    assert run.ballot_count == 5
    assert [r.project_id for r in run.results if r.is_funded] == [fountain, benches]
    assert run.spent == 80_000
    assert as_rita.get(f"/cycles/{cycle.id}/results").status_code == 302  # still not public
    # Four eyes: the count is published only once two different officials have approved it.
    page = as_official.get(f"/admin/cycles/{cycle.id}").get_data(as_text=True)
    assert "0 of 2 officials have approved the stored count." in page and "Check the totals and approve the count" in page
    review = as_official.get(f"/admin/cycles/{cycle.id}/approve-results").get_data(as_text=True)
    assert "Whole city" in review and "I have checked these figures" in review
    as_official.submit(f"/admin/cycles/{cycle.id}/approve-results")
    response = as_official.submit(f"/admin/cycles/{cycle.id}/advance", {"expected_phase": "tallying"},
                                  follow_redirects=True)
    assert "1 of 2 have approved it." in response.get_data(as_text=True)
    db.session.refresh(cycle)
    assert cycle.phase is Phase.TALLYING
    as_second_official = _new_client(app, make_user(Role.OFFICIAL, name="Second Official"))
    response = as_second_official.submit(f"/admin/cycles/{cycle.id}/approve-results", follow_redirects=True)
    assert "Two officials have approved it: it can be published." in response.get_data(as_text=True)
    page = as_official.get(f"/admin/cycles/{cycle.id}/advance").get_data(as_text=True)
    assert "The approved count becomes public for good" in page and "Publish the results now" in page
    _move_on(as_official, cycle.id)
    db.session.refresh(cycle)
    assert cycle.phase is Phase.RESULTS
    page = client.get(f"/cycles/{cycle.id}").get_data(as_text=True)
    assert "Timetable changes" in page and page.count("Reason: The council set no dates for this pilot.") == 2

    page = client.get(f"/cycles/{cycle.id}/results").get_data(as_text=True)
    assert "Fountain" in page and "Funded" in page and "800 EUR" in page and "5 voters" in page
    csv_response = as_official.get(f"/cycles/{cycle.id}/results.csv")
    assert csv_response.status_code == 200 and csv_response.mimetype == "text/csv"
    rows = csv_response.get_data(as_text=True).lstrip("\ufeff").splitlines()
    assert rows[1].startswith(f"Whole city,{fountain},Fountain,Parks,500,4,yes")
    assert as_rita.get(f"/cycles/{cycle.id}/results.csv").status_code == 200  # anyone may download published results
