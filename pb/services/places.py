"""Where projects are: district boundaries uploaded by officials, the district a point lies in, and map contents."""

from dataclasses import dataclass

from sqlalchemy import select

from pb.domain import geometry
from pb.domain.errors import PermissionDenied, ValidationError
from pb.domain.messages import N_
from pb.extensions import db
from pb.models import Cycle, District, Proposal, ProposalStatus, User
from pb.services import audit, load, tallying, use_case


def _require_official(actor: User) -> None:
    if not actor.is_official:
        raise PermissionDenied("Only officials can upload district boundaries.")


def _store(actor: User, district: District, shape: geometry.MultiPolygon) -> None:
    before = {"points": _point_count(district.boundary)}
    district.boundary = geometry.to_text(shape)
    audit.record(actor, "set-district-boundary", f"district:{district.id}", cycle_id=district.cycle_id,
                 before=before, after={"points": _point_count(district.boundary)})


def _point_count(text: str) -> int:
    return sum(len(ring) for polygon in geometry.from_text(text) for ring in polygon)


@use_case
def set_district_boundary(actor: User, district_id: int, geojson: bytes | str) -> District:
    """An official uploads one district's boundary (every polygon in the file is the district's); any phase, audited."""
    _require_official(actor)
    district = load(District, district_id, "district")
    _store(actor, district, geometry.merged(geometry.read_boundaries(geojson)))
    return district


@use_case
def set_cycle_boundaries(actor: User, cycle_id: int, geojson: bytes | str) -> list[District]:
    """An official uploads a FeatureCollection for the whole cycle: each feature's name property names its district."""
    _require_official(actor)
    cycle = load(Cycle, cycle_id, "cycle")
    boundaries = geometry.read_boundaries(geojson)
    by_name = {district.name.casefold(): district for district in cycle.districts}
    unnamed = [boundary for boundary in boundaries if boundary.name is None]
    if unnamed:
        raise ValidationError(N_("Every feature needs a “name” property naming its district; or upload the file "
                                 "for one district below."))
    unknown = sorted(boundary.name for boundary in boundaries if boundary.name.casefold() not in by_name)
    if unknown:
        raise ValidationError(N_("These names match no district of this cycle: {names}. The districts are: "
                                 "{districts}.", names=", ".join(unknown)[:300],
                                 districts=", ".join(district.name for district in cycle.districts)))
    changed = []
    for boundary in boundaries:
        district = by_name[boundary.name.casefold()]
        _store(actor, district, geometry.merged([boundary]))
        changed.append(district)
    return changed


@use_case
def remove_district_boundary(actor: User, district_id: int) -> District:
    """An official removes a district's boundary (audited)."""
    _require_official(actor)
    district = load(District, district_id, "district")
    if not district.boundary:
        raise ValidationError(N_("{district} has no boundary to remove.", district=district.name))
    audit.record(actor, "remove-district-boundary", f"district:{district.id}", cycle_id=district.cycle_id,
                 before={"points": _point_count(district.boundary)})
    district.boundary = ""
    return district


def shapes(cycle: Cycle) -> dict[int, geometry.MultiPolygon]:
    """Each district's boundary by district id, for the districts that have one."""
    return {district.id: geometry.from_text(district.boundary) for district in cycle.districts if district.boundary}


def has_boundaries(cycle: Cycle) -> bool:
    return any(district.boundary for district in cycle.districts)


def district_for_point(cycle: Cycle, latitude: float, longitude: float) -> District | None:
    """The cycle's district whose boundary holds the point; None outside every one (or without boundaries)."""
    for district_id, shape in shapes(cycle).items():
        if geometry.contains(shape, latitude, longitude):
            return next(district for district in cycle.districts if district.id == district_id)
    return None


def point_warning(cycle: Cycle, district_id: int | None, latitude: float | None, longitude: float | None) -> str | None:
    """What to tell the author when the point and the chosen district disagree; None when they agree or can't be told.

    A point off the map is refused (ValidationError); a point elsewhere only warns: boundaries may be rough.
    """
    if latitude is None and longitude is None:
        return None
    if latitude is None or longitude is None:
        raise ValidationError(N_("Give both the latitude and the longitude, or neither."))
    geometry.check_point(latitude, longitude)
    if not has_boundaries(cycle):
        return None
    found = district_for_point(cycle, latitude, longitude)
    if found is None:
        return N_("The point lies outside every district of this cycle.")
    if district_id is not None and found.id != district_id:
        return N_("The point lies in {found}, not in the district you chose.", found=found.name)
    return None


@dataclass(frozen=True)
class MapEntry:
    """A project on a map: its number on the drawing, and its point if it has one."""

    number: int
    proposal: Proposal
    latitude: float | None
    longitude: float | None

    @property
    def has_point(self) -> bool:
        return self.latitude is not None and self.longitude is not None


def _entries(projects: list[Proposal]) -> list[MapEntry]:
    return [MapEntry(number, project, project.latitude, project.longitude)
            for number, project in enumerate(projects, start=1)]


def ballot_map(cycle: Cycle) -> list[MapEntry]:
    """Every project on the cycle's ballots, district by district."""
    projects = db.session.scalars(
        select(Proposal).where(Proposal.cycle_id == cycle.id, Proposal.status == ProposalStatus.ACCEPTED)
        .order_by(Proposal.district_id, Proposal.title, Proposal.id)
    ).all()
    return _entries(list(projects))


def funded_map(cycle: Cycle) -> list[MapEntry]:
    """The funded projects of the published results (a PhaseError before they are published)."""
    runs = tallying.published_runs(cycle)
    funded = {result.project_id for run in runs.values() for result in run.results if result.is_funded}
    if not funded:
        return []
    projects = db.session.scalars(
        select(Proposal).where(Proposal.id.in_(funded)).order_by(Proposal.district_id, Proposal.title, Proposal.id)
    ).all()
    return _entries(list(projects))
