"""Verification with a voting code in a real browser: an official prints a code sheet, a resident types the code from
the letter (badly first), is verified and votes; the used code cannot verify anyone else.

Every page on the way is checked by `Visit.check` (axe-core, 360 px, page weight, no foreign request).
"""

import re
from urllib.parse import urlsplit

from sqlalchemy import select

from pb.domain.cycle import Phase
from pb.extensions import db
from pb.models import Role, Verification, VotingCode
from tests.conftest import PASSWORD

_CODE = re.compile(r"[A-Z0-9]{4}-[A-Z0-9]{4}-[A-Z0-9]{4}")


def _verifications(user_id: int) -> list[tuple[int, str]]:
    db.session.rollback()
    return [(v.district_id, v.method) for v in db.session.scalars(select(Verification).where(Verification.user_id == user_id))]


def _codes_used_by(user_id: int) -> int:
    return len(db.session.scalars(select(VotingCode).where(VotingCode.used_by_id == user_id)).all())


def test_a_resident_verifies_with_a_code_from_a_letter_and_votes(visit, make_user, make_cycle, make_project):
    official = make_user(Role.OFFICIAL, name="Olga Official")
    rita, sam = make_user(name="Rita Resident"), make_user(name="Sam Second")
    cycle = make_cycle(Phase.VOTING, districts=(("Northside", 100_000), ("Southside", 50_000)), name="Riverside 2027")
    northside = cycle.districts[0]
    make_project(cycle, northside, cost=60_000, title="Skate park")
    cycle_id, northside_id = cycle.id, northside.id
    official_email, (rita_id, rita_email), (sam_id, sam_email) = official.email, (rita.id, rita.email), (sam.id, sam.email)

    # The official generates two codes for Northside and reads them off the batch's sheet.
    olga = visit("official")
    olga.login(official_email, PASSWORD)
    olga.goto(f"/admin/cycles/{cycle_id}/codes")
    olga.page.get_by_label("District").select_option(label="Northside")
    olga.page.get_by_label("Number of codes").fill("2")
    olga.click(olga.page.get_by_role("button", name="Generate and show the sheet"))
    codes = [cell.inner_text() for cell in olga.page.locator("td code").all()]
    assert len(codes) == 2 and all(_CODE.fullmatch(code) for code in codes), codes
    # Reloading the sheet shows the same codes again; it makes none.
    olga.goto(urlsplit(olga.page.url).path)
    assert [cell.inner_text() for cell in olga.page.locator("td code").all()] == codes

    # Rita types a wrong code first: she is told, and nothing is stored.
    tab = visit("resident")
    page = tab.page
    tab.login(rita_email, PASSWORD)
    tab.goto(f"/cycles/{cycle_id}/verify")
    page.get_by_label("Voting code").fill("ABCD-EFGH-JKMN")
    tab.click(page.get_by_role("button", name="Use the code"))
    assert "code" in tab.messages().lower() and _verifications(rita_id) == []

    # Then she types it as people do from a letter: lower case, spaces for dashes. It works, once.
    page.get_by_label("Voting code").fill(codes[0].lower().replace("-", " "))
    tab.click(page.get_by_role("button", name="Use the code"))
    assert "You are verified and can vote in Northside." in tab.messages()
    ((district_id, method),) = _verifications(rita_id)
    assert district_id == northside_id and "code" in method and _codes_used_by(rita_id) == 1

    tab.click(page.get_by_role("link", name="Vote", exact=True))
    page.get_by_label("Skate park").check()
    tab.click(page.get_by_role("button", name="Cast my ballot"))
    assert "Your ballot is saved" in tab.messages()
    assert _CODE.fullmatch(page.locator(".receipt-code").inner_text())

    # The used code verifies no one else; the unused one still can.
    other = visit("second-resident")
    other.login(sam_email, PASSWORD)
    other.goto(f"/cycles/{cycle_id}/verify")
    other.page.get_by_label("Voting code").fill(codes[0])
    other.click(other.page.get_by_role("button", name="Use the code"))
    assert "You are verified" not in other.messages() and _verifications(sam_id) == []
    other.page.get_by_label("Voting code").fill(codes[1])
    other.click(other.page.get_by_role("button", name="Use the code"))
    assert "You are verified and can vote in Northside." in other.messages()

    olga.goto(f"/admin/cycles/{cycle_id}/codes")
    assert olga.page.locator("td", has_text="used").count() == 2
    assert not olga.problems + tab.problems + other.problems, "\n".join(olga.problems + tab.problems + other.problems)
