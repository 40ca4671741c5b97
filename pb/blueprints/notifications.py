"""Leaving a kind of email: the List-Unsubscribe address in every message that is not a security message."""

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_wtf.csrf import CSRFError, validate_csrf
from wtforms.validators import ValidationError as FormValidationError

from pb.domain.errors import DomainError
from pb.domain.notifications import KINDS
from pb.extensions import csrf
from pb.forms import ActionForm
from pb.i18n import translate
from pb.services import mail

bp = Blueprint("notifications", __name__)


@bp.get("/unsubscribe/<token>")
def unsubscribe(token: str):
    """Ask to confirm turning this kind of email off (mail scanners follow links; only a POST changes anything)."""
    kind = mail.read_unsubscribe_token(token)
    if kind is None:
        return render_template("notifications/unsubscribe.html", kind=None, form=ActionForm()), 400
    return render_template("notifications/unsubscribe.html", kind=kind, label=KINDS[kind], form=ActionForm())


@bp.post("/unsubscribe/<token>")
@csrf.exempt  # RFC 8058: a mail client posts "List-Unsubscribe=One-Click" with no page and no token; the link is the key
def unsubscribe_confirmed(token: str):
    """Turn this kind of email off, by one click in a mail client or by the button on the page."""
    is_one_click = request.form.get("List-Unsubscribe") == "One-Click"
    if not is_one_click:
        try:
            validate_csrf(request.form.get("csrf_token"))
        except (CSRFError, FormValidationError):
            flash(_("The form had expired. Please try again."), "error")
            return redirect(url_for("notifications.unsubscribe", token=token))
    try:
        _user, kind = mail.unsubscribe(token)
    except DomainError as error:
        if is_one_click:
            abort(400)
        flash(translate(error.message), "error")
        return render_template("notifications/unsubscribe.html", kind=None, form=ActionForm()), 400
    if is_one_click:
        return "", 204
    return render_template("notifications/unsubscribe.html", kind=kind, label=KINDS[kind], done=True,
                           form=ActionForm())
