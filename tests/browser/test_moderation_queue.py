"""Moderators' work screens in a real browser: the queue of what waits, a refused final cost that keeps what was
typed, undoing a decision, a resident asking to be verified and a moderator verifying them; and the dashboard's
verification tables, which must not be cut off on a phone or a desktop.

Every page on the way is checked by `Visit.check` (axe-core, 360 px, page weight, no foreign request).
"""

from sqlalchemy import select

from pb.domain.cycle import Phase
from pb.extensions import db
from pb.models import Proposal, ProposalStatus, Role, Verification, VerificationRequest
from tests.conftest import PASSWORD


def _status(proposal_id: int) -> ProposalStatus:
    db.session.rollback()
    return db.session.get(Proposal, proposal_id).status


def test_a_moderator_works_through_the_queue_and_undoes_a_decision(visit, make_user, make_cycle, make_proposal):
    moderator = make_user(Role.MODERATOR, name="Mona Moderator")
    cycle = make_cycle(Phase.REVIEW, districts=(("Northside", 100_000), ("Southside", 50_000)), name="Riverside 2027")
    proposal = make_proposal(cycle, cycle.districts[0], title="Shade trees on Mill Street", estimated_cost=10_000)
    make_proposal(cycle, cycle.districts[1], title="A bench by the river")
    cycle_id, proposal_id, email = cycle.id, proposal.id, moderator.email

    tab = visit("moderator")
    page = tab.page
    tab.login(email, PASSWORD)
    tab.goto("/moderation/")
    assert page.get_by_role("link", name="2 proposals waiting for review in Riverside 2027").count() == 1
    tab.click(page.get_by_role("link", name="2 proposals waiting for review in Riverside 2027"))
    assert "2 proposals wait for review, the oldest first." in page.content()
    tab.click(page.get_by_role("link", name="Shade trees on Mill Street"))

    # A final cost above the district's budget is refused: the typed values stay, the error stands at the field.
    page.get_by_label("Final cost").fill("1500")
    page.locator("#accept-note").fill("A bigger site.")
    tab.click(page.get_by_role("button", name="Accept onto the ballot"))
    assert page.get_by_label("Final cost").input_value() == "1500"
    assert page.locator("#accept-note").input_value() == "A bigger site."
    assert page.get_by_label("Final cost").get_attribute("aria-invalid") == "true"
    assert "more than the district's whole budget" in page.locator(".field.has-error").first.inner_text()
    assert page.locator("#error-summary a[href='#accept-final_cost']").count() == 1
    assert _status(proposal_id) is ProposalStatus.SUBMITTED

    page.get_by_label("Final cost").fill("120")
    tab.click(page.get_by_role("button", name="Accept onto the ballot"))
    assert "is accepted" in tab.messages() and _status(proposal_id) is ProposalStatus.ACCEPTED

    # The decision can be taken back while the review lasts.
    tab.goto(f"/moderation/proposals/{proposal_id}")
    tab.click(page.get_by_role("button", name="Undo the decision"))
    assert "waits for review again" in tab.messages() and _status(proposal_id) is ProposalStatus.SUBMITTED
    tab.goto(f"/moderation/cycles/{cycle_id}")
    assert page.get_by_role("link", name="Shade trees on Mill Street").count() == 1
    assert not tab.problems, "\n".join(tab.problems)


def test_a_resident_asks_to_be_verified_and_a_moderator_verifies_them(visit, make_user, make_cycle):
    moderator = make_user(Role.MODERATOR, name="Mona Moderator")
    rita = make_user(name="Rita Resident")
    cycle = make_cycle(Phase.PROPOSALS, districts=(("Northside", 100_000), ("Southside", 50_000)), name="Riverside 2027")
    cycle_id, rita_id, rita_email, moderator_email = cycle.id, rita.id, rita.email, moderator.email

    tab = visit("resident")
    page = tab.page
    tab.login(rita_email, PASSWORD)
    tab.goto(f"/cycles/{cycle_id}/verify")
    tab.click(page.get_by_role("link", name="Ask to be verified"))
    page.get_by_label("District where you live").select_option(label="Southside")
    page.get_by_label("Note for the moderator (optional)").fill("I can come on Tuesday morning.")
    tab.click(page.get_by_role("button", name="Ask to be verified"))
    assert "Your request is sent." in tab.messages()
    assert page.get_by_role("button", name="Cancel my request").count() == 1

    mona = visit("moderator")
    mona.login(moderator_email, PASSWORD)
    mona.goto("/moderation/")
    mona.click(mona.page.get_by_role("link", name="1 resident asking to be verified in Riverside 2027"))
    assert "I can come on Tuesday morning." in mona.page.content()
    mona.click(mona.page.get_by_role("button", name="Verify Rita Resident for Southside"))
    assert "Rita Resident can now vote in Southside." in mona.messages()
    db.session.rollback()
    assert [(v.district.name, v.method) for v in db.session.scalars(
        select(Verification).where(Verification.user_id == rita_id))] == [("Southside", "in-person")]
    assert db.session.scalars(select(VerificationRequest.status)).all() == ["verified"]

    tab.goto(f"/cycles/{cycle_id}/verify/ask")
    assert "Verified" in page.locator("dl.facts").inner_text()
    assert not tab.problems + mona.problems, "\n".join(tab.problems + mona.problems)


_CUT_OFF = """() => [...document.querySelectorAll('.dashboard-verification table')]
  .filter(table => table.scrollWidth > table.clientWidth + 0.5).length"""


def test_the_dashboards_verification_tables_are_not_cut_off(visit, make_user, make_cycle, verify):
    """Regression: the verification table was cut off (it scrolled inside itself) at 360 and 1280 px."""
    official = make_user(Role.OFFICIAL)
    cycle = make_cycle(Phase.VOTING, districts=(("Northside-upon-the-long-river", 100_000), ("Southside", 50_000)))
    for _ in range(3):
        verify(make_user(), cycle.districts[0])
    cycle_id, email = cycle.id, official.email

    tab = visit("official")
    tab.login(email, PASSWORD)
    tab.goto(f"/admin/cycles/{cycle_id}/dashboard")
    assert tab.page.locator(".dashboard-verification table").count() == 2
    assert tab.page.evaluate(_CUT_OFF) == 0
    tab.page.set_viewport_size({"width": 1280, "height": 800})
    tab.page.reload()
    tab.page.wait_for_load_state("load")
    assert tab.page.evaluate(_CUT_OFF) == 0
    tab.page.screenshot(path=str(__import__("pathlib").Path(__file__).parent / "output"
                                 / "dashboard-verification-1280.png"), full_page=True)
    assert not tab.problems, "\n".join(tab.problems)
