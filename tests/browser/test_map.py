"""Places in a real browser: put a project on the map without JavaScript, find its marker, and check the map pages."""

import json

import pytest
from sqlalchemy import select

from pb.domain.cycle import Phase
from pb.extensions import db
from pb.models import Proposal, ProposalStatus, Role
from pb.services import places
from tests.browser.conftest import ROOT
from tests.conftest import PASSWORD, store_count

NORTH = [[2.10, 41.38], [2.20, 41.38], [2.20, 41.45], [2.10, 41.45], [2.10, 41.38]]
SOUTH = [[2.10, 41.30], [2.20, 41.30], [2.20, 41.38], [2.10, 41.38], [2.10, 41.30]]


def _mapped_cycle(make_cycle, make_user, phase=Phase.PROPOSALS):
    cycle = make_cycle(phase, districts=(("Northside", 100_000), ("Southside", 50_000)), name="Riverside 2027")
    official = make_user(Role.OFFICIAL, email="olga@city.example")
    places.set_cycle_boundaries(official, cycle.id, json.dumps({"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {"name": name}, "geometry": {"type": "Polygon", "coordinates": [ring]}}
        for name, ring in (("Northside", NORTH), ("Southside", SOUTH))]}))
    return cycle, official


def test_place_a_project_on_the_map_without_javascript(visit, make_cycle, make_user):
    cycle, _ = _mapped_cycle(make_cycle, make_user)
    cycle_id = cycle.id
    make_user(email="rita@city.example")
    tab = visit("resident", javascript=False)
    page = tab.page
    tab.login("rita@city.example", PASSWORD)
    tab.goto(f"/cycles/{cycle_id}/proposals/new")
    page.get_by_label("Title").fill("Benches by the river")
    page.get_by_label("Summary (one or two sentences)").fill("Ten benches along the river path.")
    page.get_by_label("Description").fill("## The spots\n\n- by the bridge\n- by the **mill**")
    page.get_by_label("Estimated cost").fill("300")
    page.get_by_label("District").select_option(label="Southside")
    page.get_by_label("Latitude (optional)").fill("41.41")
    page.get_by_label("Longitude (optional)").fill("2.15")
    tab.click(page.get_by_role("button", name="Submit the proposal"))
    # The point lies in Northside: the form says so and asks before keeping it; nothing moves silently.
    assert "The point lies in Northside, not in the district you chose." in page.get_by_role("main").inner_text()
    page.get_by_label("District").select_option(label="Northside")
    tab.click(page.get_by_role("button", name="Submit the proposal"))
    assert "your proposal is submitted" in tab.messages()
    assert page.locator("#place-heading").is_visible() and page.locator(".place svg.map").count() == 1
    assert page.locator(".prose h2", has_text="The spots").count() == 1 and page.locator(".prose strong").inner_text() == "mill"

    db.session.rollback()
    proposal = db.session.scalar(select(Proposal).where(Proposal.title == "Benches by the river"))
    assert (proposal.latitude, proposal.longitude, proposal.district.name) == (41.41, 2.15, "Northside")
    proposal.status, proposal.final_cost = ProposalStatus.ACCEPTED, proposal.estimated_cost
    db.session.commit()
    proposal_id = proposal.id

    tab.goto(f"/cycles/{cycle_id}")
    tab.click(page.get_by_role("link", name="Map of the projects"))
    marker = page.locator(f"#marker-{proposal_id}")
    assert marker.count() == 1
    tab.click(marker)
    assert page.url.endswith(f"/proposals/{proposal_id}")
    assert page.get_by_role("heading", level=1).inner_text() == "Benches by the river"


def test_map_pages_pass_every_check(visit, make_cycle, make_user, make_project):
    cycle, official = _mapped_cycle(make_cycle, make_user, Phase.TALLYING)
    north, south = cycle.districts
    shelter = make_project(cycle, north, title="A covered bicycle shelter at the station", latitude=41.40,
                           longitude=2.12, location="Station square")
    swings = make_project(cycle, south, title="Swings", latitude=41.33, longitude=2.18)
    lamps = make_project(cycle, south, title="Lamps without a point")
    store_count(cycle, official, funded=[shelter, swings], unfunded=[lamps])
    anyone = visit("anyone")
    anyone.goto(f"/cycles/{cycle.id}/map")
    anyone.goto(f"/cycles/{cycle.id}/results")
    anyone.click(anyone.page.get_by_role("link", name="Map of the funded projects"))
    assert anyone.page.locator("svg.map a").count() == 2
    anyone.goto(f"/proposals/{shelter.id}")
    admin = visit("official")
    admin.login("olga@city.example", PASSWORD)
    admin.goto(f"/admin/cycles/{cycle.id}/boundaries")


@pytest.fixture
def tile_server_setting(monkeypatch):
    """A city's tile server, here pb's own static folder (so no request leaves the test server), set before pb starts."""
    if not (ROOT / "pb" / "static" / "vendor" / "node_modules" / "leaflet" / "dist" / "leaflet.js").exists():
        pytest.skip("the interactive map needs Leaflet: run `bash pb/static/vendor/fetch_leaflet.sh` (it uses npm)")
    monkeypatch.setenv("PB_MAP_TILE_URL", "/static/no-such-tile/{z}/{x}/{y}.png")
    monkeypatch.setenv("PB_MAP_ATTRIBUTION", "Test tiles")


def test_with_a_tile_server_leaflet_enhances_the_map_and_picks_a_point(tile_server_setting, browser, server,
                                                                       make_cycle, make_user, make_project):
    """Leaflet (148 KB) is over the page budget, so this tab is not a `Visit`: it checks only what the script does."""
    cycle, _ = _mapped_cycle(make_cycle, make_user)
    make_project(cycle, cycle.districts[0], title="Shelter", latitude=41.40, longitude=2.12)
    make_user(email="rita@city.example")
    context = browser.new_context(viewport={"width": 360, "height": 640})
    foreign = []
    context.route("**/*", lambda route: route.continue_() if route.request.url.startswith(server + "/")
                  else (foreign.append(route.request.url), route.abort()))
    page = context.new_page()
    errors = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto(f"{server}/cycles/{cycle.id}/map")
    assert page.locator(".leaflet-map .leaflet-interactive").count() == 1  # the project's marker
    assert page.locator("svg.map.replaced").count() == 1 and "Test tiles" in page.locator(".leaflet-map").inner_text()
    page.goto(f"{server}/login")
    page.get_by_label("Email").fill("rita@city.example")
    page.get_by_label("Password").fill(PASSWORD)
    with page.expect_navigation():
        page.get_by_role("button", name="Log in").click()
    page.goto(f"{server}/cycles/{cycle.id}/proposals/new")
    page.locator("#point-picker").click(position={"x": 100, "y": 80})
    assert page.get_by_label("Latitude (optional)").input_value() != ""
    assert page.get_by_label("Longitude (optional)").input_value() != ""
    assert not foreign and not errors, (foreign, errors)
    context.close()
