"""The one boundary where errors become pages: clear messages and the right status, never a stack trace."""

import contextlib

from flask import (
    Flask,
    current_app,
    flash,
    jsonify,
    make_response,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from flask_babel import lazy_gettext
from flask_wtf.csrf import CSRFError
from markupsafe import escape
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError
from werkzeug.exceptions import HTTPException, TooManyRequests

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
from pb.i18n import current_language, translate

_STATUS = {NotFound: 404, PermissionDenied: 403, PhaseError: 409, ConflictError: 409, BallotError: 400, ValidationError: 400}

_HTTP_MESSAGES = {
    400: lazy_gettext("The request could not be understood. Go back and try again."),
    403: lazy_gettext("You do not have permission to open this page."),
    404: lazy_gettext("This page does not exist. It may have been removed, or the address may be mistyped."),
    405: lazy_gettext("This page cannot be used that way."),
    413: lazy_gettext("What you sent is too large."),
}
# Werkzeug names the statuses in English only.
_HTTP_TITLES = {
    400: lazy_gettext("Bad Request"),
    403: lazy_gettext("Forbidden"),
    404: lazy_gettext("Not Found"),
    405: lazy_gettext("Method Not Allowed"),
    413: lazy_gettext("Request Entity Too Large"),
}


def _page(title: str, message: str, status: int):
    # An error page must render even when the database cannot give the city's identity (pb.templating).
    request.environ["pb.error_page"] = True
    return render_template("errors/error.html", title=title, message=message, status=status), status


def _domain_error(error: DomainError):
    if request.method == "POST":
        flash(translate(error.message), "error")
        return redirect(safe_target(request.referrer, home()))
    return _page(_("Not possible"), translate(error.message), _STATUS.get(type(error), 400))


def _csrf_error(error: CSRFError):
    return _page(
        _("The form has expired"),
        _("The form was too old or did not come from this site, so nothing was changed. "
          "Go back, reload the page and try again."),
        400,
    )


def _http_error(error: HTTPException):
    status = error.code or 500
    if request.path == "/api/v1" or request.path.startswith("/api/v1/"):
        # Refused while routing (a method the API does not take: 405), before any blueprint handler can answer:
        # API clients still get JSON, with the methods that are allowed.
        response = jsonify(error=error.description or error.name, status=status)
        response.status_code = status
        allowed = dict(error.get_headers()).get("Allow")
        if allowed:
            response.headers["Allow"] = allowed
        response.headers["Access-Control-Allow-Origin"] = "*"
        return response
    message = error.description if status == 400 and error.description and "Nothing" in error.description else None
    title = _HTTP_TITLES.get(status, error.name)
    return _page(title, translate(message) if message else _HTTP_MESSAGES.get(status, error.description or ""), status)


def _too_many_requests(error: TooManyRequests):
    title, status = _("Too many attempts"), 429
    message = _(
        "There were too many attempts from this account or this address in a short time, so this one was not "
        "carried out and nothing was changed. Wait a minute, then try again."
    )
    request.environ["pb.error_page"] = True
    response = make_response(render_template("errors/error.html", title=title, message=message, status=status), status)
    response.headers["Retry-After"] = "60"
    return response


DATABASE_RETRY_AFTER_SECONDS = 30
DATABASE_UNAVAILABLE_TITLE = lazy_gettext("Please try again in a moment")
DATABASE_UNAVAILABLE_MESSAGE = lazy_gettext(
    "pb cannot reach its database just now, so nothing was changed. Please try again in a minute; "
    "if you were sending a form, go back and send it again."
)
# Plain formatting, not a template: templates get the logged-in user from a context processor, and loading the user
# needs the very database that is away.
_UNAVAILABLE_PAGE = """<!doctype html>
<html lang="{language}">
<head>
  <meta charset="utf-8">
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <title>{title} · pb participatory budget</title>
  <link rel="stylesheet" href="{stylesheet}">
</head>
<body>
  <main id="main">
    <h1>{title}</h1>
    <p class="message error">{message}</p>
    <p><a href="{again}">{try_again}</a></p>
  </main>
</body>
</html>
"""


def is_outage(error: BaseException) -> bool:
    # OperationalError covers refused and dropped connections, a server shutting down, "database is locked" and
    # serialization failures: all pass if the request is simply sent again a little later.
    return isinstance(error, (OperationalError, InterfaceError, PoolTimeoutError)) or (
        isinstance(error, DBAPIError) and error.connection_invalidated
    )


def _database_unavailable(error: Exception):
    if not is_outage(error):  # another database error is a bug: handled as before this handler existed
        if current_app.testing:
            raise error
        return _unexpected(error)
    reason = str(getattr(error, "orig", None) or error).strip().splitlines()
    current_app.logger.warning("Database unavailable for %s %s: %s", request.method, request.path,
                               reason[0] if reason else type(error).__name__)
    with contextlib.suppress(Exception):  # the connection may be gone; the pool replaces it at the next checkout
        from pb.extensions import db

        db.session.rollback()
    if request.path.startswith("/api/"):
        response = jsonify(error=str(DATABASE_UNAVAILABLE_MESSAGE), status=503)
    else:
        response = make_response(_UNAVAILABLE_PAGE.format(
            title=escape(str(DATABASE_UNAVAILABLE_TITLE)), message=escape(str(DATABASE_UNAVAILABLE_MESSAGE)),
            stylesheet=escape(url_for("static", filename="pb.css")), again=escape(request.path),
            language=escape(current_language()), try_again=escape(_("Try again"))))
    response.status_code = 503
    response.headers["Retry-After"] = str(DATABASE_RETRY_AFTER_SECONDS)
    return response


def _unexpected(error: Exception):  # pragma: no cover - reached only by bugs; kept so no one sees a stack trace
    from flask import current_app

    current_app.logger.exception("Unexpected error", exc_info=error)
    return _page(_("Something went wrong"), _("Nothing was changed. Please try again in a moment."), 500)


def init_app(app: Flask) -> None:
    app.register_error_handler(DomainError, _domain_error)
    app.register_error_handler(CSRFError, _csrf_error)
    app.register_error_handler(TooManyRequests, _too_many_requests)
    app.register_error_handler(HTTPException, _http_error)
    app.register_error_handler(DBAPIError, _database_unavailable)
    app.register_error_handler(PoolTimeoutError, _database_unavailable)
    if not app.testing:
        app.register_error_handler(Exception, _unexpected)
