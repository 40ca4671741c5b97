"""Residents asking to be verified in person, and moderators answering from their queue (the web side)."""

import pytest
from sqlalchemy import select

from pb.domain.cycle import Phase
from pb.extensions import db
from pb.models import Role, Verification, VerificationRequest


@pytest.fixture
def cycle(make_cycle):
    return make_cycle(Phase.PROPOSALS)


def _requests() -> list[VerificationRequest]:
    db.session.expire_all()
    return list(db.session.scalars(select(VerificationRequest).order_by(VerificationRequest.id)))


def test_the_status_page_leads_to_asking(client, make_user, cycle):
    client.login(make_user())
    page = client.get(f"/cycles/{cycle.id}/verify").get_data(as_text=True)
    assert f'href="/cycles/{cycle.id}/verify/ask"' in page


def test_a_resident_asks_sees_the_request_and_cancels_it(client, make_user, cycle):
    resident = make_user()
    client.login(resident)
    page = client.get(f"/cycles/{cycle.id}/verify/ask").get_data(as_text=True)
    assert "Ask to be verified" in page and 'name="district_id"' in page
    south = cycle.districts[1]
    response = client.submit(f"/cycles/{cycle.id}/verify/ask", {"district_id": str(south.id), "note": "Tuesdays."})
    assert response.status_code == 302 and response.location == f"/cycles/{cycle.id}/verify/ask"
    (asked,) = _requests()
    assert (asked.user_id, asked.district_id, asked.status, asked.note) == (resident.id, south.id, "open", "Tuesdays.")
    page = client.get(response.location).get_data(as_text=True)
    assert "Your request is sent." in page and "Waiting for a moderator" in page and "Tuesdays." in page
    assert 'name="district_id"' not in page  # one open request at a time: no second form
    response = client.submit(f"/cycles/{cycle.id}/verify/ask", {"district_id": str(south.id)})
    assert response.status_code == 302 and len(_requests()) == 1
    response = client.submit(f"/cycles/{cycle.id}/verify/ask/{asked.id}/cancel")
    assert response.status_code == 302 and _requests()[0].status == "cancelled"
    page = client.get(response.location).get_data(as_text=True)
    assert "Your request is cancelled." in page and 'name="district_id"' in page  # may ask again


def test_someone_elses_request_cannot_be_cancelled(client, app, make_user, cycle):
    from pb.services import verification_requests

    asked = verification_requests.ask(make_user(), cycle.id, cycle.districts[0].id)
    client.login(make_user())
    response = client.submit(f"/cycles/{cycle.id}/verify/ask/{asked.id}/cancel")
    assert response.status_code == 302 and _requests()[0].status == "open"


@pytest.mark.parametrize(("data", "message"), [
    ({"district_id": "999999"}, "Choose one of the listed options"),
    ({"district_id": "x"}, "Choose one of the listed options"),
    ({}, "Choose a district"),
    ({"district_id": "ok", "note": "x" * 501}, "Keep the note under 500 characters"),
])
def test_a_bad_request_is_refused_with_a_message(client, make_user, cycle, data, message):
    client.login(make_user())
    if data.get("district_id") == "ok":
        data = {**data, "district_id": str(cycle.districts[0].id)}
    response = client.submit(f"/cycles/{cycle.id}/verify/ask", data, follow_redirects=True)
    assert response.status_code == 200 and message in response.get_data(as_text=True)
    assert _requests() == []


def test_the_moderators_queue_verifies_and_declines(client, app, make_user, cycle):
    from pb.services import verification_requests

    first, second = make_user(name="Ana First"), make_user(name="Ben Second")
    one = verification_requests.ask(first, cycle.id, cycle.districts[0].id, "Mornings.")
    two = verification_requests.ask(second, cycle.id, cycle.districts[1].id)
    client.login(make_user(Role.MODERATOR))
    page = client.get(f"/moderation/cycles/{cycle.id}/verification-requests").get_data(as_text=True)
    assert page.index("Ana First") < page.index("Ben Second") and "Mornings." in page
    response = client.submit(f"/moderation/verification-requests/{one.id}/verify")
    assert response.status_code == 302
    assert response.location == f"/moderation/cycles/{cycle.id}/verification-requests"
    verification = db.session.scalars(select(Verification)).one()
    assert (verification.user_id, verification.district_id, verification.method) == (
        first.id, cycle.districts[0].id, "in-person")
    assert "Ana First can now vote in North." in client.get(response.location).get_data(as_text=True)

    response = client.submit(f"/moderation/verification-requests/{two.id}/decline", {"reason": ""})
    assert response.status_code == 302 and _requests()[1].status == "open"
    client.submit(f"/moderation/verification-requests/{two.id}/decline", {"reason": "The document shows another town."})
    assert _requests()[1].status == "declined"
    page = client.get(f"/moderation/cycles/{cycle.id}/verification-requests").get_data(as_text=True)
    assert "Nobody is waiting to be verified." in page

    as_resident = app.test_client()
    as_resident.login(second)
    page = as_resident.get(f"/cycles/{cycle.id}/verify/ask").get_data(as_text=True)
    assert "Declined" in page and "The document shows another town." in page


def test_the_queue_filters_by_district(client, make_user, cycle):
    from pb.services import verification_requests

    verification_requests.ask(make_user(name="Ana North"), cycle.id, cycle.districts[0].id)
    verification_requests.ask(make_user(name="Ben South"), cycle.id, cycle.districts[1].id)
    client.login(make_user(Role.MODERATOR))
    page = client.get(f"/moderation/cycles/{cycle.id}/verification-requests?district={cycle.districts[1].id}")
    text = page.get_data(as_text=True)
    assert "Ben South" in text and "Ana North" not in text and "South (1)" in text
    assert client.get(f"/moderation/cycles/{cycle.id}/verification-requests?district=999999").status_code == 404


@pytest.mark.parametrize("url", ["/moderation/verification-requests/999999/verify",
                                 "/moderation/verification-requests/99999999999/decline"])
def test_unknown_requests_are_refused_saying_so(client, make_user, cycle, url):
    client.login(make_user(Role.MODERATOR))
    response = client.submit(url, {"reason": "x"}, follow_redirects=True)
    assert response.status_code == 200 and "verification request" in response.get_data(as_text=True)
