"""The one boundary where errors become pages: clear messages and the right status, never a stack trace."""

from flask import Flask, flash, redirect, render_template, request
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

from pb.blueprints.guards import home, safe_target
from pb.domain.errors import (
    BallotError,
    ConflictError,
    DomainError,
    NotFound,
    PermissionDenied,
    PhaseError,
    ValidationError,
)

_STATUS = {NotFound: 404, PermissionDenied: 403, PhaseError: 409, ConflictError: 409, BallotError: 400, ValidationError: 400}

_HTTP_MESSAGES = {
    400: "The request could not be understood. Go back and try again.",
    403: "You do not have permission to open this page.",
    404: "This page does not exist. It may have been removed, or the address may be mistyped.",
    405: "This page cannot be used that way.",
    413: "What you sent is too large.",
}


def _page(title: str, message: str, status: int):
    return render_template("errors/error.html", title=title, message=message, status=status), status


def _domain_error(error: DomainError):
    if request.method == "POST":
        flash(error.message, "error")
        return redirect(safe_target(request.referrer, home()))
    return _page("Not possible", error.message, _STATUS.get(type(error), 400))


def _csrf_error(error: CSRFError):  # noqa: ARG001
    return _page(
        "The form has expired",
        "The form was too old or did not come from this site, so nothing was changed. "
        "Go back, reload the page and try again.",
        400,
    )


def _http_error(error: HTTPException):
    status = error.code or 500
    message = error.description if status == 400 and error.description and "Nothing" in error.description else None
    return _page(error.name, message or _HTTP_MESSAGES.get(status, error.description or ""), status)


def _unexpected(error: Exception):  # pragma: no cover - reached only by bugs; kept so no one sees a stack trace
    from flask import current_app

    current_app.logger.exception("Unexpected error", exc_info=error)
    return _page("Something went wrong", "Nothing was changed. Please try again in a moment.", 500)


def init_app(app: Flask) -> None:
    app.register_error_handler(DomainError, _domain_error)
    app.register_error_handler(CSRFError, _csrf_error)
    app.register_error_handler(HTTPException, _http_error)
    if not app.testing:
        app.register_error_handler(Exception, _unexpected)
