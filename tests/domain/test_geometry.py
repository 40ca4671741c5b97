"""District boundaries: reading GeoJSON, refusing bad geometry, point-in-polygon and the drawing projection."""

import json
import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pb.domain import geometry
from pb.domain.errors import ValidationError

SQUARE = [[0, 0], [10, 0], [10, 10], [0, 10], [0, 0]]
HOLE = [[4, 4], [6, 4], [6, 6], [4, 6], [4, 4]]


def _polygon(*rings):
    return {"type": "Polygon", "coordinates": [list(ring) for ring in rings]}


def _feature(geometry_value, name=None):
    return {"type": "Feature", "properties": {"name": name} if name else {}, "geometry": geometry_value}


@pytest.mark.parametrize(("document", "names"), [
    (_polygon(SQUARE), [None]),
    ({"type": "MultiPolygon", "coordinates": [[SQUARE], [[[20, 20], [21, 20], [21, 21], [20, 20]]]]}, [None]),
    (_feature(_polygon(SQUARE), "North"), ["North"]),
    ({"type": "FeatureCollection", "features": [_feature(_polygon(SQUARE), "North"),
                                                 _feature(_polygon(HOLE), "South")]}, ["North", "South"]),
    ({"type": "FeatureCollection", "features": [_feature(_polygon(SQUARE), "North"),
                                                 _feature(_polygon(HOLE), "North")]}, ["North"]),
])
def test_reads_polygons_features_and_collections(document, names):
    boundaries = geometry.read_boundaries(json.dumps(document))
    assert [boundary.name for boundary in boundaries] == names


@pytest.mark.parametrize(("data", "message"), [
    (b"not json at all", "not valid JSON"),
    (b"\xff\xfe\x00garbage", "not text in UTF-8"),
    (b"[1, 2]", "one object"),
    (b'{"type": "Point", "coordinates": [1, 2]}', "expected a Polygon"),
    (json.dumps(_feature({"type": "LineString", "coordinates": [[0, 0], [1, 1]]})).encode(), "not LineString"),
    (json.dumps(_polygon(SQUARE[:-1])).encode(), "not closed"),
    (json.dumps(_polygon([[0, 0], [1, 1], [0, 0]])).encode(), "at least four"),
    (json.dumps(_polygon([[0, 0], [1, 1], [2, 2], [0, 0]])).encode(), "no area"),
    (json.dumps(_polygon([[0, 0], [200, 0], [10, 10], [0, 0]])).encode(), "off the map"),
    (json.dumps(_polygon([[0, 0], [0, 95], [10, 10], [0, 0]])).encode(), "off the map"),
    (b'{"type": "Polygon", "coordinates": [[[0, 0], [NaN, 1], [1, 1], [0, 0]]]}', "not a coordinate"),
    (b'{"type": "Polygon", "coordinates": [[[0, 0], [1e999, 1], [1, 1], [0, 0]]]}', "off the map"),
    (b'{"type": "Polygon", "coordinates": [[[0, 0], ["1", 1], [1, 1], [0, 0]]]}', "two numbers"),
    (b'{"type": "Polygon", "coordinates": [[[0, 0], [true, 1], [1, 1], [0, 0]]]}', "two numbers"),
    (b'{"type": "Polygon", "coordinates": "nope"}', "list of rings"),
    (b'{"type": "Polygon", "coordinates": []}', "list of rings"),
    (b'{"type": "FeatureCollection", "features": []}', "no feature"),
    (b'{"type": "FeatureCollection", "features": [1]}', "must be a Feature"),
    (b'{"type": "Feature", "geometry": null}', "must be an object"),
    (b"[" * 100_000 + b"]" * 100_000, "not valid JSON"),
])
def test_bad_geometry_is_refused_with_a_reason(data, message):
    with pytest.raises(ValidationError) as refused:
        geometry.read_boundaries(data)
    assert message in refused.value.message


def test_a_million_vertices_is_refused():
    ring = [[i % 180 / 10, (i // 180) % 90 / 10] for i in range(1_000_000)] + [[0, 0]]
    with pytest.raises(ValidationError, match="larger than 5 MB"):
        geometry.read_boundaries(json.dumps(_polygon(ring)).encode())


def test_too_many_vertices_under_the_byte_cap_is_refused():
    ring = [[0, 0], *([[1, 1]] * geometry.MAX_VERTICES), [0, 1], [0, 0]]
    with pytest.raises(ValidationError, match="more than 50000 points"):
        geometry.read_boundaries(json.dumps(_polygon(ring), separators=(",", ":")))


@pytest.mark.parametrize(("latitude", "longitude", "inside"), [
    (5, 2, True), (5, 5, False), (-1, 5, False), (5, 11, False), (9.9, 0.1, True), (4.5, 6.5, True),
])
def test_point_in_polygon_with_a_hole(latitude, longitude, inside):
    shape = geometry.read_boundaries(json.dumps(_polygon(SQUARE, HOLE)))[0].shape
    assert geometry.contains(shape, latitude, longitude) is inside


def test_stored_text_reads_back_the_same_shape():
    shape = geometry.read_boundaries(json.dumps(_polygon(SQUARE, HOLE)))[0].shape
    assert geometry.from_text(geometry.to_text(shape)) == shape
    assert geometry.from_text("") == ()


@pytest.mark.parametrize(("latitude", "longitude"), [(91, 0), (-91, 0), (0, 181), (0, -180.5),
                                                     (math.nan, 0), (0, math.inf)])
def test_points_off_the_map_are_refused(latitude, longitude):
    with pytest.raises(ValidationError):
        geometry.check_point(latitude, longitude)


def test_bounding_box_holds_shapes_and_points():
    shape = geometry.read_boundaries(json.dumps(_polygon(SQUARE)))[0].shape
    assert geometry.bounding_box([shape], [(12, -3)]) == (-3, 0, 10, 12)
    assert geometry.bounding_box([]) is None


boxes = st.tuples(st.floats(-170, 169), st.floats(-80, 79), st.floats(0.0001, 10), st.floats(0.0001, 10))


@settings(max_examples=200, deadline=None)
@given(boxes, st.floats(0, 1), st.floats(0, 1))
def test_projection_keeps_points_of_the_box_on_the_drawing(box, fraction_x, fraction_y):
    west, south, width, height = box
    east, north = west + width, min(south + height, 90)
    projection = geometry.Projection((west, south, east, north), 400, 300)
    x, y = projection.point(south + (north - south) * fraction_y, west + (east - west) * fraction_x)
    assert -0.1 <= x <= 400.1 and -0.1 <= y <= 300.1
    # North is up: a point further north is drawn higher.
    _, y_north = projection.point(north, west)
    _, y_south = projection.point(south, west)
    assert y_north <= y_south


@settings(max_examples=200, deadline=None)
@given(st.floats(-60, 60), st.floats(-170, 170), st.floats(0.001, 5), st.floats(0.01, 0.99), st.floats(0.01, 0.99))
def test_a_point_strictly_inside_a_rectangle_is_inside_and_outside_it_is_not(south, west, size, fraction_y, fraction_x):
    north, east = south + size, west + size
    ring = [[west, south], [east, south], [east, north], [west, north], [west, south]]
    shape = geometry.read_boundaries(json.dumps(_polygon(ring)))[0].shape
    (west, south), (east, north) = shape[0][0][0], shape[0][0][2]
    latitude, longitude = south + (north - south) * fraction_y, west + (east - west) * fraction_x
    assert geometry.contains(shape, latitude, longitude)
    assert not geometry.contains(shape, north + size, longitude)
    assert not geometry.contains(shape, latitude, west - size)


@settings(max_examples=100, deadline=None)
@given(st.recursive(st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=5),
                    lambda children: st.lists(children, max_size=4) | st.dictionaries(
                        st.sampled_from(["type", "coordinates", "features", "geometry", "properties"]) | st.text(max_size=3),
                        children, max_size=4), max_leaves=30),
       st.sampled_from(["Polygon", "MultiPolygon", "Feature", "FeatureCollection", None]))
def test_any_json_is_read_or_refused_never_crashes(value, kind):
    document = {"type": kind, "coordinates": value, "features": value, "geometry": value} if kind else value
    try:
        geometry.read_boundaries(json.dumps(document))
    except ValidationError:
        pass
