"""Each ballot design in a real browser: a verified resident votes with the live summary, changes the vote and keeps the
receipt; officials close the vote, count, approve with four eyes and publish; the receipt is found among the counted
ballots, and `pb-tally` on the district's downloaded pabulib file funds the published winners.

Also: the approval ballot without JavaScript, and the ranking ballot with the keyboard alone. Every page on the way
is checked by `Visit.check` (axe-core, 360 px, page weight, no foreign request).
"""

import json
import re
import subprocess
import sys

import pytest
from sqlalchemy import select

from pb.domain.cycle import Phase
from pb.domain.tally import pabulib
from pb.extensions import db
from pb.models import Category, Cycle, Role, TallyRun
from pb.services import voting
from tests.browser.test_cycle import _advance, _download, _open_confirmation
from tests.browser.test_voting import _tab_to
from tests.conftest import PASSWORD

_RECEIPT = re.compile(r"[A-Z0-9]{4}-[A-Z0-9]{4}-[A-Z0-9]{4}")
PROJECTS = (("Skate park", 60_000), ("Library garden", 50_000), ("Street trees", 30_000), ("Park benches", 10_000))
A, B, C, D = (title for title, _ in PROJECTS)

# Each design as a city sets it, the counting rule, the other voters' ballots (cast before Rita votes), and Rita's
# first ballot and her change. The ballots are chosen so that no count ties, and so that counting points (or rank
# scores) as mere approvals would fund other projects: a file that lost the points cannot pass by chance.
DESIGNS = {
    "knapsack": {
        "cycle": {"ballot_design": "knapsack", "rule": "greedy", "ballot_settings": '{"min_spend_percent": 20}'},
        "others": [{A: 1, C: 1, D: 1}, {A: 1, C: 1, D: 1}, {A: 1, D: 1}],
        "first": {A: 1, C: 1}, "change": {B: 1, D: 1},
    },
    "approval": {
        "cycle": {"ballot_design": "approval", "rule": "mes", "max_projects": 3},
        "others": [{A: 1, C: 1, D: 1}, {A: 1, C: 1, D: 1}, {A: 1, D: 1}],
        "first": {A: 1, B: 1, C: 1}, "change": {B: 1, D: 1},
    },
    "cumulative": {
        "cycle": {"ballot_design": "cumulative", "rule": "greedy",
                  "ballot_settings": '{"points": 10, "max_points_per_project": 6}'},
        "others": [{A: 6, C: 4}, {A: 6, D: 4}, {B: 1, C: 1, D: 1}],
        "first": {A: 6, D: 4}, "change": {B: 5, C: 5},
    },
    "ranking": {
        "cycle": {"ballot_design": "ranking", "rule": "greedy", "max_projects": 3},
        "others": [{A: 1, D: 2, C: 3}, {D: 1, A: 2}, {C: 1, D: 2, B: 3}],
        "first": {A: 1, C: 2}, "change": {B: 1, D: 2},
    },
}


def _election(design, make_user, make_cycle, make_project, verify, *, with_officials=True) -> dict:
    """A cycle of the design open for voting in Northside (1,000 EUR) with four projects, three voters who have
    voted, Rita (verified, not yet voted) and two officials."""
    spec = DESIGNS[design]
    cycle = make_cycle(Phase.VOTING, districts=(("Northside", 100_000),), name=f"Riverside {design}", **spec["cycle"])
    district = cycle.districts[0]
    streets = Category(cycle=cycle, name="Streets")
    db.session.add(streets)
    db.session.commit()
    ids = {title: make_project(cycle, district, cost=cost, title=title,
                               category=streets if title == D else cycle.categories[0]).id
           for title, cost in PROJECTS}
    for number, ballot in enumerate(spec["others"]):
        other = make_user(name=f"Voter {number}")
        verify(other, district)
        voting.cast_ballot(other, cycle.id, district.id, {ids[title]: value for title, value in ballot.items()})
    rita = make_user(name="Rita Resident")
    verify(rita, district)
    world = {"cycle_id": cycle.id, "district_id": district.id, "ids": ids, "rita": rita, "spec": spec,
             "path": f"/cycles/{cycle.id}/vote/{district.id}"}
    if with_officials:
        world["officials"] = (make_user(Role.OFFICIAL, name="Olga Official"),
                              make_user(Role.OFFICIAL, name="Otto Official"))
    return world


def _stored(world) -> dict[int, int] | None:
    db.session.rollback()
    own = voting.stored_ballot(world["rita"], world["cycle_id"], world["district_id"])
    return None if own is None else own.values


def _as_ids(world, ballot: dict[str, int]) -> dict[int, int]:
    return {world["ids"][title]: value for title, value in ballot.items()}


def _summary(tab) -> str:
    return " ".join(tab.page.locator("#running-total").inner_text().replace("\xa0", " ").split())


def _fill(tab, design: str, ballot: dict[str, int]) -> None:
    """Fill in the ballot with the mouse and typing: tick, type points or choose ranks; clear what is not in it."""
    page = tab.page
    for title, _ in PROJECTS:
        field = page.get_by_label(title)
        value = ballot.get(title)
        if design in ("knapsack", "approval"):
            field.set_checked(value is not None)
        elif design == "cumulative":
            field.fill(str(value) if value else "")
        else:
            field.select_option(str(value) if value else "")


def _vote(tab, world, design: str) -> tuple[str, str]:
    """Vote, watching the live summary, then change the vote; the two receipts."""
    spec, page = world["spec"], tab.page
    tab.goto(f"/cycles/{world['cycle_id']}")
    tab.click(page.get_by_role("link", name="Vote", exact=True))
    tab.click(page.get_by_role("link", name="Vote", exact=True))
    assert page.locator("#running-total").get_attribute("aria-live") == "polite"
    # The live summary follows each change before anything is sent.
    if design == "knapsack":
        page.get_by_label(A).check()
        assert "Left: 400 EUR" in _summary(tab)
        page.get_by_label(B).check()
        assert page.locator("[data-over]").is_visible() and "Left: -100 EUR" in _summary(tab)
        page.get_by_label(B).uncheck()
        assert not page.locator("[data-over]").is_visible()
        assert page.locator("meter").get_attribute("aria-labelledby") == "money-text"
    elif design == "approval":
        page.get_by_label(A).check()
        page.get_by_label(B).check()
        assert "2 of at most 3 projects chosen" in _summary(tab)
        page.get_by_label(C).check()
        page.get_by_label(D).check()
        assert page.locator("[data-over-max]").is_visible()
        page.get_by_label(D).uncheck()
    elif design == "cumulative":
        page.get_by_label(A).fill("6")
        assert "Points left: 4 of 10" in _summary(tab)
        page.get_by_label(D).fill("7")
        assert page.locator("[data-over]").is_visible() and page.locator("[data-over-cap]").is_visible()
        page.get_by_label(D).fill("4")
        assert "Points left: 0 of 10" in _summary(tab) and not page.locator("[data-over]").is_visible()
    else:
        page.get_by_label(A).select_option("1")
        page.get_by_label(C).select_option("1")
        assert page.locator("[data-repeated]").is_visible()
        page.get_by_label(C).select_option("2")
        assert not page.locator("[data-repeated]").is_visible()
        assert "Ranks used: 2 of 3" in _summary(tab)
        assert page.locator("[data-order] li").all_inner_texts() == [f"1st: {A}", f"2nd: {C}"]
    _fill(tab, design, spec["first"])
    tab.click(page.get_by_role("button", name="Cast my ballot"))
    assert "Your ballot is saved" in tab.messages()
    first_receipt = page.locator(".receipt-code").inner_text()
    assert _RECEIPT.fullmatch(first_receipt)
    assert _stored(world) == _as_ids(world, spec["first"])

    _fill(tab, design, spec["change"])
    tab.click(page.get_by_role("button", name="Change my ballot"))
    assert "Only this new ballot counts" in tab.messages()
    receipt = page.locator(".receipt-code").inner_text()
    assert _RECEIPT.fullmatch(receipt) and receipt != first_receipt
    assert _stored(world) == _as_ids(world, spec["change"])
    stored = page.locator("#stored-ballot li").all_inner_texts()
    if design == "cumulative":
        assert stored == ["5 points: Library garden", "5 points: Street trees"]
    elif design == "ranking":
        assert stored == ["1st: Library garden", "2nd: Park benches"]
    else:
        assert stored == sorted(spec["change"])
    return first_receipt, receipt


def _count_and_publish(olga, otto, cycle_id: int) -> None:
    _advance(olga, cycle_id, Phase.TALLYING, reason="This pilot publishes no dates.")
    olga.click(olga.page.get_by_role("button", name="Count the votes"))
    olga.click(olga.page.get_by_role("link", name="Check the totals and approve the count"))
    olga.click(olga.page.get_by_role("button", name="I have checked these figures: approve the count"))
    _open_confirmation(olga, cycle_id, Phase.RESULTS)
    assert "1 of 2 have approved it" in olga.page.content()
    otto.goto(f"/admin/cycles/{cycle_id}")
    otto.click(otto.page.get_by_role("link", name="Check the totals and approve the count"))
    otto.click(otto.page.get_by_role("button", name="I have checked these figures: approve the count"))
    assert "Two officials have approved it" in otto.messages()
    _advance(olga, cycle_id, Phase.RESULTS)
    db.session.rollback()
    assert db.session.get(Cycle, cycle_id).phase is Phase.RESULTS


def _published_winners(cycle_id: int, district_id: int) -> set[str]:
    db.session.rollback()
    run = db.session.scalar(select(TallyRun).where(TallyRun.district_id == district_id))
    return {str(result.project_id) for result in run.results if result.is_funded}


def _pb_tally(path, rule: str, seed: str) -> dict:
    """Run the pb-tally program on the file, as a city's auditor would."""
    result = subprocess.run([sys.executable, "-m", "pb.tally_cli", str(path), "--rule", rule, "--seed", seed, "--json"],
                            check=False, capture_output=True, timeout=120)
    assert result.returncode == 0, result.stderr.decode()
    return json.loads(result.stdout)


@pytest.mark.parametrize("design", list(DESIGNS))
def test_each_design_from_the_vote_to_the_checked_export(visit, make_user, make_cycle, make_project, verify, design,
                                                         tmp_path):
    world = _election(design, make_user, make_cycle, make_project, verify)
    cycle_id, spec = world["cycle_id"], world["spec"]
    rita = visit("resident")
    rita.login(world["rita"].email, PASSWORD)
    _, receipt = _vote(rita, world, design)

    official, second_official = world["officials"]
    olga = visit("official")
    olga.login(official.email, PASSWORD)
    otto = visit("second-official")
    otto.login(second_official.email, PASSWORD)
    _count_and_publish(olga, otto, cycle_id)

    # Rita finds her (changed) ballot among the counted ones with her receipt.
    rita.goto(f"/cycles/{cycle_id}/results")
    rita.click(rita.page.get_by_role("link", name="Check your receipt"))
    rita.page.get_by_label("Receipt code").fill(receipt)
    rita.click(rita.page.get_by_role("button", name="Check"))
    counted = rita.page.locator("section", has=rita.page.get_by_role("heading", name="This ballot was counted"))
    lines = counted.get_by_role("listitem").all_inner_texts()
    assert len(lines) == len(spec["change"]) and all(any(title in line for line in lines) for title in spec["change"])

    # The official downloads the district's pabulib file; pb-tally with the cycle's rule funds the published winners.
    olga.goto(f"/cycles/{cycle_id}")
    olga.click(olga.page.get_by_role("link", name="See the results"))
    olga.page.locator("details.check-count > summary").first.click()
    filename, body = _download(olga, "Download Northside as a pabulib file (.pb)")
    assert filename.endswith(".pb")
    path = tmp_path / filename
    path.write_bytes(body)
    election = pabulib.read(body.decode("utf-8"))
    expected_type = {"knapsack": "approval", "approval": "approval", "cumulative": "cumulative",
                     "ranking": "ordinal"}[design]
    assert election.vote_type == expected_type, f"{design} ballots exported as vote_type {election.vote_type}"
    assert len(election.votes) == 4
    if design == "cumulative":  # points beside the projects, in the same order
        ballots = sorted(sorted(zip(row["vote"].split(","), map(int, row["points"].split(","))))
                         for row in election.votes)
        names = {str(project_id): title for title, project_id in world["ids"].items()}
        given = sorted(sorted((str(world["ids"][title]), points) for title, points in ballot.items())
                       for ballot in [*spec["others"], spec["change"]])
        assert ballots == given, names
    if design == "ranking":  # best first
        given = sorted([str(world["ids"][title]) for title, _ in sorted(ballot.items(), key=lambda item: item[1])]
                       for ballot in [*spec["others"], spec["change"]])
        assert sorted(row["vote"].split(",") for row in election.votes) == given
    db.session.rollback()
    cycle = db.session.get(Cycle, cycle_id)
    outcome = _pb_tally(path, cycle.rule, election.meta["tie_break_seed"])
    published = _published_winners(cycle_id, world["district_id"])
    assert set(outcome["selected"]) == published and outcome["matches_published"] is True, (outcome, published)


def test_the_approval_ballot_without_javascript(visit, make_user, make_cycle, make_project, verify):
    world = _election("approval", make_user, make_cycle, make_project, verify, with_officials=False)
    rita = visit("no-javascript", javascript=False)
    page = rita.page
    rita.login(world["rita"].email, PASSWORD)
    rita.goto(world["path"])
    assert "0 of at most 3 projects chosen" in _summary(rita)
    _fill(rita, "approval", {A: 1, B: 1, C: 1, D: 1})
    rita.click(page.get_by_role("button", name="Cast my ballot"))
    assert "Choose at most 3 projects (you chose 4)." in page.locator("#ballot-problems").inner_text()
    assert _stored(world) is None
    assert all(page.get_by_label(title).is_checked() for title, _ in PROJECTS)
    assert "4 of at most 3 projects chosen" in _summary(rita)  # the summary the server wrote, with its warning
    assert page.locator("[data-over-max]").is_visible()
    page.get_by_label(A).uncheck()
    rita.click(page.get_by_role("button", name="Cast my ballot"))
    assert "Your ballot is saved" in rita.messages()
    first_receipt = page.locator(".receipt-code").inner_text()
    assert _stored(world) == _as_ids(world, {B: 1, C: 1, D: 1})
    _fill(rita, "approval", {A: 1})
    rita.click(page.get_by_role("button", name="Change my ballot"))
    assert "Only this new ballot counts" in rita.messages()
    assert page.locator(".receipt-code").inner_text() != first_receipt
    assert _stored(world) == _as_ids(world, {A: 1})
    assert page.locator("#stored-ballot li").all_inner_texts() == [A]


def _rank_with_keys(tab, world, ranks: dict[str, int]) -> None:
    """Tab forward through the ballot to each project's rank and choose it with the arrow keys (in the page's order)."""
    waiting = {f"rank-{world['ids'][title]}": rank for title, rank in ranks.items()}
    while waiting:
        focus = _tab_to(tab, lambda focus: focus["id"] in waiting)[-1]
        current = tab.page.evaluate("document.activeElement.selectedIndex")
        wanted = waiting.pop(focus["id"])
        key = "ArrowDown" if wanted > current else "ArrowUp"
        for _ in range(abs(wanted - current)):
            tab.page.keyboard.press(key)
        assert tab.page.evaluate("document.activeElement.value") == (str(wanted) if wanted else "")


def test_the_ranking_ballot_with_the_keyboard_alone(visit, make_user, make_cycle, make_project, verify):
    world = _election("ranking", make_user, make_cycle, make_project, verify, with_officials=False)
    rita = visit("keyboard")
    page = rita.page
    rita.login(world["rita"].email, PASSWORD)
    rita.goto(world["path"])
    # Two projects share the first rank: the summary warns at once, and the server refuses it if sent anyway.
    _rank_with_keys(rita, world, {A: 1, C: 1})
    assert page.locator("[data-repeated]").is_visible()
    _tab_to(rita, lambda focus: focus["name"].startswith("button") and "Cast my ballot" in focus["name"])
    with page.expect_navigation():
        page.keyboard.press("Enter")
    rita.check()
    assert page.get_by_role("alert").filter(has_text="share rank 1").count() == 1
    assert _stored(world) is None
    _rank_with_keys(rita, world, {C: 2})
    assert not page.locator("[data-repeated]").is_visible()
    assert page.locator("[data-order] li").all_inner_texts() == [f"1st: {A}", f"2nd: {C}"]
    _tab_to(rita, lambda focus: focus["name"].startswith("button") and "Cast my ballot" in focus["name"])
    with page.expect_navigation():
        page.keyboard.press("Enter")
    rita.check()
    assert page.get_by_role("status").filter(has_text="Your ballot is saved").count() == 1
    assert _stored(world) == _as_ids(world, {A: 1, C: 2})
    assert page.locator("#stored-ballot li").all_inner_texts() == [f"1st: {A}", f"2nd: {C}"]
