"""The read-only open-data JSON API under /api/v1: cycles, districts, projects and published results."""

from flask import Blueprint, jsonify, request, url_for
from werkzeug.exceptions import HTTPException

from pb.api_spec import SPEC
from pb.domain.errors import ConflictError, DomainError, NotFound, PermissionDenied, PhaseError, ValidationError
from pb.domain.numbers import parse_whole_number
from pb.services import open_data

bp = Blueprint("api", __name__, url_prefix="/api/v1")

_STATUS = {NotFound: 404, PermissionDenied: 403, PhaseError: 409, ConflictError: 409, ValidationError: 400}


def _error(status: int, message: str):
    return jsonify(error=message, status=status), status


@bp.errorhandler(DomainError)
def _domain_error(error: DomainError):
    return _error(_STATUS.get(type(error), 400), error.message)


@bp.errorhandler(HTTPException)
def _http_error(error: HTTPException):
    # Anything the framework refuses inside /api/v1 (such as a NUL byte in the query string) is answered in JSON too.
    return _error(error.code or 500, error.description or error.name)


@bp.after_request
def _allow_any_origin(response):
    # Public open data: any web page may read it. No answer depends on who is logged in, so no credentials matter.
    response.headers["Access-Control-Allow-Origin"] = "*"
    response.headers["Access-Control-Allow-Methods"] = "GET, HEAD, OPTIONS"
    response.headers["Access-Control-Allow-Headers"] = "Accept, Content-Type"
    return response


def _whole_number(name: str) -> int | None:
    text = request.args.get(name)
    if text is None:
        return None
    number = parse_whole_number(text)
    if number is None:
        raise ValidationError(f"{name} must be a whole number, like {name}=2.")
    return number


def _page_json(page: open_data.Page, endpoint: str, **values):
    def link(number: int) -> str:
        return url_for(endpoint, **values, page=number, per_page=page.per_page)

    return jsonify(
        items=page.items, page=page.page, per_page=page.per_page, total=page.total,
        links={"next": link(page.page + 1) if page.has_next else None,
               "prev": link(page.page - 1) if page.page > 1 else None},
    )


def _media_links() -> open_data.MediaLinks:
    # Paths on this server, like the paging links: a photo in its medium size, a document as its download.
    return open_data.MediaLinks(
        photo=lambda photo_id: url_for("media.photo", photo_id=photo_id, size="medium"),
        document=lambda document_id: url_for("media.document", document_id=document_id),
    )


def _paging() -> tuple[int, int]:
    return open_data.check_paging(_whole_number("page"), _whole_number("per_page"))


@bp.get("/", strict_slashes=False)
def index():
    """Say what the API offers and where its OpenAPI description is."""
    return jsonify(
        name="pb open data API", version="v1", openapi=url_for(".openapi"), cycles=url_for(".cycles"),
        documentation="docs/api.md in pb's source code",
    )


@bp.get("/openapi.json")
def openapi():
    """Serve the OpenAPI 3.1 description of this API."""
    return jsonify(SPEC)


@bp.get("/cycles")
def cycles():
    """List the public cycles, newest first, a page at a time."""
    page, per_page = _paging()
    return _page_json(open_data.cycle_page(page, per_page), ".cycles")


@bp.get("/cycles/<int:cycle_id>")
def cycle(cycle_id: int):
    """Show one cycle with its phase, districts, categories and rule."""
    return jsonify(open_data.cycle_detail(open_data.public_cycle(cycle_id)))


@bp.get("/cycles/<int:cycle_id>/projects")
def projects(cycle_id: int):
    """List a cycle's projects on the ballot, optionally of one district, a page at a time."""
    cycle = open_data.public_cycle(cycle_id)
    page, per_page = _paging()
    district_id = _whole_number("district")
    found = open_data.project_page(cycle, district_id, page, per_page, _media_links())
    return _page_json(found, ".projects", cycle_id=cycle.id, district=district_id)


@bp.get("/projects/<int:project_id>")
def project(project_id: int):
    """Show one project on the ballot, with its result once results are published."""
    return jsonify(open_data.project_detail(project_id, _media_links()))


@bp.get("/cycles/<int:cycle_id>/results")
def results(cycle_id: int):
    """Show a cycle's published results per district; 409 until they are published."""
    return jsonify(open_data.cycle_results(open_data.public_cycle(cycle_id)))


# Only GET: a write method gets the app's usual 405 page. Routes taking POST would have to be CSRF-protected forms
# (tests/blueprints/test_bad_input.py holds every POST route to that), which a read-only API has no use for.
@bp.get("/<path:unknown>")
def unknown(unknown: str):
    """Answer any other address under /api/v1 with a JSON 404 instead of an HTML page."""
    return _error(404, "There is no such address in the API; see /api/v1/openapi.json.")
