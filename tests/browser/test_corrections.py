"""Correcting published results in a real browser: one official proposes withdrawing a funded project, a second
approves, and residents see the corrected results, the reason and the earlier revision.

Every page on the way is checked by `Visit.check` (axe-core, 360 px, page weight, no foreign request).
"""

from pb.domain.cycle import Phase
from pb.extensions import db
from pb.models import Role
from pb.services import cycles, publication, tallying, voting
from tests.conftest import PASSWORD, close_voting


def test_a_withdrawn_project_is_corrected_as_a_new_revision(visit, make_user, make_cycle, make_project, verify):
    olga, pieter = make_user(Role.OFFICIAL, name="Olga Official"), make_user(Role.OFFICIAL, name="Pieter Official")
    cycle = make_cycle(Phase.VOTING, districts=(("Northside", 100_000),), name="Riverside 2027")
    north = cycle.districts[0]
    pool, trees, bench = (make_project(cycle, north, cost=cost, title=title)
                          for cost, title in [(60_000, "Pool"), (50_000, "Trees"), (40_000, "Bench")])
    for choice in ([pool], [pool], [pool, bench], [trees, bench], [trees]):
        voter = make_user()
        verify(voter, north)
        voting.cast_ballot(voter, cycle.id, north.id, [project.id for project in choice])
    close_voting(cycle)
    tallying.run_tally(olga, cycle.id)
    for official in (olga, pieter):
        publication.approve_results(official, cycle.id)
    cycles.advance_phase(olga, cycle.id, Phase.TALLYING)
    cycle_id, pool_id = cycle.id, pool.id
    emails = olga.email, pieter.email

    first = visit("official")
    first.login(emails[0], PASSWORD)
    first.goto(f"/admin/cycles/{cycle_id}")
    first.click(first.page.get_by_role("link", name="Propose a correction"))
    first.click(first.page.get_by_role("button", name="Count the correction"))  # nothing chosen: refused, explained
    assert first.page.get_by_role("alert").is_visible()
    first.page.get_by_label("Northside: Pool").check()
    first.page.get_by_label("Reason (published with the corrected results)").fill("The pool site is protected land.")
    first.click(first.page.get_by_role("button", name="Count the correction"))
    assert "counted as revision 2" in first.messages()
    assert "no longer funded: Pool" in first.page.locator("main").inner_text()

    second = visit("second-official")
    second.login(emails[1], PASSWORD)
    second.goto(f"/admin/cycles/{cycle_id}")
    second.click(second.page.get_by_role("button", name="Approve and publish revision 2"))
    assert "Revision 2 of the results is published." in second.messages()

    resident = visit("resident")
    resident.goto(f"/cycles/{cycle_id}/results")
    main = resident.page.locator("main").inner_text()
    assert "Corrected results: revision 2" in main and "The pool site is protected land." in main
    resident.click(resident.page.get_by_role("link", name="Every revision of these results"))
    resident.click(resident.page.get_by_role("link", name="Revision 1"))
    assert "A later revision replaces it." in resident.page.locator("main").inner_text()
    resident.goto(f"/proposals/{pool_id}")
    assert "Withdrawn after the results were published" in resident.page.locator("main").inner_text()
    problems = first.problems + second.problems + resident.problems
    assert not problems, "\n".join(problems)
