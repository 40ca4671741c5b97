"""District boundaries and project points: reading GeoJSON, checking it, point-in-district, and drawing projection."""

import json
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from pb.domain.errors import ValidationError
from pb.domain.messages import N_

MAX_BOUNDARY_BYTES = 5 * 1024 * 1024
MAX_VERTICES = 50_000  # per district: a city's detailed outline has a few thousand
MAX_DECIMALS = 6  # about 10 cm: more is noise and bytes

Position = tuple[float, float]  # (longitude, latitude), GeoJSON's order
Ring = tuple[Position, ...]
Polygon = tuple[Ring, ...]  # the outer ring, then its holes
MultiPolygon = tuple[Polygon, ...]


@dataclass(frozen=True)
class NamedBoundary:
    """One boundary read from a file, with the name its feature carries (None for a bare geometry)."""

    name: str | None
    shape: MultiPolygon


def check_point(latitude: float, longitude: float) -> None:
    """Refuse a point that is not on the Earth's map."""
    if not (isinstance(latitude, int | float) and isinstance(longitude, int | float)) or isinstance(latitude, bool) \
            or isinstance(longitude, bool) or not (math.isfinite(latitude) and math.isfinite(longitude)):
        raise ValidationError(N_("The latitude and longitude must be numbers."))
    if not -90 <= latitude <= 90:
        raise ValidationError(N_("The latitude must be between -90 and 90 degrees."))
    if not -180 <= longitude <= 180:
        raise ValidationError(N_("The longitude must be between -180 and 180 degrees."))


def _refuse_constant(name: str) -> None:
    raise ValidationError(N_("The file holds {value}, which is not a coordinate.", value=name))


def load_json(data: bytes | str) -> object:
    """The file's JSON, or a refusal saying why it cannot be read."""
    if len(data) > MAX_BOUNDARY_BYTES:
        raise ValidationError(N_("The file is larger than 5 MB. Simplify the boundaries (for example with mapshaper) "
                                 "and upload it again."))
    if isinstance(data, bytes):
        try:
            data = data.decode("utf-8-sig")
        except UnicodeDecodeError:
            raise ValidationError(N_("The file is not GeoJSON: it is not text in UTF-8.")) from None
    if not data.strip():
        raise ValidationError(N_("The file is empty."))
    try:
        return json.loads(data, parse_constant=_refuse_constant)
    except (ValueError, RecursionError):
        raise ValidationError(N_("The file is not GeoJSON: it is not valid JSON.")) from None


def _position(value: object, counter: list[int]) -> Position:
    counter[0] += 1
    if counter[0] > MAX_VERTICES:
        raise ValidationError(N_("A boundary has more than {limit} points. Simplify it (for example with mapshaper) "
                                 "and upload it again.", limit=MAX_VERTICES))
    if not isinstance(value, list) or len(value) not in (2, 3) or not all(
            isinstance(number, int | float) and not isinstance(number, bool) for number in value):
        raise ValidationError(N_("A position must be a longitude and a latitude, two numbers."))
    longitude, latitude = value[0], value[1]
    if not (math.isfinite(longitude) and math.isfinite(latitude)) or not -180 <= longitude <= 180 \
            or not -90 <= latitude <= 90:
        raise ValidationError(N_("A position is off the map: longitude must be between -180 and 180, latitude "
                                 "between -90 and 90 (GeoJSON puts the longitude first)."))
    return round(float(longitude), MAX_DECIMALS), round(float(latitude), MAX_DECIMALS)


def _ring(value: object, counter: list[int]) -> Ring:
    if not isinstance(value, list):
        raise ValidationError(N_("A polygon's ring must be a list of positions."))
    ring = tuple(_position(position, counter) for position in value)
    if len(ring) < 4:
        raise ValidationError(N_("A polygon's ring needs at least four positions (a triangle and its first point again)."))
    if ring[0] != ring[-1]:
        raise ValidationError(N_("A polygon's ring is not closed: its last position must repeat its first."))
    if ring_area(ring) == 0:
        raise ValidationError(N_("A polygon's ring has no area: its points lie on one line."))
    return ring


def _polygon(value: object, counter: list[int]) -> Polygon:
    if not isinstance(value, list) or not value:
        raise ValidationError(N_("A polygon must be a list of rings."))
    return tuple(_ring(ring, counter) for ring in value)


def _geometry(value: object, counter: list[int]) -> MultiPolygon:
    if not isinstance(value, dict):
        raise ValidationError(N_("The file is not GeoJSON: a geometry must be an object with a type."))
    kind, coordinates = value.get("type"), value.get("coordinates")
    if kind == "Polygon":
        return (_polygon(coordinates, counter),)
    if kind == "MultiPolygon":
        if not isinstance(coordinates, list) or not coordinates:
            raise ValidationError(N_("A MultiPolygon must be a list of polygons."))
        return tuple(_polygon(polygon, counter) for polygon in coordinates)
    raise ValidationError(N_("A district boundary must be a Polygon or a MultiPolygon, not {kind}.",
                             kind=str(kind)[:40] if kind is not None else "nothing"))


def _feature_name(feature: dict) -> str | None:
    properties = feature.get("properties")
    if not isinstance(properties, dict):
        return None
    for key in ("name", "Name", "NAME", "district"):
        if isinstance(properties.get(key), str) and properties[key].strip():
            return properties[key].strip()
    return None


def read_boundaries(data: bytes | str) -> list[NamedBoundary]:
    """Every boundary a GeoJSON file holds: a Polygon or MultiPolygon, a Feature, or a FeatureCollection of them.

    Features with the same name become one MultiPolygon; the vertex cap counts each name's points.
    """
    document = load_json(data)
    if not isinstance(document, dict):
        raise ValidationError(N_("The file is not GeoJSON: it must be one object with a type."))
    kind = document.get("type")
    if kind in ("Polygon", "MultiPolygon"):
        return [NamedBoundary(None, _geometry(document, [0]))]
    if kind == "Feature":
        features = [document]
    elif kind == "FeatureCollection":
        features = document.get("features")
        if not isinstance(features, list) or not features:
            raise ValidationError(N_("The FeatureCollection holds no feature."))
    else:
        raise ValidationError(N_("The file is not GeoJSON of district boundaries: expected a Polygon, a "
                                 "MultiPolygon, a Feature or a FeatureCollection."))
    shapes: dict[str | None, list[Polygon]] = {}
    counters: dict[str | None, list[int]] = {}
    for feature in features:
        if not isinstance(feature, dict) or feature.get("type") != "Feature":
            raise ValidationError(N_("Each item of a FeatureCollection must be a Feature."))
        name = _feature_name(feature)
        counter = counters.setdefault(name, [0])
        shapes.setdefault(name, []).extend(_geometry(feature.get("geometry"), counter))
    return [NamedBoundary(name, tuple(polygons)) for name, polygons in shapes.items()]


def merged(boundaries: Iterable[NamedBoundary]) -> MultiPolygon:
    """All the boundaries as one shape (a file uploaded for one district)."""
    shape = tuple(polygon for boundary in boundaries for polygon in boundary.shape)
    if sum(len(ring) for polygon in shape for ring in polygon) > MAX_VERTICES:
        raise ValidationError(N_("A boundary has more than {limit} points. Simplify it (for example with mapshaper) "
                                 "and upload it again.", limit=MAX_VERTICES))
    return shape


def to_text(shape: MultiPolygon) -> str:
    """The shape as compact GeoJSON, as stored."""
    coordinates = [[[list(position) for position in ring] for ring in polygon] for polygon in shape]
    return json.dumps({"type": "MultiPolygon", "coordinates": coordinates}, separators=(",", ":"))


def from_text(text: str | None) -> MultiPolygon:
    """A stored shape (empty when the district has no boundary)."""
    if not text:
        return ()
    return _geometry(json.loads(text), [-10 * MAX_VERTICES])


def ring_area(ring: Sequence[Position]) -> float:
    """The ring's signed area in square degrees (shoelace); zero for a degenerate ring."""
    return sum(x1 * y2 - x2 * y1 for (x1, y1), (x2, y2) in zip(ring, ring[1:], strict=False)) / 2


def _crossings(ring: Ring, longitude: float, latitude: float) -> bool:
    inside = False
    for (x1, y1), (x2, y2) in zip(ring, ring[1:], strict=False):
        if (y1 > latitude) != (y2 > latitude):
            crossing = x1 + (latitude - y1) * (x2 - x1) / (y2 - y1)
            if longitude < crossing:
                inside = not inside
    return inside


def contains(shape: MultiPolygon, latitude: float, longitude: float) -> bool:
    """Whether the point lies inside the shape: inside an outer ring and outside its holes (ray casting)."""
    for polygon in shape:
        if _crossings(polygon[0], longitude, latitude) and not any(
                _crossings(hole, longitude, latitude) for hole in polygon[1:]):
            return True
    return False


BoundingBox = tuple[float, float, float, float]  # west, south, east, north


def bounding_box(shapes: Iterable[MultiPolygon], points: Iterable[tuple[float, float]] = ()) -> BoundingBox | None:
    """The smallest box holding every shape and every (latitude, longitude) point; None when there is nothing."""
    longitudes: list[float] = []
    latitudes: list[float] = []
    for shape in shapes:
        for polygon in shape:
            for longitude, latitude in polygon[0]:
                longitudes.append(longitude)
                latitudes.append(latitude)
    for latitude, longitude in points:
        longitudes.append(longitude)
        latitudes.append(latitude)
    if not longitudes:
        return None
    return min(longitudes), min(latitudes), max(longitudes), max(latitudes)


@dataclass(frozen=True)
class Projection:
    """Equirectangular drawing of a box, longitudes scaled by cos(mid-latitude), fitted into width × height."""

    box: BoundingBox
    width: float
    height: float
    margin: float = 12

    @property
    def _scale(self) -> tuple[float, float]:
        west, south, east, north = self.box
        stretch = max(math.cos(math.radians((south + north) / 2)), 0.01)
        span_x = max((east - west) * stretch, 1e-6)
        span_y = max(north - south, 1e-6)
        scale = min((self.width - 2 * self.margin) / span_x, (self.height - 2 * self.margin) / span_y)
        return scale, stretch

    def point(self, latitude: float, longitude: float) -> tuple[float, float]:
        """Where a point falls on the drawing, in pixels from its top left corner."""
        west, south, east, north = self.box
        scale, stretch = self._scale
        used_x = (east - west) * stretch * scale
        used_y = (north - south) * scale
        x = (self.width - used_x) / 2 + (longitude - west) * stretch * scale
        y = (self.height - used_y) / 2 + (north - latitude) * scale
        return round(x, 1), round(y, 1)
