"""The pages anyone can open, in a real browser on a phone: each passes `Visit.check` (axe-core, 360 px, weight)."""

from pb.domain.cycle import Phase


def test_public_pages_pass_every_check(visit, make_cycle, make_project, make_proposal):
    districts = (("Northside", 100_000), ("Riverside with a long district name", 50_000))
    cycle = make_cycle(Phase.VOTING, districts=districts,
                       name="Riverside 2027", description="What the city will build next year, chosen by residents.")
    project = make_project(cycle, cost=1_234_500, title="A covered bicycle shelter at the central railway station",
                           location="Station square, by the north entrance")
    make_proposal(cycle, cycle.districts[1], title="Benches", status=project.status)
    anyone = visit("anyone")
    anyone.goto("/")
    anyone.click(anyone.page.get_by_role("link", name="How voting works"))
    assert anyone.page.get_by_role("heading", level=1).inner_text() == "How voting works"
    anyone.click(anyone.page.get_by_role("link", name="Accessibility"))
    assert anyone.page.get_by_role("heading", level=1).inner_text() == "Accessibility statement"
    anyone.click(anyone.page.get_by_role("link", name="Budget cycles"))
    anyone.click(anyone.page.get_by_role("link", name="Riverside 2027"))
    anyone.click(anyone.page.get_by_role("link", name="All proposals"))
    anyone.click(anyone.page.get_by_role("link", name="A covered bicycle shelter at the central railway station"))
    anyone.goto("/login")
    anyone.goto("/register")
    assert len(anyone.checked) == 9
