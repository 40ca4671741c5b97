"""Typing in paper sheets of points and ranks in a real browser, with the keyboard alone (issue 20, paper).

Every page on the way is checked by `Visit.check` (axe-core, 360 px, page weight, no foreign request).
"""

import pytest
from sqlalchemy import select

from pb.domain.cycle import Phase
from pb.extensions import db
from pb.models import Ballot, Role
from tests.conftest import PASSWORD

DESIGNS = {
    "cumulative": {"ballot_design": "cumulative", "ballot_settings": '{"points": 10, "max_points_per_project": 6}'},
    "ranking": {"ballot_design": "ranking", "max_projects": 2},
}


@pytest.mark.parametrize("design", DESIGNS)
def test_two_officials_type_in_a_sheet_of_points_or_ranks_with_the_keyboard(design, visit, make_user, make_cycle,
                                                                            make_project):
    cycle = make_cycle(Phase.VOTING, districts=(("Northside", 100_000),), **DESIGNS[design])
    district = cycle.districts[0]
    swings, trees = (make_project(cycle, district, cost=cost, title=title)
                     for cost, title in ((60_000, "Swings"), (40_000, "Trees")))
    officials = [make_user(Role.OFFICIAL, name=name) for name in ("Olga", "Pieter")]
    for number, official in enumerate(officials):
        tab = visit(f"official-{number}")
        tab.login(official.email, PASSWORD)
        tab.goto(f"/paper/districts/{district.id}/sheets")
        page = tab.page
        page.get_by_label("Polling station").fill("Library")
        page.get_by_label("Sheet number").fill("3")
        if design == "cumulative":
            page.locator(f"#points-{swings.id}").focus()
            page.keyboard.type("7" if number == 0 else "6")  # the first official mistypes: over the 6 allowed
            page.keyboard.press("Tab")
            page.keyboard.type("4")
            assert page.evaluate("document.activeElement.id") == f"points-{trees.id}"
        else:
            page.locator(f"#rank-{swings.id}").select_option("1")
            page.locator(f"#rank-{trees.id}").select_option("1" if number == 0 else "2")
        tab.click(page.get_by_role("button", name="Save the sheet"))
        if number == 0:
            problem = ("At most 6 points may go to one project." if design == "cumulative"
                       else "Two projects share rank 1")
            assert problem in tab.messages()
            kept = page.locator(f"#points-{swings.id}").input_value() if design == "cumulative" else \
                page.locator(f"#rank-{trees.id}").input_value()
            assert kept in ("7", "1")  # what was typed is on the page to correct
            if design == "cumulative":
                page.locator(f"#points-{swings.id}").fill("6")
            else:
                page.locator(f"#rank-{trees.id}").select_option("2")
            tab.click(page.get_by_role("button", name="Save the sheet"))
            assert "counts once a different official has entered it too" in tab.messages()
        else:
            assert "agrees with another official's entry and will be counted" in tab.messages()
    db.session.rollback()
    ballot = db.session.scalars(select(Ballot)).one()
    expected = {swings.id: 6, trees.id: 4} if design == "cumulative" else {swings.id: 1, trees.id: 2}
    assert {choice.project_id: choice.value for choice in ballot.choices} == expected
