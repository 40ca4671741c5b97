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


# -- A refused decision keeps what the moderator typed, with each error at its field. ---------------------------

def _field_tag(page: str, field_id: str) -> str:
    import re

    found = re.search(rf'<(?:input|textarea)[^>]*id="{field_id}"[^>]*>', page)
    assert found, f"no field {field_id}"
    return found.group(0)


def test_a_refused_final_cost_is_kept_and_its_error_stands_at_its_field(client, make_user, make_cycle, make_proposal):
    """Regression: the typed final cost was lost and the error shown only at the top of the page."""
    cycle = make_cycle(Phase.REVIEW, districts=(("North", 100_000),))
    proposal = make_proposal(cycle, estimated_cost=10_000)
    client.login(make_user(Role.MODERATOR))
    response = client.submit(f"/moderation/proposals/{proposal.id}/accept",
                             {"accept-final_cost": "2500,50", "accept-note": "Bigger site.", "accept-version": "1"})
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    cost = _field_tag(page, "accept-final_cost")
    assert 'value="2500,50"' in cost and 'aria-invalid="true"' in cost
    assert 'aria-describedby="accept-final_cost-hint accept-final_cost-error-1"' in cost
    assert 'id="accept-final_cost-error-1"' in page and "more than the district&#39;s whole budget" in page
    assert '<div class="error-summary" role="alert" id="error-summary">' in page
    assert '<a href="#accept-final_cost">' in page  # the summary links to the field
    assert "Bigger site.</textarea>" in page  # the note typed with it is kept too
    assert db.session.get(Proposal, proposal.id).status is ProposalStatus.SUBMITTED


def test_a_missing_note_for_a_changed_cost_stands_at_the_note(client, make_user, make_cycle, make_proposal):
    cycle = make_cycle(Phase.REVIEW)
    proposal = make_proposal(cycle, estimated_cost=10_000)
    client.login(make_user(Role.MODERATOR))
    response = client.submit(f"/moderation/proposals/{proposal.id}/accept",
                             {"accept-final_cost": "123,45", "accept-note": "", "accept-version": "1"})
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert 'value="123,45"' in _field_tag(page, "accept-final_cost")
    assert 'aria-invalid="true"' in _field_tag(page, "accept-note")
    assert '<a href="#accept-note">Explain in the public note why the final cost differs' in page


def test_an_unreadable_final_cost_is_kept_as_typed(client, make_user, make_cycle, make_proposal):
    cycle = make_cycle(Phase.REVIEW)
    proposal = make_proposal(cycle)
    client.login(make_user(Role.MODERATOR))
    response = client.submit(f"/moderation/proposals/{proposal.id}/accept",
                             {"accept-final_cost": "twelve", "accept-version": "1"})
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert 'value="twelve"' in _field_tag(page, "accept-final_cost")
    assert 'aria-invalid="true"' in _field_tag(page, "accept-final_cost")


def test_a_missing_reason_stands_at_the_reason_of_that_form_only(client, make_user, make_cycle, make_proposal):
    cycle = make_cycle(Phase.REVIEW)
    proposal = make_proposal(cycle)
    client.login(make_user(Role.MODERATOR))
    response = client.submit(f"/moderation/proposals/{proposal.id}/reject", {"reject-note": " ", "reject-version": "1"})
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert 'aria-invalid="true"' in _field_tag(page, "reject-note")
    assert 'aria-invalid="true"' not in _field_tag(page, "changes-note")


def test_a_decision_on_a_changed_proposal_is_still_said_on_top_after_a_reload(client, make_user, make_cycle, make_proposal):
    cycle = make_cycle(Phase.REVIEW)
    proposal = make_proposal(cycle)
    client.login(make_user(Role.MODERATOR))
    response = client.submit(f"/moderation/proposals/{proposal.id}/reject",
                             {"reject-note": "No.", "reject-version": "7"})
    assert response.status_code == 302 and response.location == f"/moderation/proposals/{proposal.id}"


# -- Undoing a decision. ---------------------------------------------------------------------------------------

def test_a_moderator_undoes_a_decision_from_the_review_page(client, make_user, make_cycle, make_proposal):
    cycle = make_cycle(Phase.REVIEW)
    proposal = make_proposal(cycle, title="Shade trees")
    client.login(make_user(Role.MODERATOR))
    client.submit(f"/moderation/proposals/{proposal.id}/reject", {"reject-note": "Out of scope.", "reject-version": "1"})
    page = client.get(f"/moderation/proposals/{proposal.id}").get_data(as_text=True)
    assert f'action="/moderation/proposals/{proposal.id}/undo"' in page and 'name="version" value="2"' in page
    response = client.submit(f"/moderation/proposals/{proposal.id}/undo", {"version": "2"})
    assert response.status_code == 302 and response.location == f"/moderation/proposals/{proposal.id}"
    assert db.session.get(Proposal, proposal.id).status is ProposalStatus.SUBMITTED
    assert "is undone; it waits for review again" in client.get(response.location).get_data(as_text=True)
    assert list(db.session.scalars(select(AuditEntry.action).order_by(AuditEntry.sequence))) == [
        "reject-proposal", "undo-decision"]


def test_the_review_page_says_why_a_decision_can_no_longer_be_undone(client, make_user, make_cycle, make_proposal):
    from pb.services import moderation

    cycle = make_cycle(Phase.REVIEW)
    target, duplicate = make_proposal(cycle), make_proposal(cycle)
    moderator = make_user(Role.MODERATOR)
    moderation.accept(moderator, target.id, 10_000, version=1)
    moderation.merge(moderator, duplicate.id, target.id, version=1, into_version=2)
    client.login(moderator)
    page = client.get(f"/moderation/proposals/{target.id}").get_data(as_text=True)
    assert "merged into this one, so the decision can no longer be undone" in page
    assert f"/moderation/proposals/{target.id}/undo" not in page
    before = db.session.get(Proposal, target.id).version
    response = client.submit(f"/moderation/proposals/{target.id}/undo", {"version": str(before)})
    assert response.status_code == 302
    assert db.session.get(Proposal, target.id).status is ProposalStatus.ACCEPTED


def test_after_the_review_no_undo_is_offered_or_done(client, make_user, make_cycle, make_proposal):
    from pb.services import moderation

    cycle = make_cycle(Phase.REVIEW)
    proposal = make_proposal(cycle)
    moderator = make_user(Role.MODERATOR)
    moderation.accept(moderator, proposal.id, 10_000, version=1)
    cycle.phase = Phase.VOTING
    db.session.commit()
    client.login(moderator)
    assert "/undo" not in client.get(f"/moderation/proposals/{proposal.id}").get_data(as_text=True)
    response = client.submit(f"/moderation/proposals/{proposal.id}/undo", {"version": "2"}, follow_redirects=True)
    assert "Proposals can only be reviewed during the review phase." in response.get_data(as_text=True)
    assert db.session.get(Proposal, proposal.id).status is ProposalStatus.ACCEPTED


# -- The queue: what waits, kind by kind. ------------------------------------------------------------------------

def test_the_moderation_page_counts_what_waits_kind_by_kind(client, make_user, make_cycle, make_proposal):
    from pb.services import verification_requests

    cycle = make_cycle(Phase.REVIEW)
    make_proposal(cycle)
    make_proposal(cycle)
    verification_requests.ask(make_user(), cycle.id, cycle.districts[0].id)
    client.login(make_user(Role.MODERATOR))
    page = client.get("/moderation/").get_data(as_text=True)
    assert "0 flagged comments" in page
    assert f'aria-label="2 proposals waiting for review in {cycle.name}">2</a>' in page
    assert f'aria-label="1 resident asking to be verified in {cycle.name}">1</a>' in page
    assert f"/moderation/cycles/{cycle.id}/verification-requests" in page


def test_the_review_queue_is_oldest_first_and_pages_through_the_database(client, make_user, make_cycle, make_proposal):
    from datetime import datetime

    cycle = make_cycle(Phase.REVIEW)
    newer = make_proposal(cycle, title="Newer", created_at=datetime(2026, 3, 2))
    older = make_proposal(cycle, title="Older", created_at=datetime(2026, 3, 1))
    client.login(make_user(Role.MODERATOR))
    page = client.get(f"/moderation/cycles/{cycle.id}").get_data(as_text=True)
    assert page.index("Older") < page.index("Newer")
    assert "2 proposals wait for review, the oldest first." in page
    assert f"/moderation/proposals/{older.id}" in page and f"/moderation/proposals/{newer.id}" in page
