"""Supports through HTTP: the button and count on the proposal page, taking a support back, the moderators' ranking."""

import html

from sqlalchemy import func, select

from pb.domain.cycle import Phase
from pb.extensions import db
from pb.models import Cycle, Role, Support


def _supports(user_id: int) -> set[int]:
    return set(db.session.scalars(select(Support.proposal_id).where(Support.user_id == user_id)))


def _page(client, url: str) -> str:
    return html.unescape(client.get(url).get_data(as_text=True))


def test_a_verified_resident_supports_and_takes_back_from_the_proposal_page(client, make_user, make_cycle,
                                                                              make_proposal, verify):
    cycle = make_cycle(Phase.SUPPORTS, has_supports_phase=True, supports_per_district=3)
    proposal = make_proposal(cycle, title="Drinking fountain")
    resident = make_user()
    verify(resident, cycle.districts[0])
    client.login(resident)
    page = _page(client, f"/proposals/{proposal.id}")
    assert "0 residents support this proposal." in page and "Support this proposal" in page
    assert "You have used 0 of your 3 supports in North." in page

    response = client.submit(f"/proposals/{proposal.id}/support")
    assert response.status_code == 302 and response.location.endswith(f"/proposals/{proposal.id}")
    assert _supports(resident.id) == {proposal.id}
    page = _page(client, response.location)
    assert "You support this proposal." in page and "1 resident supports this proposal." in page
    assert "You have used 1 of your 3 supports in North." in page and "Take my support back" in page

    response = client.submit(f"/proposals/{proposal.id}/unsupport")
    assert response.status_code == 302 and _supports(resident.id) == set()
    assert "You no longer support this proposal." in _page(client, response.location)


def test_who_supports_what_is_shown_to_the_resident_only(app, client, make_user, make_cycle, make_proposal, verify):
    cycle = make_cycle(Phase.SUPPORTS, has_supports_phase=True)
    proposal = make_proposal(cycle)
    supporter, other = make_user(name="Sally Supporter"), make_user()
    for resident in (supporter, other):
        verify(resident, cycle.districts[0])
    client.login(supporter)
    client.submit(f"/proposals/{proposal.id}/support")
    as_other = app.test_client()
    as_other.login(other)
    page = _page(as_other, f"/proposals/{proposal.id}")
    assert "1 resident supports this proposal." in page and "Sally Supporter" not in page
    assert "You support this proposal." not in page
    anonymous = _page(app.test_client(), f"/proposals/{proposal.id}")
    assert "1 resident supports this proposal." in anonymous and "Log in to support this proposal" in anonymous


def test_an_unverified_resident_is_refused_with_the_way_to_verify(client, make_user, make_cycle, make_proposal):
    cycle = make_cycle(Phase.SUPPORTS, has_supports_phase=True)
    proposal = make_proposal(cycle)
    resident = make_user()
    client.login(resident)
    page = _page(client, f"/proposals/{proposal.id}")
    assert "Only residents verified in North can support its proposals." in page
    assert f"/cycles/{cycle.id}/verify" in page
    response = client.submit(f"/proposals/{proposal.id}/support")
    assert response.status_code == 302
    assert "verify yourself for this cycle first" in _page(client, response.location)
    assert _supports(resident.id) == set()


def test_the_limit_is_refused_with_a_clear_message(client, make_user, make_cycle, make_proposal, verify):
    cycle = make_cycle(Phase.SUPPORTS, has_supports_phase=True, supports_per_district=1)
    first, second = make_proposal(cycle), make_proposal(cycle)
    resident = make_user()
    verify(resident, cycle.districts[0])
    client.login(resident)
    client.submit(f"/proposals/{first.id}/support")
    response = client.submit(f"/proposals/{second.id}/support")
    assert "You have used your 1 support in North" in _page(client, response.location)
    assert _supports(resident.id) == {first.id}


def test_a_support_without_the_csrf_token_changes_nothing(client, make_user, make_cycle, make_proposal, verify):
    cycle = make_cycle(Phase.SUPPORTS, has_supports_phase=True)
    proposal = make_proposal(cycle)
    resident = make_user()
    verify(resident, cycle.districts[0])
    client.login(resident)
    response = client.post(f"/proposals/{proposal.id}/support", data={})
    assert response.status_code in (302, 400)
    assert db.session.scalar(select(func.count()).select_from(Support)) == 0


def test_a_cycle_without_the_supports_phase_shows_no_supports(client, make_cycle, make_proposal):
    cycle = make_cycle(Phase.REVIEW)
    proposal = make_proposal(cycle)
    page = _page(client, f"/proposals/{proposal.id}")
    assert "support this proposal" not in page.lower()


def test_the_cycle_page_invites_to_support_during_the_supports_phase(client, make_cycle):
    cycle = make_cycle(Phase.SUPPORTS, has_supports_phase=True)
    page = _page(client, f"/cycles/{cycle.id}")
    assert "Support proposals" in page and "Supporting proposals" in page


def test_moderators_see_the_ranking_with_the_cut_off(app, client, make_user, make_cycle, make_proposal, verify):
    cycle = make_cycle(Phase.SUPPORTS, has_supports_phase=True, supports_advance_top=1)
    popular, quiet = make_proposal(cycle, title="Popular idea"), make_proposal(cycle, title="Quiet idea")
    for _ in range(2):
        resident = make_user()
        verify(resident, cycle.districts[0])
        as_resident = app.test_client()
        as_resident.login(resident)
        as_resident.submit(f"/proposals/{popular.id}/support")
    client.login(make_user(Role.MODERATOR))
    index = _page(client, "/moderation/")
    assert f"/moderation/cycles/{cycle.id}/supports" in index
    page = _page(client, f"/moderation/cycles/{cycle.id}/supports")
    assert "The most supported proposal of each district goes on to review" in page
    assert page.index("Popular idea") < page.index("Quiet idea")
    assert "The last place that goes on has 2 supports." in page and "No: set aside" in page


def test_residents_may_not_see_the_moderators_ranking(client, make_user, make_cycle):
    cycle = make_cycle(Phase.SUPPORTS, has_supports_phase=True)
    client.login(make_user())
    assert client.get(f"/moderation/cycles/{cycle.id}/supports").status_code == 403


def test_the_settings_form_refuses_a_supports_date_without_the_phase(client, make_user):
    client.login(make_user(Role.OFFICIAL))
    response = client.submit("/admin/cycles/new", {
        "name": "Budget 2031", "currency": "EUR", "total_budget": "1000", "rule": "greedy", "min_projects": "1",
        "timezone": "UTC", "supports_at": "2031-01-01T09:00",
    })
    assert "only kept for a cycle with the supports phase" in html.unescape(response.get_data(as_text=True))
    assert db.session.scalar(select(func.count()).select_from(Cycle)) == 0
    response = client.submit("/admin/cycles/new", {
        "name": "Budget 2031", "currency": "EUR", "total_budget": "1000", "rule": "greedy", "min_projects": "1",
        "timezone": "UTC", "has_supports_phase": "y", "supports_at": "2031-01-01T09:00", "supports_per_district": "4",
    })
    assert response.status_code == 302
    cycle = db.session.scalar(select(Cycle))
    assert cycle.has_supports_phase and cycle.supports_per_district == 4 and cycle.supports_at.year == 2031
