"""The voting path in a real browser: with the keyboard alone, and with JavaScript turned off.

Every page on the way is checked by `Visit.check` (axe-core, 360 px, page weight, no foreign request).
"""

import re

import pytest

from pb.domain.cycle import Phase
from pb.extensions import db
from pb.services import voting
from tests.conftest import PASSWORD

_RECEIPT = re.compile(r"[A-Z0-9]{4}-[A-Z0-9]{4}-[A-Z0-9]{4}")

# What a sighted keyboard user needs of the element that has focus: a visible outline or ring, and nothing on top of it.
_FOCUS = """() => {
  const element = document.activeElement;
  const style = getComputedStyle(element);
  const box = element.getBoundingClientRect();
  const onTop = document.elementFromPoint(box.left + box.width / 2, box.top + box.height / 2);
  return {
    name: element.tagName.toLowerCase() + (element.id ? '#' + element.id : '') + ' ' +
          (element.innerText || element.value || '').trim().slice(0, 30),
    id: element.id,
    is_ringed: (style.outlineStyle !== 'none' && parseFloat(style.outlineWidth) >= 2) || style.boxShadow !== 'none',
    is_in_view: box.bottom > 0 && box.top < innerHeight && box.width > 0 && box.height > 0,
    is_uncovered: onTop !== null && (onTop === element || element.contains(onTop)),
  };
}"""


@pytest.fixture
def ballot(make_user, make_cycle, make_project, verify):
    """A cycle open for voting with three projects in Northside (1,000 EUR), and a verified resident."""
    cycle = make_cycle(Phase.VOTING, districts=(("Northside", 100_000),), name="Riverside 2027")
    district = cycle.districts[0]
    projects = {title: make_project(cycle, district, cost=cost, title=title).id
                for title, cost in (("Skate park", 60_000), ("Library garden", 50_000), ("Street trees", 30_000))}
    resident = make_user(name="Rita Resident")
    verify(resident, district)
    return {"resident": resident, "path": f"/cycles/{cycle.id}/vote/{district.id}", "projects": projects,
            "cycle_id": cycle.id, "district_id": district.id}


def _stored_choices(ballot) -> set[int] | None:
    db.session.rollback()
    return voting.current_choices(ballot["resident"], ballot["cycle_id"], ballot["district_id"])


def _tab_to(tab, is_target, limit: int = 40) -> list[dict]:
    """Press Tab until `is_target(focus)`; every element passed on the way must show where the focus is."""
    passed = []
    for _ in range(limit):
        tab.page.keyboard.press("Tab")
        focus = tab.page.evaluate(_FOCUS)
        assert not focus["name"].startswith("body"), f"Tab left the page after {[f['name'] for f in passed]}"
        assert focus["is_ringed"], f"no visible focus indicator on {focus['name']}"
        assert focus["is_in_view"] and focus["is_uncovered"], f"focused {focus['name']} is hidden from view"
        passed.append(focus)
        if is_target(focus):
            return passed
    raise AssertionError(f"Tab never reached the target; it went through {[f['name'] for f in passed]}")


def _toggle(tab, *project_ids: int) -> None:
    """Tab forward through the ballot, pressing Space on each of these projects' boxes, in the page's order."""
    waiting = {f"project-{project_id}" for project_id in project_ids}
    while waiting:
        focus = _tab_to(tab, lambda focus: focus["id"] in waiting)[-1]
        tab.page.keyboard.press("Space")
        waiting.remove(focus["id"])


def _press_and_check(tab, key: str) -> None:
    with tab.page.expect_navigation():
        tab.page.keyboard.press(key)
    tab.check()


def test_the_voting_path_with_the_keyboard_alone(visit, ballot):
    rita = visit("keyboard")
    page = rita.page
    rita.goto("/login")

    # The skip link comes first and moves the focus to the content.
    _tab_to(rita, lambda focus: focus["name"].startswith("a Skip to content"), limit=1)
    page.keyboard.press("Enter")
    assert page.evaluate("document.activeElement.id") == "main"

    # A mistake is announced and tied to its field: the password is left empty.
    _tab_to(rita, lambda focus: focus["id"] == "email")
    page.keyboard.type(ballot["resident"].email)
    _press_and_check(rita, "Enter")
    password = page.locator("#password")
    assert password.get_attribute("aria-invalid") == "true"
    described_by = password.get_attribute("aria-describedby").split()
    descriptions = [" ".join(page.locator(f"#{name}").inner_text().split()) for name in described_by]
    assert "Error: Enter your password." in descriptions
    summary = page.get_by_role("alert").filter(has_text="There is a problem")
    assert summary.get_by_role("link").all_inner_texts() == ["Enter your password."]
    _tab_to(rita, lambda focus: focus["name"].startswith("a") and "Enter your password." in focus["name"])
    page.keyboard.press("Enter")  # the summary's link leads to the field
    assert page.evaluate("document.activeElement.id") == "password"
    page.keyboard.type(PASSWORD)
    _press_and_check(rita, "Enter")
    assert "/login" not in page.url

    # The ballot: tick two projects that together cost too much, submit, hear why, fix it, submit again.
    rita.goto(ballot["path"])
    projects = ballot["projects"]
    _toggle(rita, projects["Skate park"], projects["Library garden"])
    over = page.locator("[data-over]")
    assert over.is_visible() and page.locator("#running-total").get_attribute("aria-live") == "polite"
    _tab_to(rita, lambda focus: focus["name"].startswith("button") and "Cast my ballot" in focus["name"])
    _press_and_check(rita, "Enter")
    assert page.get_by_role("alert").filter(has_text="budget").count() == 1, rita.messages()
    assert _stored_choices(ballot) is None

    _toggle(rita, projects["Library garden"], projects["Street trees"])
    assert not over.is_visible()
    _tab_to(rita, lambda focus: focus["name"].startswith("button") and "Cast my ballot" in focus["name"])
    _press_and_check(rita, "Enter")
    assert page.get_by_role("status").filter(has_text="Your ballot is saved").count() == 1
    assert _RECEIPT.fullmatch(page.locator(".receipt-code").inner_text())
    assert _stored_choices(ballot) == {projects["Skate park"], projects["Street trees"]}


def test_voting_and_changing_the_vote_without_javascript(visit, ballot):
    rita = visit("no-javascript", javascript=False)
    page = rita.page
    rita.login(ballot["resident"].email, PASSWORD)
    rita.goto(f"/cycles/{ballot['cycle_id']}")
    rita.click(page.get_by_role("link", name="Vote", exact=True))
    rita.click(page.get_by_role("link", name="Vote", exact=True))
    assert not page.locator("[data-over]").is_visible()

    # Over budget: nothing warns in the page without JavaScript, so the server refuses and says why.
    page.get_by_label("Skate park").check()
    page.get_by_label("Library garden").check()
    rita.click(page.get_by_role("button", name="Cast my ballot"))
    assert "budget" in page.locator("#ballot-problems").inner_text() and _stored_choices(ballot) is None
    assert page.get_by_label("Skate park").is_checked() and page.get_by_label("Library garden").is_checked()

    page.get_by_label("Library garden").uncheck()
    rita.click(page.get_by_role("button", name="Cast my ballot"))
    assert "Your ballot is saved" in rita.messages()
    first_receipt = page.locator(".receipt-code").inner_text()
    projects = ballot["projects"]
    assert _stored_choices(ballot) == {projects["Skate park"]}

    page.get_by_label("Skate park").uncheck()
    page.get_by_label("Library garden").check()
    page.get_by_label("Street trees").check()
    rita.click(page.get_by_role("button", name="Change my ballot"))
    assert "Only this new ballot counts" in rita.messages()
    receipt = page.locator(".receipt-code").inner_text()
    assert _RECEIPT.fullmatch(receipt) and receipt != first_receipt
    assert _stored_choices(ballot) == {projects["Library garden"], projects["Street trees"]}
