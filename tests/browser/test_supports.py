"""Supports in a real browser: a verified resident supports a proposal and sees the count; moderators see the ranking.

Every page on the way is checked by `Visit.check` (axe-core, 360 px, page weight, no foreign request).
"""

from sqlalchemy import select

from pb.domain.cycle import Phase
from pb.extensions import db
from pb.models import Role, Support
from tests.conftest import PASSWORD


def _supported_by(user_id: int) -> set[int]:
    db.session.rollback()
    return set(db.session.scalars(select(Support.proposal_id).where(Support.user_id == user_id)))


def test_a_resident_supports_a_proposal_and_sees_the_count(visit, make_user, make_cycle, make_proposal, verify):
    cycle = make_cycle(Phase.SUPPORTS, has_supports_phase=True, supports_per_district=2, supports_advance_top=1,
                       name="Riverside 2028")
    proposal = make_proposal(cycle, title="Drinking fountain")
    rita, moderator = make_user(name="Rita Resident"), make_user(Role.MODERATOR)
    verify(rita, cycle.districts[0])
    cycle_id, proposal_id, rita_id, rita_email, moderator_email = (
        cycle.id, proposal.id, rita.id, rita.email, moderator.email)

    tab = visit("resident")
    page = tab.page
    tab.login(rita_email, PASSWORD)
    tab.goto(f"/cycles/{cycle_id}")
    tab.click(page.get_by_role("link", name="Support proposals"))
    tab.goto(f"/proposals/{proposal_id}")
    assert "0 residents support this proposal." in page.inner_text("main")
    tab.click(page.get_by_role("button", name="Support this proposal"))
    text = page.inner_text("main")
    assert "1 resident supports this proposal." in text
    assert "You have used 1 of your 2 supports in North." in text
    assert _supported_by(rita_id) == {proposal_id}

    tab.click(page.get_by_role("button", name="Take my support back"))
    assert "0 residents support this proposal." in page.inner_text("main") and _supported_by(rita_id) == set()
    tab.click(page.get_by_role("button", name="Support this proposal"))

    ranking = visit("moderator")
    ranking.login(moderator_email, PASSWORD)
    ranking.goto("/moderation/")
    ranking.click(ranking.page.get_by_role("link", name="Supports"))
    table = ranking.page.inner_text("main")
    assert "Drinking fountain" in table and "The most supported proposal of each district goes on" in table
