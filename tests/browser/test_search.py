"""Searching and filtering proposals in a real browser on a phone, with and without JavaScript (axe, 360 px, weight)."""

from pb.domain.cycle import Phase
from pb.models import ProposalStatus


def _cycle(make_cycle, make_proposal):
    cycle = make_cycle(Phase.REVIEW, districts=(("Northside", 100_000), ("Riverside", 50_000)), name="Riverside 2027")
    north, river = cycle.districts
    make_proposal(cycle, north, title="Shade trees on the market square", estimated_cost=40_000,
                  status=ProposalStatus.ACCEPTED)
    make_proposal(cycle, river, title="Trees along the river path", estimated_cost=20_000)
    make_proposal(cycle, north, title="A drinking fountain", description="Cool water for everyone under the trees.",
                  estimated_cost=5_000)
    for number in range(30):
        make_proposal(cycle, river, title=f"Idea number {number}", estimated_cost=1_000 + number)
    return cycle


def titles(tab) -> list[str]:
    return tab.page.locator(".cards h2").all_inner_texts()


def test_search_filter_and_page_through_proposals(visit, make_cycle, make_proposal):
    cycle = _cycle(make_cycle, make_proposal)
    anyone = visit("anyone")
    anyone.goto(f"/cycles/{cycle.id}/proposals")
    page = anyone.page
    assert "random order so that no project is favoured" in page.inner_text("main")
    assert page.get_by_role("status").first.inner_text().startswith("33 proposals.")
    first_order = titles(anyone)
    anyone.click(page.get_by_role("link", name="Next page →"))
    assert len(titles(anyone)) == 9
    anyone.goto(f"/cycles/{cycle.id}/proposals")
    assert titles(anyone) == first_order  # the same visitor keeps their order

    page.get_by_label("Search words").fill("trees")
    anyone.click(page.get_by_role("button", name="Show proposals"))
    assert sorted(titles(anyone)) == ["A drinking fountain", "Shade trees on the market square",
                                      "Trees along the river path"]
    page.get_by_label("District").select_option(label="Northside")
    page.get_by_label("Highest cost (EUR)").fill("100")
    anyone.click(page.get_by_role("button", name="Show proposals"))
    assert titles(anyone) == ["A drinking fountain"]
    page.get_by_label("Lowest cost (EUR)").fill("500")
    page.get_by_label("Order").select_option(label="Cost: highest first")
    anyone.click(page.get_by_role("button", name="Show proposals"))
    assert "The lowest cost is more than the highest cost" in page.get_by_role("alert").inner_text()
    assert titles(anyone) == ["Shade trees on the market square", "A drinking fountain"]


def test_the_form_works_without_javascript(visit, make_cycle, make_proposal):
    cycle = _cycle(make_cycle, make_proposal)
    resident = visit("no-script", javascript=False)
    resident.goto(f"/cycles/{cycle.id}/proposals")
    page = resident.page
    page.get_by_label("Search words").fill("river tre")  # the last word is read as the start of a word
    page.get_by_label("Status").select_option(label="Waiting for review")
    resident.click(page.get_by_role("button", name="Show proposals"))
    assert titles(resident) == ["Trees along the river path"]
