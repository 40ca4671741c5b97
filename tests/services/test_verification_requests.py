"""Residents asking to be verified after a document check, and moderators answering from their queue."""

import pytest
from sqlalchemy import select

from pb.domain.cycle import Phase
from pb.domain.errors import NotFound, PermissionDenied, ValidationError
from pb.extensions import db
from pb.models import Role, Verification, VerificationRequest
from pb.services import verification_requests as requests_service


@pytest.fixture
def moderator(make_user):
    return make_user(Role.MODERATOR)


@pytest.fixture
def cycle(make_cycle):
    return make_cycle(Phase.PROPOSALS)


def _stored(request_id: int) -> VerificationRequest:
    db.session.expire_all()
    return db.session.get(VerificationRequest, request_id)


def test_a_resident_asks_for_a_district_with_a_note_and_it_is_audited(make_user, cycle, audit_log):
    resident = make_user()
    north = cycle.districts[0]
    asked = requests_service.ask(resident, cycle.id, north.id, "  I can come on Tuesday.  ")
    stored = _stored(asked.id)
    assert (stored.user_id, stored.district_id, stored.status, stored.note) == (
        resident.id, north.id, "open", "I can come on Tuesday.")
    assert audit_log("ask-verification") == [
        (resident.id, "ask-verification", f"user:{resident.id}", {}, {"district": "North", "request": asked.id})]
    assert requests_service.latest_request(resident, cycle) == stored


def test_one_open_request_at_a_time_and_a_cancelled_one_can_be_asked_again(make_user, cycle, audit_log):
    resident = make_user()
    asked = requests_service.ask(resident, cycle.id, cycle.districts[0].id)
    with pytest.raises(ValidationError, match="already asked"):
        requests_service.ask(resident, cycle.id, cycle.districts[1].id)
    requests_service.cancel(resident, asked.id)
    assert _stored(asked.id).status == "cancelled"
    assert audit_log("cancel-verification-request")[0][4] == {"status": "cancelled", "request": asked.id}
    again = requests_service.ask(resident, cycle.id, cycle.districts[1].id)
    assert _stored(again.id).status == "open"


def test_only_the_resident_cancels_and_only_an_open_request(make_user, moderator, cycle):
    resident = make_user()
    asked = requests_service.ask(resident, cycle.id, cycle.districts[0].id)
    with pytest.raises(PermissionDenied):
        requests_service.cancel(make_user(), asked.id)
    requests_service.cancel(resident, asked.id)
    with pytest.raises(ValidationError, match="already been answered or cancelled"):
        requests_service.cancel(resident, asked.id)
    with pytest.raises(ValidationError):
        requests_service.verify(moderator, asked.id)


def test_the_open_request_index_holds_even_without_the_service(make_user, cycle):
    """Two requests sent at the same moment: the partial unique index keeps one open request per resident."""
    from sqlalchemy.exc import IntegrityError

    resident = make_user()
    for _ in range(2):
        db.session.add(VerificationRequest(cycle_id=cycle.id, user_id=resident.id, district_id=cycle.districts[0].id,
                                           note="", status="open", reason=""))
    with pytest.raises(IntegrityError):
        db.session.commit()
    db.session.rollback()


@pytest.mark.parametrize("phase", [Phase.DRAFT, Phase.TALLYING, Phase.RESULTS])
def test_asking_is_refused_outside_the_verification_phases(make_user, make_cycle, phase):
    cycle = make_cycle(phase)
    with pytest.raises(ValidationError, match="from the opening of proposals"):
        requests_service.ask(make_user(), cycle.id, cycle.districts[0].id)


def test_asking_is_refused_to_a_verified_resident_and_for_another_cycles_district(make_user, make_cycle, cycle, verify):
    resident = make_user()
    verify(resident, cycle.districts[0])
    with pytest.raises(ValidationError, match="already verified"):
        requests_service.ask(resident, cycle.id, cycle.districts[0].id)
    other = make_cycle(Phase.PROPOSALS)
    with pytest.raises(ValidationError, match="Choose one of the cycle's districts"):
        requests_service.ask(make_user(), cycle.id, other.districts[0].id)
    with pytest.raises(ValidationError, match="at most 500"):
        requests_service.ask(make_user(), cycle.id, cycle.districts[0].id, "x" * 501)


def test_a_moderator_verifies_the_resident_for_the_district_asked(make_user, moderator, cycle, audit_log):
    resident = make_user()
    asked = requests_service.ask(resident, cycle.id, cycle.districts[1].id)
    verification = requests_service.verify(moderator, asked.id)
    assert (verification.user_id, verification.district_id, verification.method) == (
        resident.id, cycle.districts[1].id, "in-person")
    stored = _stored(asked.id)
    assert (stored.status, stored.decided_by_id) == ("verified", moderator.id) and stored.decided_at is not None
    assert [entry[1] for entry in audit_log()][-2:] == ["verify-resident", "answer-verification-request"]
    assert requests_service.open_count(cycle) == 0


def test_a_moderator_declines_with_a_reason_the_resident_reads(make_user, moderator, cycle, audit_log):
    resident = make_user()
    asked = requests_service.ask(resident, cycle.id, cycle.districts[0].id)
    with pytest.raises(ValidationError, match="reason"):
        requests_service.decline(moderator, asked.id, "   ")
    requests_service.decline(moderator, asked.id, " The document shows another address. ")
    stored = _stored(asked.id)
    assert (stored.status, stored.reason) == ("declined", "The document shows another address.")
    assert requests_service.latest_request(resident, cycle).reason == "The document shows another address."
    assert db.session.scalars(select(Verification)).all() == []
    assert audit_log("answer-verification-request")[0][4]["status"] == "declined"
    # Declined, the resident may ask again (with better documents).
    assert requests_service.ask_blockers(resident, cycle) == []


def test_answering_is_for_moderators_never_on_ones_own_request(make_user, cycle):
    resident = make_user()
    asked = requests_service.ask(resident, cycle.id, cycle.districts[0].id)
    with pytest.raises(PermissionDenied):
        requests_service.verify(make_user(), asked.id)
    with pytest.raises(PermissionDenied):
        requests_service.decline(make_user(), asked.id, "No.")
    moderator = make_user(Role.MODERATOR)
    own = requests_service.ask(moderator, cycle.id, cycle.districts[0].id)
    with pytest.raises(PermissionDenied):
        requests_service.verify(moderator, own.id)
    with pytest.raises(NotFound):
        requests_service.verify(moderator, 999_999)
    assert _stored(asked.id).status == "open"


def test_verifying_is_refused_once_voting_closed(make_user, moderator, cycle):
    from pb.domain.errors import PhaseError

    asked = requests_service.ask(make_user(), cycle.id, cycle.districts[0].id)
    cycle.phase = Phase.TALLYING
    db.session.commit()
    with pytest.raises(PhaseError):
        requests_service.verify(moderator, asked.id)
    assert _stored(asked.id).status == "open"


def test_the_queue_lists_open_requests_oldest_first_per_district_a_page_at_a_time(make_user, moderator, cycle):
    north, south = cycle.districts
    first = requests_service.ask(make_user(), cycle.id, north.id)
    second = requests_service.ask(make_user(), cycle.id, south.id)
    third = requests_service.ask(make_user(), cycle.id, north.id)
    requests_service.decline(moderator, second.id, "No document.")
    page = requests_service.queue_page(cycle, None, 1)
    assert [r.id for r in page.items] == [first.id, third.id] and page.total == 2
    assert [r.id for r in requests_service.queue_page(cycle, south.id, 1).items] == []
    paged = requests_service.queue_page(cycle, north.id, 2, size=1)
    assert [r.id for r in paged.items] == [third.id] and paged.last == 2
    assert (requests_service.open_count(cycle), requests_service.open_count(cycle, north.id)) == (2, 2)
