"""The published results as an anonymous resident sees them on a phone: the plain first view, the "Check the count
yourself" section, the Equal Shares column at 360 px, and the downloads.

Every page on the way is checked by `Visit.check` (axe-core, 360 px, page weight, no foreign request).
"""

from pb.domain.cycle import Phase
from pb.extensions import db
from pb.models import Role
from pb.services import tallying, voting
from tests.conftest import close_voting


def _published(make_user, make_cycle, make_project, verify):
    """Northside (1,000 EUR), counted with Equal Shares: six residents choose Playground and Benches, four the
    Library corner; the standard count would fund Playground and Benches, Equal Shares funds the Library too."""
    cycle = make_cycle(Phase.VOTING, districts=(("Northside", 100_000),), name="Riverside 2027", rule="mes-add1")
    north = cycle.districts[0]
    playground = make_project(cycle, north, cost=50_000, title="Playground with a long name for small screens")
    benches = make_project(cycle, north, cost=50_000, title="Benches")
    library = make_project(cycle, north, cost=50_000, title="Library corner")
    for choice in [[playground, benches]] * 6 + [[library]] * 4:
        voter = make_user()
        verify(voter, north)
        voting.cast_ballot(voter, cycle.id, north.id, [project.id for project in choice])
    close_voting(cycle)
    tallying.run_tally(make_user(Role.OFFICIAL), cycle.id)
    cycle.phase = Phase.RESULTS
    db.session.commit()
    return cycle, north


def test_an_anonymous_resident_reads_the_results_on_a_phone(visit, make_user, make_cycle, make_project, verify):
    cycle, north = _published(make_user, make_cycle, make_project, verify)
    cycle_id, north_id = cycle.id, north.id

    resident = visit("anonymous")
    resident.goto(f"/cycles/{cycle_id}/results")
    page = resident.page
    summary = page.locator(".results-summary").inner_text()
    assert "2 projects are funded, for 1,000 EUR of the 1,000 EUR budget." in summary
    assert "10 residents took part." in summary
    assert page.get_by_role("link", name="Where: map of the funded projects").is_visible()
    funded = page.locator("table.funded-projects").inner_text()
    assert "Library corner" in funded

    check = page.locator(f"#check-{north_id}")
    comparison = check.locator("table.comparison")
    assert not comparison.is_visible()  # behind "Check the count yourself" until opened
    check.locator("summary").first.click()
    assert comparison.is_visible()
    # The Equal Shares column (the last) is wholly on screen at 360 px: not cut off, not scrolled out of sight.
    equal_shares = comparison.locator('th[data-rule="mes-add1"]')
    assert equal_shares.is_visible()
    box = equal_shares.bounding_box()
    viewport = page.viewport_size["width"]
    assert box["x"] >= 0 and box["x"] + box["width"] <= viewport, (box, viewport)
    region = check.locator(".table-scroll").first
    assert region.evaluate("element => element.scrollWidth <= element.clientWidth"), "the side-by-side scrolls"
    last_cell = comparison.locator("tbody tr").first.locator("td").last
    cell = last_cell.bounding_box()
    assert cell["x"] + cell["width"] <= viewport
    assert "SHA-256 of the ballot list" in check.inner_text() and "pb-tally" in check.inner_text()
    resident.check()  # the opened section too: axe, width and weight

    for name, kind in (("Download the results (CSV)", "csv"), ("Printable report (PDF)", "pdf")):
        with page.expect_download() as download:
            page.get_by_role("link", name=name).click()
        assert download.value.suggested_filename == f"pb-results-cycle-{cycle_id}.{kind}"

    without_script = visit("no-javascript", javascript=False)
    without_script.goto(f"/cycles/{cycle_id}/results")
    details = without_script.page.locator(f"#check-{north_id}")
    details.locator("summary").first.click()  # <details> opens without any script
    assert details.locator("table.comparison").is_visible()
