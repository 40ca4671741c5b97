"""Moderators' review: the queue, decisions, the author's revision, merging, verifying residents."""

import json

import pytest

from sqlalchemy import select

from pb.domain.cycle import Phase
from pb.extensions import db
from pb.models import AuditEntry, Proposal, ProposalStatus, Role, Verification


def _proposal(proposal_id) -> Proposal:
    return db.session.get(Proposal, proposal_id)


def test_the_queue_lists_waiting_proposals_per_district(client, make_user, make_cycle, make_proposal):
    cycle = make_cycle(Phase.REVIEW)
    north, south = cycle.districts
    waiting = make_proposal(cycle, north, title="Waiting north")
    make_proposal(cycle, south, title="Waiting south")
    make_proposal(cycle, north, title="Already accepted", status=ProposalStatus.ACCEPTED)
    client.login(make_user(Role.MODERATOR))
    page = client.get(f"/moderation/cycles/{cycle.id}?district={north.id}").get_data(as_text=True)
    assert "Waiting north" in page and "Waiting south" not in page and "Already accepted" not in page
    assert f"/moderation/proposals/{waiting.id}" in page


def test_changes_requested_then_revised_then_accepted(client, app, make_user, make_cycle, make_proposal):
    cycle = make_cycle(Phase.REVIEW)
    author = make_user()
    proposal = make_proposal(cycle, author=author, estimated_cost=10_000)
    moderator = make_user(Role.MODERATOR)
    client.login(moderator)
    response = client.submit(f"/moderation/proposals/{proposal.id}/request-changes", {"changes-note": "Add a location.", "changes-version": "1"})
    assert response.status_code == 302
    assert _proposal(proposal.id).status is ProposalStatus.CHANGES_REQUESTED

    as_author = app.test_client()
    as_author.login(author)
    assert "Add a location." in as_author.get(f"/proposals/{proposal.id}/edit").get_data(as_text=True)
    response = as_author.submit(f"/proposals/{proposal.id}/edit", {
        "title": proposal.title, "summary": "s", "description": "d", "estimated_cost": "120",
        "district_id": proposal.district_id, "category_id": proposal.category_id, "location": "Park Road",
        "version": "2",
    })
    assert response.status_code == 302
    revised = _proposal(proposal.id)
    assert revised.status is ProposalStatus.SUBMITTED and revised.location == "Park Road" and revised.estimated_cost == 12_000

    response = client.submit(f"/moderation/proposals/{proposal.id}/accept",
                             {"accept-final_cost": "150", "accept-note": "Includes signage.", "accept-version": "3"})
    assert response.status_code == 302
    accepted = _proposal(proposal.id)
    assert accepted.status is ProposalStatus.ACCEPTED and accepted.final_cost == 15_000
    assert accepted.moderator_note == "Includes signage."
    entry = db.session.scalars(select(AuditEntry).where(AuditEntry.action == "accept-proposal")).one()
    assert entry.actor_id == moderator.id
    assert json.loads(entry.before)["status"] == "submitted" and json.loads(entry.after)["final_cost"] == 15_000


def test_a_stale_edit_is_refused(client, make_user, make_cycle, make_proposal):
    cycle = make_cycle(Phase.PROPOSALS)
    author = make_user()
    proposal = make_proposal(cycle, author=author, version=3)
    client.login(author)
    response = client.submit(f"/proposals/{proposal.id}/edit", {
        "title": "Old tab", "summary": "s", "description": "d", "estimated_cost": "10",
        "district_id": proposal.district_id, "category_id": proposal.category_id, "version": "2",
    })
    assert response.status_code == 400
    assert "this proposal changed after you opened the form" in response.get_data(as_text=True)
    assert _proposal(proposal.id).title != "Old tab"


def test_someone_elses_proposal_cannot_be_edited_or_withdrawn(client, make_user, make_cycle, make_proposal):
    cycle = make_cycle(Phase.PROPOSALS)
    proposal = make_proposal(cycle)
    client.login(make_user())
    response = client.get(f"/proposals/{proposal.id}/edit", follow_redirects=True)
    assert "Only the author can change a proposal." in response.get_data(as_text=True)
    response = client.submit(f"/proposals/{proposal.id}/withdraw", follow_redirects=True)
    assert "Only the author can change a proposal." in response.get_data(as_text=True)
    assert _proposal(proposal.id).status is ProposalStatus.SUBMITTED


def test_reject_needs_a_reason_and_the_author_sees_it(client, app, make_user, make_cycle, make_proposal):
    cycle = make_cycle(Phase.REVIEW)
    author = make_user()
    proposal = make_proposal(cycle, author=author)
    client.login(make_user(Role.MODERATOR))
    response = client.submit(f"/moderation/proposals/{proposal.id}/reject", {"reject-note": "", "reject-version": "1"},
                             follow_redirects=True)
    assert "Write a reason." in response.get_data(as_text=True)
    assert _proposal(proposal.id).status is ProposalStatus.SUBMITTED
    client.submit(f"/moderation/proposals/{proposal.id}/reject", {"reject-note": "Outside the city's powers.", "reject-version": "1"})
    assert _proposal(proposal.id).status is ProposalStatus.REJECTED
    as_author = app.test_client()
    as_author.login(author)
    assert "Outside the city&#39;s powers." in as_author.get("/my/proposals").get_data(as_text=True)


def test_a_duplicate_is_merged_into_another_proposal(client, make_user, make_cycle, make_proposal):
    cycle = make_cycle(Phase.REVIEW)
    original = make_proposal(cycle, title="Trees on Elm Street")
    duplicate = make_proposal(cycle, title="More trees on Elm St")
    client.login(make_user(Role.MODERATOR))
    assert "Trees on Elm Street" in client.get(f"/moderation/proposals/{duplicate.id}").get_data(as_text=True)
    response = client.submit(f"/moderation/proposals/{duplicate.id}/merge", {"merge-into_id": f"{original.id}:1", "merge-version": "1"})
    assert response.status_code == 302
    merged = _proposal(duplicate.id)
    assert merged.status is ProposalStatus.MERGED and merged.merged_into_id == original.id
    assert "Trees on Elm Street" in client.get(f"/proposals/{duplicate.id}").get_data(as_text=True)


def test_a_moderator_cannot_review_their_own_proposal(client, make_user, make_cycle, make_proposal):
    cycle = make_cycle(Phase.REVIEW)
    moderator = make_user(Role.MODERATOR)
    proposal = make_proposal(cycle, author=moderator)
    client.login(moderator)
    response = client.submit(f"/moderation/proposals/{proposal.id}/accept", {"accept-final_cost": "100", "accept-version": "1"},
                             follow_redirects=True)
    assert "You cannot review your own proposal" in response.get_data(as_text=True)
    assert _proposal(proposal.id).status is ProposalStatus.SUBMITTED


def test_verifying_a_resident_for_a_district(client, make_user, make_cycle):
    cycle = make_cycle(Phase.VOTING)
    resident = make_user(name="Vera Voter")
    moderator = make_user(Role.MODERATOR)
    client.login(moderator)
    page = client.get(f"/moderation/cycles/{cycle.id}/residents?q=vera").get_data(as_text=True)
    assert "Vera Voter" in page and "not yet" in page
    district = cycle.districts[1]
    response = client.submit(f"/moderation/cycles/{cycle.id}/residents", {"user_id": resident.id, "district_id": district.id},
                             follow_redirects=True)
    assert f"Vera Voter can now vote in {district.name}." in response.get_data(as_text=True)
    verification = db.session.scalars(select(Verification)).one()
    assert (verification.user_id, verification.district_id, verification.verified_by_id) == (resident.id, district.id, moderator.id)
    again = client.submit(f"/moderation/cycles/{cycle.id}/residents", {"user_id": resident.id, "district_id": district.id},
                          follow_redirects=True)
    assert "already verified" in again.get_data(as_text=True)
    assert len(db.session.scalars(select(Verification)).all()) == 1


def test_a_district_of_another_cycle_cannot_be_used_for_verification(client, make_user, make_cycle):
    cycle = make_cycle(Phase.VOTING)
    other = make_cycle(Phase.VOTING)
    resident = make_user()
    client.login(make_user(Role.MODERATOR))
    response = client.submit(f"/moderation/cycles/{cycle.id}/residents",
                             {"user_id": resident.id, "district_id": other.districts[0].id}, follow_redirects=True)
    assert "Choose one of the listed options." in response.get_data(as_text=True)
    assert db.session.scalar(select(Verification.id)) is None


def _revoke(client, cycle, resident, reason="Lives in South", confirm="y", origin="residents"):
    data = {"user_id": resident.id, "reason": reason}
    if confirm:
        data["confirm"] = confirm
    return client.submit(f"/moderation/cycles/{cycle.id}/residents/revoke?origin={origin}&q=vera", data)


def test_a_second_district_is_refused_on_the_page_with_the_way_out(client, make_user, make_cycle, verify):
    cycle = make_cycle(Phase.VOTING)
    north, south = cycle.districts
    resident = make_user(name="Vera Voter")
    verify(resident, north)
    client.login(make_user(Role.OFFICIAL))
    response = client.submit(f"/moderation/cycles/{cycle.id}/residents?q=vera",
                             {"user_id": resident.id, "district_id": south.id}, follow_redirects=True)
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "already verified for North in this cycle" in page and "revoke that verification first" in page
    assert db.session.scalars(select(Verification.district_id).where(Verification.user_id == resident.id)).all() == [north.id]


def test_revoking_from_the_residents_page_asks_a_reason_and_a_confirmation(client, make_user, make_cycle, verify):
    cycle = make_cycle(Phase.VOTING)
    north, _ = cycle.districts
    resident = make_user(name="Vera Voter")
    verify(resident, north)
    moderator = make_user(Role.MODERATOR)
    client.login(moderator)
    page = client.get(f"/moderation/cycles/{cycle.id}/residents?q=vera").get_data(as_text=True)
    assert "Revoke the verification for North" in page and 'name="reason" required' in page
    assert 'name="confirm" value="y" required' in page

    for refused in (_revoke(client, cycle, resident, confirm=None), _revoke(client, cycle, resident, reason="")):
        assert refused.status_code == 302
    assert db.session.scalar(select(Verification.id).where(Verification.user_id == resident.id)) is not None

    response = _revoke(client, cycle, resident)
    assert response.status_code == 302
    assert response.headers["Location"] == f"/moderation/cycles/{cycle.id}/residents?q=vera"
    assert db.session.scalar(select(Verification.id).where(Verification.user_id == resident.id)) is None
    entry = db.session.scalars(select(AuditEntry).where(AuditEntry.action == "revoke-verification")).one()
    assert entry.actor_id == moderator.id and json.loads(entry.after) == {"reason": "Lives in South"}
    assert "is revoked" in client.get(response.headers["Location"]).get_data(as_text=True)


def test_after_voting_the_page_says_what_to_do_instead_of_revoking(client, make_user, make_cycle, verify):
    from pb.models import Participation

    cycle = make_cycle(Phase.VOTING)
    north, _ = cycle.districts
    resident = make_user(name="Vera Voter")
    verify(resident, north)
    db.session.add(Participation(user_id=resident.id, cycle_id=cycle.id, district_id=north.id, channel="paper"))
    db.session.commit()
    official = make_user(Role.OFFICIAL)
    client.login(official)
    for url in (f"/moderation/cycles/{cycle.id}/residents?q=vera", f"/paper/cycles/{cycle.id}/voters?q=vera"):
        page = client.get(url).get_data(as_text=True)
        assert "Revoke the verification" not in page, url
        assert "a paper ballot in the box cannot be taken out" in page, url
    response = _revoke(client, cycle, resident, origin="paper-voters")
    assert response.headers["Location"] == f"/paper/cycles/{cycle.id}/voters?q=vera"
    assert "cannot be taken out" in client.get(response.headers["Location"]).get_data(as_text=True)
    assert db.session.scalar(select(Verification.id).where(Verification.user_id == resident.id)) is not None


@pytest.mark.parametrize("origin", ["https://evil.example/", "//evil.example", "paper.voters", ""])
def test_revoking_goes_back_only_to_a_known_page(client, make_user, make_cycle, verify, origin):
    cycle = make_cycle(Phase.VOTING)
    resident = make_user(name="Vera Voter")
    verify(resident, cycle.districts[0])
    client.login(make_user(Role.MODERATOR))
    response = _revoke(client, cycle, resident, origin=origin)
    assert response.headers["Location"] == f"/moderation/cycles/{cycle.id}/residents?q=vera"


def test_residents_cannot_revoke(client, make_user, make_cycle, verify):
    cycle = make_cycle(Phase.VOTING)
    resident = make_user(name="Vera Voter")
    verify(resident, cycle.districts[0])
    client.login(make_user())
    assert _revoke(client, cycle, resident).status_code == 403
    assert db.session.scalar(select(Verification.id).where(Verification.user_id == resident.id)) is not None
