"""Places: officials upload district boundaries (audited, any phase), a point tells its district, and the maps."""

import json

import pytest

from pb.domain.cycle import Phase
from pb.domain.errors import PermissionDenied, PhaseError, ValidationError
from pb.extensions import db
from pb.models import Role
from pb.services import places
from tests.conftest import store_count

# North is the square 2..3 °E × 41..42 °N; South the square below it, with a hole (a lake) in its middle.
NORTH = [[2, 41], [3, 41], [3, 42], [2, 42], [2, 41]]
SOUTH = [[2, 40], [3, 40], [3, 41], [2, 41], [2, 40]]
LAKE = [[2.4, 40.4], [2.6, 40.4], [2.6, 40.6], [2.4, 40.6], [2.4, 40.4]]


def _polygon(*rings):
    return {"type": "Polygon", "coordinates": [list(ring) for ring in rings]}


def _collection(**named):
    return json.dumps({"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {"name": name}, "geometry": shape} for name, shape in named.items()]})


@pytest.fixture
def mapped(make_user, make_cycle):
    official = make_user(Role.OFFICIAL)
    cycle = make_cycle(Phase.PROPOSALS)
    places.set_cycle_boundaries(official, cycle.id, _collection(North=_polygon(NORTH), south=_polygon(SOUTH, LAKE)))
    return official, cycle


def test_a_feature_collection_sets_every_district_by_name(mapped, audit_log):
    official, cycle = mapped
    north, south = cycle.districts
    assert north.boundary and south.boundary
    assert [(entry[1], entry[2]) for entry in audit_log() if entry[1] == "set-district-boundary"] == [
        ("set-district-boundary", f"district:{north.id}"), ("set-district-boundary", f"district:{south.id}")]


@pytest.mark.parametrize(("latitude", "longitude", "district"), [
    (41.5, 2.5, "North"), (40.2, 2.2, "South"), (40.5, 2.5, None), (45, 2.5, None), (41.5, -3, None),
])
def test_a_point_tells_its_district(mapped, latitude, longitude, district):
    _, cycle = mapped
    found = places.district_for_point(cycle, latitude, longitude)
    assert (found.name if found else None) == district


@pytest.mark.parametrize(("chosen", "latitude", "longitude", "warning"), [
    ("North", 41.5, 2.5, None),
    ("South", 41.5, 2.5, "The point lies in North, not in the district you chose."),
    ("North", 40.5, 2.5, "The point lies outside every district of this cycle."),
    ("North", None, None, None),
])
def test_the_form_warns_when_point_and_district_disagree(mapped, chosen, latitude, longitude, warning):
    _, cycle = mapped
    district_id = next(d.id for d in cycle.districts if d.name == chosen)
    assert places.point_warning(cycle, district_id, latitude, longitude) == warning


@pytest.mark.parametrize(("latitude", "longitude"), [(91, 2), (41, 181), (41, None), (float("nan"), 2)])
def test_a_point_off_the_map_is_refused(mapped, latitude, longitude):
    _, cycle = mapped
    with pytest.raises(ValidationError):
        places.point_warning(cycle, cycle.districts[0].id, latitude, longitude)


def test_without_boundaries_a_point_never_warns(make_cycle):
    cycle = make_cycle(Phase.PROPOSALS)
    assert places.point_warning(cycle, cycle.districts[0].id, 0, 0) is None


@pytest.mark.parametrize("phase", [Phase.DRAFT, Phase.VOTING, Phase.CLOSED])
def test_an_official_may_upload_one_districts_boundary_in_any_phase(make_user, make_cycle, audit_log, phase):
    official = make_user(Role.OFFICIAL)
    cycle = make_cycle(phase)
    district = places.set_district_boundary(official, cycle.districts[1].id,
                                            json.dumps({"type": "MultiPolygon", "coordinates": [[SOUTH], [NORTH]]}))
    assert places.district_for_point(cycle, 41.5, 2.5) == district
    assert audit_log()[-1][:3] == (official.id, "set-district-boundary", f"district:{district.id}")


@pytest.mark.parametrize("role", [Role.RESIDENT, Role.MODERATOR])
def test_only_officials_upload_boundaries(make_user, make_cycle, snapshot, role):
    cycle, actor = make_cycle(Phase.PROPOSALS), make_user(role)
    before = snapshot()
    with pytest.raises(PermissionDenied):
        places.set_district_boundary(actor, cycle.districts[0].id, json.dumps(_polygon(NORTH)))
    with pytest.raises(PermissionDenied):
        places.set_cycle_boundaries(actor, cycle.id, _collection(North=_polygon(NORTH)))
    assert snapshot() == before


@pytest.mark.parametrize(("document", "message"), [
    (_collection(East=_polygon(NORTH)), "These names match no district of this cycle: East."),
    (json.dumps(_polygon(NORTH)), "Every feature needs a “name” property"),
    (_collection(North=_polygon(NORTH[:-1])), "not closed"),
    ("{", "not valid JSON"),
])
def test_a_bad_cycle_file_is_refused_and_stores_nothing(make_user, make_cycle, snapshot, document, message):
    official = make_user(Role.OFFICIAL)
    cycle = make_cycle(Phase.PROPOSALS)
    before = snapshot()
    with pytest.raises(ValidationError) as refused:
        places.set_cycle_boundaries(official, cycle.id, document)
    assert message in refused.value.message
    assert snapshot() == before


def test_a_boundary_can_be_removed_once(mapped, audit_log):
    official, cycle = mapped
    north = cycle.districts[0]
    places.remove_district_boundary(official, north.id)
    assert north.boundary == "" and audit_log()[-1][1] == "remove-district-boundary"
    with pytest.raises(ValidationError, match="has no boundary"):
        places.remove_district_boundary(official, north.id)


def test_the_ballot_map_holds_the_projects_and_the_results_map_the_funded_ones(mapped, make_project):
    official, cycle = mapped
    north = cycle.districts[0]
    park = make_project(cycle, north, title="Park", latitude=41.5, longitude=2.5)
    lamps = make_project(cycle, north, title="Lamps")
    assert [(entry.number, entry.proposal, entry.has_point) for entry in places.ballot_map(cycle)] == [
        (1, lamps, False), (2, park, True)]
    with pytest.raises(PhaseError):
        places.funded_map(cycle)
    store_count(cycle, official, funded=[park], unfunded=[lamps])
    db.session.refresh(cycle)
    assert [entry.proposal for entry in places.funded_map(cycle)] == [park]
