"""The language switch: remember the reader's choice and go back to the page it was made on."""

from flask import Blueprint, abort, redirect, request

from pb.blueprints.guards import home, safe_target
from pb.i18n import LANGUAGE_COOKIE, LANGUAGES

bp = Blueprint("language", __name__)

_YEAR_IN_SECONDS = 365 * 24 * 60 * 60


@bp.get("/language/<code>")
def choose(code: str):
    """Remember the chosen language (en, es or pl) and go back to the local page named by `next`."""
    if code not in LANGUAGES:
        abort(404)
    response = redirect(safe_target(request.args.get("next"), home()))
    response.set_cookie(LANGUAGE_COOKIE, code, max_age=_YEAR_IN_SECONDS, samesite="Lax", secure=request.is_secure,
                        httponly=True)
    return response
