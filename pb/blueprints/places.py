"""Places: district boundaries uploaded by officials, and maps drawn on the server (SVG, no JavaScript needed)."""

import re
from pathlib import Path
from urllib.parse import urlsplit

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user
from markupsafe import Markup, escape

from pb.blueprints.guards import form_errors, official_required, perform, refuse
from pb.blueprints.public import visible_cycle
from pb.domain import geometry
from pb.domain.errors import DomainError
from pb.forms import ActionForm, BoundaryForm, options
from pb.i18n import translate
from pb.models import Cycle, Proposal
from pb.security import CONTENT_SECURITY_POLICY
from pb.services import cycles, places

bp = Blueprint("places", __name__)

_UPLOAD_ENDPOINT = "places.boundaries"
WIDTH, HEIGHT = 640, 480
SMALL_WIDTH, SMALL_HEIGHT = 320, 240
# Installed from the npm registry by pb/static/vendor/fetch_leaflet.sh (package.json + package-lock.json pin it).
LEAFLET_SCRIPT = "vendor/node_modules/leaflet/dist/leaflet.js"
LEAFLET_STYLE = "vendor/node_modules/leaflet/dist/leaflet.css"


@bp.url_value_preprocessor
def _allow_boundary_files(endpoint, values) -> None:
    # Before anything reads the body: only the boundary upload may exceed the app-wide limit, up to its own cap.
    if endpoint == _UPLOAD_ENDPOINT:
        request.max_content_length = geometry.MAX_BOUNDARY_BYTES + 64 * 1024


# --- drawing ------------------------------------------------------------------------------------------------------

def _path(shape: geometry.MultiPolygon, projection: geometry.Projection) -> str:
    """An SVG path of the shape; points closer than a pixel to the last one drawn are left out (pages stay small)."""
    parts: list[str] = []
    for polygon in shape:
        for ring in polygon:
            drawn: list[tuple[float, float]] = []
            for longitude, latitude in ring:
                x, y = projection.point(latitude, longitude)
                if drawn and abs(x - drawn[-1][0]) < 1 and abs(y - drawn[-1][1]) < 1:
                    continue
                drawn.append((x, y))
            if len(drawn) >= 3:
                parts.append("M" + "L".join(f"{x:g} {y:g}" for x, y in drawn) + "Z")
    return "".join(parts)


def draw_map(cycle: Cycle, entries: list[places.MapEntry], label: str, *, district_ids: set[int] | None = None,
             width: int = WIDTH, height: int = HEIGHT, is_linked: bool = True) -> Markup | None:
    """The SVG of the districts' outlines and the numbered markers, each a link to its project; None if nothing to draw.

    Every text put in the markup is escaped here.
    """
    shapes = {district_id: shape for district_id, shape in places.shapes(cycle).items()
              if district_ids is None or district_id in district_ids}
    points = [(entry.latitude, entry.longitude) for entry in entries if entry.has_point]
    box = geometry.bounding_box(shapes.values(), points)
    if box is None:
        return None
    projection = geometry.Projection(box, width, height)
    names = {district.id: district.name for district in cycle.districts}
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" class="map" viewBox="0 0 {width} {height}" role="group" '
             f'aria-label="{escape(label)}">']
    for district_id, shape in shapes.items():
        parts.append(f'<path class="district" fill-rule="evenodd" d="{_path(shape, projection)}">'
                     f'<title>{escape(names.get(district_id, ""))}</title></path>')
    for entry in entries:
        if not entry.has_point:
            continue
        x, y = projection.point(entry.latitude, entry.longitude)
        title = escape(f"{entry.number}. {entry.proposal.title}")
        marker = (f'<title>{title}</title><circle class="marker" cx="{x:g}" cy="{y:g}" r="11"/>'
                  f'<text class="marker-number" x="{x:g}" y="{y + 4:g}" text-anchor="middle">{entry.number}</text>')
        if is_linked:
            href = escape(url_for("public.proposal", proposal_id=entry.proposal.id))
            parts.append(f'<a href="{href}" id="marker-{entry.proposal.id}">{marker}</a>')
        else:
            parts.append(f'<g>{marker}</g>')
    parts.append("</svg>")
    return Markup("".join(parts))  # nosec B704: built above, every text escaped


# --- public maps --------------------------------------------------------------------------------------------------

def _map_page(cycle: Cycle, entries: list[places.MapEntry], heading: str, *, is_funded: bool):
    svg = draw_map(cycle, entries, heading)
    return render_template(
        "places/map.html", cycle=cycle, entries=entries, heading=heading, svg=svg, is_funded=is_funded,
        tiles=_tile_settings(), placed=sum(1 for entry in entries if entry.has_point),
    )


def _tile_settings() -> dict | None:
    """The city's tile server for the optional interactive map, when set and Leaflet is installed; else None."""
    tile_url = current_app.config.get("MAP_TILE_URL")  # PB_MAP_TILE_URL in the environment
    if not tile_url or not _has_leaflet():
        return None
    return {"url": tile_url, "attribution": current_app.config.get("MAP_ATTRIBUTION") or ""}


def _has_leaflet() -> bool:
    return (Path(current_app.static_folder) / LEAFLET_SCRIPT).is_file()


def _tile_origin(tile_url: str) -> str:
    """The origin the tiles come from, for the page's Content-Security-Policy ({s} subdomains become *)."""
    parts = urlsplit(tile_url.replace("{s}.", "*."))
    if parts.scheme not in ("http", "https") or not re.fullmatch(r"[A-Za-z0-9.*-]+(:[0-9]+)?", parts.netloc):
        return ""
    return f"{parts.scheme}://{parts.netloc}"


# The pages that may show the interactive map: the two maps, and the proposal form's point picker.
_TILED_ENDPOINTS = frozenset({"places.ballot_map", "places.results_map", "proposals.new", "proposals.edit"})


@bp.after_app_request
def _allow_tiles(response):
    # Only these pages, and only when a tile server is set, may load images from it; every other page keeps
    # img-src 'self' (pb.security adds its own policy only where none is set).
    tiles = _tile_settings() if request.endpoint in _TILED_ENDPOINTS else None
    origin = _tile_origin(tiles["url"]) if tiles else ""
    if origin:
        response.headers["Content-Security-Policy"] = CONTENT_SECURITY_POLICY.replace(
            "img-src 'self' data:", f"img-src 'self' data: {origin}")
    return response


@bp.get("/cycles/<int:cycle_id>/map")
def ballot_map(cycle_id: int):
    """A map of every project on the cycle's ballots, with the list beside it."""
    cycle = visible_cycle(cycle_id)
    return _map_page(cycle, places.ballot_map(cycle), _("Map of the projects on the ballot"), is_funded=False)


@bp.get("/cycles/<int:cycle_id>/results/map")
def results_map(cycle_id: int):
    """A map of the funded projects, once the results are published."""
    cycle = visible_cycle(cycle_id)
    try:
        entries = places.funded_map(cycle)
    except DomainError as error:
        return refuse(error, url_for("public.cycle", cycle_id=cycle.id))
    return _map_page(cycle, entries, _("Map of the funded projects"), is_funded=True)


@bp.app_template_global()
def proposal_place(proposal: Proposal) -> dict | None:
    """What the proposal page shows of its place: a small map of its district with the point; None without a point."""
    if proposal.latitude is None or proposal.longitude is None:
        return None
    entry = places.MapEntry(1, proposal, proposal.latitude, proposal.longitude)
    district = places.district_for_point(proposal.cycle, proposal.latitude, proposal.longitude)
    svg = draw_map(proposal.cycle, [entry], _("Where the project is"), district_ids={proposal.district_id},
                   width=SMALL_WIDTH, height=SMALL_HEIGHT, is_linked=False)
    return {"svg": svg, "latitude": proposal.latitude, "longitude": proposal.longitude,
            "is_outside": places.has_boundaries(proposal.cycle) and (district is None
                                                                   or district.id != proposal.district_id)}


@bp.app_template_global()
def map_tiles() -> dict | None:
    """The tile server and Leaflet for the optional interactive map (the proposal form's point picker), or None."""
    return _tile_settings()


@bp.app_template_global()
def has_boundaries(cycle: Cycle) -> bool:
    """Whether the cycle's districts have boundaries (then a point tells the district)."""
    return places.has_boundaries(cycle)


# --- officials: boundaries ----------------------------------------------------------------------------------------

def _boundary_form(cycle: Cycle) -> BoundaryForm:
    form = BoundaryForm()
    form.district_id.choices = options(
        [(0, _("Every district: the file's features are matched by their “name” property"))]
        + [(district.id, district.name) for district in cycle.districts]
    )
    return form


def _boundaries_page(cycle: Cycle, form: BoundaryForm, status: int = 200):
    entries = places.ballot_map(cycle)
    svg = draw_map(cycle, [], _("The districts' boundaries"))
    return render_template("places/boundaries.html", cycle=cycle, form=form, svg=svg, entries=entries,
                           action_form=ActionForm(), shapes=places.shapes(cycle)), status


@bp.route("/admin/cycles/<int:cycle_id>/boundaries", methods=["GET", "POST"])
@official_required
def boundaries(cycle_id: int):
    """Officials upload the districts' boundaries (GeoJSON), for one district or the whole cycle by name."""
    cycle = cycles.get_cycle(cycle_id)
    form = _boundary_form(cycle)
    if not form.is_submitted():
        return _boundaries_page(cycle, form)
    if not form.validate_on_submit():
        form_errors(form)
        return _boundaries_page(cycle, form, 400)
    data = form.file.data.read(geometry.MAX_BOUNDARY_BYTES + 1)
    try:
        if form.district_id.data:
            changed = [places.set_district_boundary(current_user, form.district_id.data, data)]
        else:
            changed = places.set_cycle_boundaries(current_user, cycle.id, data)
    except DomainError as error:
        flash(translate(error.message), "error")
        return _boundaries_page(cycle, form, 400)
    flash(ngettext("The boundary of %(names)s is saved.", "The boundaries of %(names)s are saved.", len(changed),
                   names=", ".join(district.name for district in changed)), "success")
    return redirect(url_for("places.boundaries", cycle_id=cycle.id))


@bp.post("/admin/districts/<int:district_id>/boundary/remove")
@official_required
def remove_boundary(district_id: int):
    """Remove one district's boundary."""
    district = cycles.get_district_by_id(district_id)
    back = url_for("places.boundaries", cycle_id=district.cycle_id)
    return perform(
        ActionForm(), lambda: places.remove_district_boundary(current_user, district_id), back=back,
        success=lambda removed: _("The boundary of %(name)s is removed.", name=removed.name),
    )
