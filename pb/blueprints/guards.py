"""View guards: who may open a page, and where to send someone back to after a refusal."""

import re
from collections.abc import Callable
from functools import wraps
from urllib.parse import urlsplit

from flask import abort, flash, make_response, redirect, request, url_for
from flask_login import current_user, login_required

from pb.domain.errors import DomainError
from pb.i18n import translate


def role_required(check: Callable[[object], bool]) -> Callable:
    """Require a logged-in user for whom `check(user)` holds; others get 403."""

    def decorator(view: Callable) -> Callable:
        @wraps(view)
        @login_required
        def wrapped(*args, **kwargs):
            if not check(current_user):
                abort(403)
            return view(*args, **kwargs)

        return wrapped

    return decorator


moderator_required = role_required(lambda user: user.is_moderator)
official_required = role_required(lambda user: user.is_official)


# Control characters (a browser drops tabs and newlines, turning "/\t/evil" into "//evil") and backslashes (which
# browsers read as slashes, so "/\\evil" is "//evil") never belong in a target we follow.
_UNSAFE_CHARACTERS = re.compile(r"[\x00-\x1f\x7f-\x9f\\]")


def safe_target(target: str | None, fallback: str) -> str:
    """Only ever redirect to a path on this site, never to another host: the one check for every `next` we follow.

    A target is accepted as a path starting with exactly one "/" ("/cycles/1?x=y"), or as an absolute http(s) URL on
    this very host, which is reduced to its path and query. Anything else (another host, a scheme-relative "//host",
    "http://this-host//host" whose path would read as "//host", backslashes, control characters, surrounding spaces,
    other schemes such as "javascript:") gives the fallback.
    """
    if not target or target != target.strip() or _UNSAFE_CHARACTERS.search(target):
        return fallback
    parts = urlsplit(target)
    if parts.scheme or parts.netloc:
        if parts.scheme not in ("http", "https") or parts.netloc != request.host:
            return fallback
        target = parts.path + (f"?{parts.query}" if parts.query else "")
    if not target.startswith("/") or target.startswith("//"):
        return fallback
    return target


def refuse(error: DomainError, back_to: str):
    """Show a refusal as a message and send the user back to where they came from."""
    flash(translate(error.message), "error")
    return redirect(back_to)


def form_errors(form) -> None:
    """Flash every field error of a submitted form, naming the field (a hidden one has no name to give)."""
    for field in form:
        for message in field.errors:
            flash(message if is_hidden(field) or not field.label.text else f"{field.label.text}: {message}", "error")


def is_hidden(field) -> bool:
    """Whether a form field is sent without being shown (a version, the phase a page showed, the CSRF token)."""
    return getattr(field.widget, "input_type", None) == "hidden"


def perform(
    form, action: Callable[[], object], *, back: str, success: str | Callable[[object], str], then: str | None = None
):
    """The shape of every small POST: check the form, run one service call, say what happened, redirect.

    A refused form or service call goes back to `back` with the reason; success goes to `then` (or `back`).
    """
    if not form.validate_on_submit():
        form_errors(form)
        return redirect(back)
    try:
        result = action()
    except DomainError as error:
        return refuse(error, back)
    flash(success(result) if callable(success) else success, "success")
    return redirect(then or back)


def home() -> str:
    return url_for("public.home")


def not_to_be_kept(view: Callable) -> Callable:
    """Send `Cache-Control: no-store` with every answer of a view that may show someone's ballot or receipt.

    A browser's back button or history, or a shared proxy, must not keep a page that shows what a voter chose or the
    receipt that proves it.
    """

    @wraps(view)
    def wrapped(*args, **kwargs):
        response = make_response(view(*args, **kwargs))
        response.headers["Cache-Control"] = "no-store"
        return response

    return wrapped
