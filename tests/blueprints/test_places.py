"""Places on the web: uploading boundaries (and every bad file refused), the point on the proposal form, the maps."""

import io
import json
import re

import pytest
from sqlalchemy import select

from pb.domain.cycle import Phase
from pb.extensions import db
from pb.models import District, Proposal, Role
from pb.services import places
from tests.blueprints.test_bad_input import database_state
from tests.conftest import store_count

NORTH = [[2, 41], [3, 41], [3, 42], [2, 42], [2, 41]]
SOUTH = [[2, 40], [3, 40], [3, 41], [2, 41], [2, 40]]


def _collection(**named):
    return json.dumps({"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {"name": name}, "geometry": {"type": "Polygon", "coordinates": [ring]}}
        for name, ring in named.items()]})


def _upload(client, cycle, data: bytes, district_id=0, filename="districts.geojson", **kwargs):
    return client.post(f"/admin/cycles/{cycle.id}/boundaries", data={
        "csrf_token": client.csrf_token(), "district_id": str(district_id), "file": (io.BytesIO(data), filename),
    }, content_type="multipart/form-data", **kwargs)


@pytest.fixture
def official_on(client, make_user, make_cycle):
    official = make_user(Role.OFFICIAL)
    client.login(official)
    return official, make_cycle(Phase.PROPOSALS)


def test_an_official_uploads_the_cycles_boundaries(client, official_on):
    _, cycle = official_on
    assert client.get(f"/admin/cycles/{cycle.id}").get_data(as_text=True).count(f"/admin/cycles/{cycle.id}/boundaries")
    response = _upload(client, cycle, _collection(North=NORTH, South=SOUTH).encode())
    assert response.status_code == 302 and response.location == f"/admin/cycles/{cycle.id}/boundaries"
    page = client.get(response.location).get_data(as_text=True)
    assert "The boundaries of North, South are saved." in page and '<path class="district"' in page
    assert all(db.session.scalars(select(District.boundary).where(District.cycle_id == cycle.id)))


def test_an_official_uploads_one_districts_boundary(client, official_on):
    _, cycle = official_on
    south = cycle.districts[1]
    polygon = json.dumps({"type": "Polygon", "coordinates": [SOUTH]}).encode()
    assert _upload(client, cycle, polygon, district_id=south.id).status_code == 302
    assert db.session.get(District, south.id).boundary and not db.session.get(District, cycle.districts[0].id).boundary


def _million_vertices() -> bytes:
    ring = ",".join(f"[{i % 100},{i // 100 % 80}]" for i in range(1_000_000))
    return ('{"type":"Polygon","coordinates":[[[0,0],' + ring + ',[0,0]]]}').encode()


BAD_FILES = [
    pytest.param(b"this is not json", "not valid JSON", 400, id="not JSON"),
    pytest.param(b"\x89PNG\r\n\x1a\n\x00\x00", "not text in UTF-8", 400, id="a PNG"),
    pytest.param(b'{"type": "Point", "coordinates": [2.5, 41.5]}', "expected a Polygon", 400, id="wrong type"),
    pytest.param(_collection(North=[[2, 41], [3, 41], [3, 42], [2, 42]]).encode(), "not closed", 400, id="open ring"),
    pytest.param(_collection(North=[[2, 41], [3, 41], [2, 41]]).encode(), "at least four", 400, id="too few"),
    pytest.param(_collection(North=[[41, 2], [41, 3], [420, 3], [41, 2]]).encode(), "off the map", 400, id="off the map"),
    pytest.param(_collection(East=NORTH).encode(), "match no district", 400, id="unknown name"),
    pytest.param(b"", "The file is empty.", 400, id="empty file"),
    pytest.param(_million_vertices(), "too large", 413, id="a million vertices"),
]


@pytest.mark.parametrize(("data", "message", "status"), BAD_FILES)
def test_a_bad_file_gets_a_clear_message_stores_nothing_and_never_a_500(client, official_on, data, message, status):
    _, cycle = official_on
    before = database_state()
    response = _upload(client, cycle, data)
    assert response.status_code == status
    assert message in response.get_data(as_text=True), response.get_data(as_text=True)[1500:3500]
    assert database_state() == before


def test_a_million_vertices_under_the_byte_cap_is_refused_too(client, official_on, monkeypatch):
    """Even if the byte cap were raised, the vertex cap refuses it by its points."""
    from pb.domain import geometry

    _, cycle = official_on
    monkeypatch.setattr(geometry, "MAX_BOUNDARY_BYTES", 64 * 1024 * 1024)
    before = database_state()
    response = _upload(client, cycle, _million_vertices())
    assert response.status_code in (400, 413)
    assert database_state() == before


@pytest.mark.parametrize("role", [Role.RESIDENT, Role.MODERATOR])
def test_only_officials_reach_the_boundaries(client, make_user, make_cycle, role):
    cycle = make_cycle(Phase.PROPOSALS)
    client.login(make_user(role))
    assert client.get(f"/admin/cycles/{cycle.id}/boundaries").status_code == 403
    assert _upload(client, cycle, _collection(North=NORTH).encode()).status_code == 403


# --- the proposal form --------------------------------------------------------------------------------------------

@pytest.fixture
def mapped_cycle(make_user, make_cycle):
    cycle = make_cycle(Phase.PROPOSALS)
    places.set_cycle_boundaries(make_user(Role.OFFICIAL), cycle.id, _collection(North=NORTH, South=SOUTH))
    return cycle


def _proposal(cycle, district, **point):
    return {"title": "Trees", "summary": "Plant trees.", "description": "Fifty trees.", "estimated_cost": "100",
            "district_id": str(district.id), "category_id": str(cycle.categories[0].id) if cycle.categories else "",
            "location": "", **point}


def test_a_point_in_the_chosen_district_is_saved(client, make_user, mapped_cycle):
    client.login(make_user())
    north = mapped_cycle.districts[0]
    response = client.submit(f"/cycles/{mapped_cycle.id}/proposals/new",
                             _proposal(mapped_cycle, north, latitude="41,5", longitude="2.5"))
    assert response.status_code == 302, re.findall(r'class="(?:field-error|message [a-z]+)"[^>]*>(.*?)</p>', response.get_data(as_text=True), re.S)
    proposal = db.session.scalar(select(Proposal).where(Proposal.cycle_id == mapped_cycle.id))
    assert (proposal.latitude, proposal.longitude, proposal.district_id) == (41.5, 2.5, north.id)
    page = client.get(response.location).get_data(as_text=True)
    assert '<section class="place"' in page and "latitude 41.5, longitude 2.5" in page


@pytest.mark.parametrize(("district", "point", "warning"), [
    (1, {"latitude": "41.5", "longitude": "2.5"}, "The point lies in North, not in the district you chose."),
    (0, {"latitude": "45", "longitude": "2.5"}, "The point lies outside every district of this cycle."),
])
def test_a_point_elsewhere_warns_and_asks_to_confirm(client, make_user, mapped_cycle, district, point, warning):
    client.login(make_user())
    chosen = mapped_cycle.districts[district]
    url = f"/cycles/{mapped_cycle.id}/proposals/new"
    before = database_state()
    response = client.submit(url, _proposal(mapped_cycle, chosen, **point))
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert warning in page and "Keep this point anyway" in page
    assert database_state() == before
    response = client.submit(url, _proposal(mapped_cycle, chosen, keep_point="y", **point))
    assert response.status_code == 302
    proposal = db.session.scalar(select(Proposal).where(Proposal.cycle_id == mapped_cycle.id))
    assert proposal.district_id == chosen.id  # never moved silently


@pytest.mark.parametrize(("point", "message"), [
    ({"latitude": "91", "longitude": "2"}, "This must be between -90 and 90 degrees."),
    ({"latitude": "41", "longitude": "-181"}, "This must be between -180 and 180 degrees."),
    ({"latitude": "NaN", "longitude": "2"}, "Write the coordinate as a decimal number"),
    ({"latitude": "1e308", "longitude": "2"}, "Write the coordinate as a decimal number"),
    ({"latitude": "41.5", "longitude": ""}, "Give both the latitude and the longitude, or neither."),
])
def test_a_point_off_the_map_is_refused(client, make_user, mapped_cycle, point, message):
    client.login(make_user())
    before = database_state()
    response = client.submit(f"/cycles/{mapped_cycle.id}/proposals/new",
                             _proposal(mapped_cycle, mapped_cycle.districts[0], **point))
    assert response.status_code == 400
    assert message in response.get_data(as_text=True)
    assert database_state() == before


# --- maps ---------------------------------------------------------------------------------------------------------

def test_the_ballot_map_draws_districts_and_linked_markers_with_the_list(client, mapped_cycle, make_project):
    north = mapped_cycle.districts[0]
    park = make_project(mapped_cycle, north, title="<script>alert(1)</script> Park", latitude=41.5, longitude=2.5)
    lamps = make_project(mapped_cycle, north, title="Lamps")
    page = client.get(f"/cycles/{mapped_cycle.id}/map").get_data(as_text=True)
    assert "<script>alert(1)" not in page
    assert re.search(rf'<a href="/proposals/{park.id}" id="marker-{park.id}"><title>\d+\. &lt;script&gt;', page)
    assert f'href="/proposals/{lamps.id}"' in page and "no point on the map" in page
    assert page.count('<path class="district"') == 2
    assert len(page.encode()) < 100_000
    assert "http://" not in page.replace('xmlns="http://www.w3.org/2000/svg"', "") and "https://" not in page
    assert f"/cycles/{mapped_cycle.id}/map" in client.get(f"/cycles/{mapped_cycle.id}").get_data(as_text=True)


def test_the_results_map_shows_only_funded_projects_after_results(client, mapped_cycle, make_project, make_user):
    north = mapped_cycle.districts[0]
    park = make_project(mapped_cycle, north, title="Park", latitude=41.5, longitude=2.5)
    lamps = make_project(mapped_cycle, north, title="Lamps", latitude=41.2, longitude=2.2)
    response = client.get(f"/cycles/{mapped_cycle.id}/results/map")
    assert response.status_code == 302  # not published yet
    store_count(mapped_cycle, make_user(Role.OFFICIAL), funded=[park], unfunded=[lamps])
    page = client.get(f"/cycles/{mapped_cycle.id}/results/map").get_data(as_text=True)
    assert f'id="marker-{park.id}"' in page and f"/proposals/{lamps.id}" not in page
    assert f"/cycles/{mapped_cycle.id}/results/map" in client.get(f"/cycles/{mapped_cycle.id}/results").get_data(as_text=True)


def test_a_huge_boundary_is_drawn_small(client, make_user, make_cycle, make_project):
    cycle = make_cycle(Phase.PROPOSALS)
    step = 1 / 12_000
    ring = [[2 + i * step, 41] for i in range(12_000)] + [[3, 41 + i * step] for i in range(12_000)] + [[2, 42], [2, 41]]
    places.set_district_boundary(make_user(Role.OFFICIAL), cycle.districts[0].id,
                                 json.dumps({"type": "Polygon", "coordinates": [ring]}))
    make_project(cycle, cycle.districts[0], latitude=41.5, longitude=2.5)
    assert len(client.get(f"/cycles/{cycle.id}/map").data) < 100_000


def test_without_a_tile_server_no_script_and_no_tile_request(client, mapped_cycle, make_project):
    make_project(mapped_cycle, mapped_cycle.districts[0], latitude=41.5, longitude=2.5)
    page = client.get(f"/cycles/{mapped_cycle.id}/map").get_data(as_text=True)
    assert "leaflet" not in page and "data-tiles" not in page


def test_a_tile_server_adds_leaflet_from_pbs_own_files_and_allows_only_its_images(app, client, mapped_cycle,
                                                                                  make_project, monkeypatch):
    from pb.blueprints import places as places_views

    make_project(mapped_cycle, mapped_cycle.districts[0], latitude=41.5, longitude=2.5)
    monkeypatch.setattr(places_views, "_has_leaflet", lambda: True)
    app.config.update(MAP_TILE_URL="https://{s}.tiles.city.example/{z}/{x}/{y}.png", MAP_ATTRIBUTION="© City")
    response = client.get(f"/cycles/{mapped_cycle.id}/map")
    page = response.get_data(as_text=True)
    assert '<script src="/static/vendor/node_modules/leaflet/dist/leaflet.js"></script>' in page
    assert '<script src="/static/map.js"></script>' in page and 'data-attribution="© City"' in page
    assert "img-src 'self' data: https://*.tiles.city.example;" in response.headers["Content-Security-Policy"]
    assert "tiles.city.example" not in client.get(f"/cycles/{mapped_cycle.id}").headers["Content-Security-Policy"]
    monkeypatch.setattr(places_views, "_has_leaflet", lambda: False)  # the setting without the files: SVG only
    assert "leaflet" not in client.get(f"/cycles/{mapped_cycle.id}/map").get_data(as_text=True)


def test_an_edit_does_not_ask_again_about_a_point_already_confirmed(client, make_user, mapped_cycle, make_proposal):
    author = make_user()
    south = mapped_cycle.districts[1]
    proposal = make_proposal(mapped_cycle, south, author=author, latitude=41.5, longitude=2.5)
    client.login(author)
    fields = {**_proposal(mapped_cycle, south, latitude="41.5", longitude="2.5"), "title": "Trees, renamed", "version": "1"}
    response = client.submit(f"/proposals/{proposal.id}/edit", fields)
    assert response.status_code == 302
    assert db.session.get(Proposal, proposal.id).title == "Trees, renamed"
    moved = {**fields, "latitude": "41.6", "version": "2"}
    assert "The point lies in North" in client.submit(f"/proposals/{proposal.id}/edit", moved).get_data(as_text=True)


def test_the_point_picker_is_offered_only_with_a_tile_server(app, client, make_user, mapped_cycle, monkeypatch):
    from pb.blueprints import places as places_views

    client.login(make_user())
    url = f"/cycles/{mapped_cycle.id}/proposals/new"
    response = client.get(url)
    assert 'id="point-picker"' not in response.get_data(as_text=True) and "tiles" not in response.headers[
        "Content-Security-Policy"]
    monkeypatch.setattr(places_views, "_has_leaflet", lambda: True)
    app.config.update(MAP_TILE_URL="https://tiles.city.example/{z}/{x}/{y}.png")
    response = client.get(url)
    page = response.get_data(as_text=True)
    assert 'id="point-picker"' in page and '<script src="/static/map.js"></script>' in page
    assert "img-src 'self' data: https://tiles.city.example;" in response.headers["Content-Security-Policy"]
