"""The city's identity: the officials' page to set it, and the files every page takes from it (logo, colours, icon)."""

import hashlib
import os

from flask import Blueprint, abort, current_app, flash, make_response, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from werkzeug.exceptions import RequestEntityTooLarge
from wtforms import BooleanField, StringField, TextAreaField
from wtforms.validators import Length

from pb.blueprints.guards import official_required
from pb.domain.errors import DomainError
from pb.i18n import translate
from pb.services import branding

bp = Blueprint("identity", __name__)

# A year: the URLs of the logo and the stylesheet carry a version, so a change is a new URL.
FOREVER = "public, max-age=31536000, immutable"
# /favicon.ico has one URL for ever, so a changed logo must reach browsers within a day.
A_DAY = "public, max-age=86400"
DEFAULT_ICON = "favicon.ico"


class IdentityForm(FlaskForm):
    """The city's name, logo, colours and contact details; every field may be left empty (pb's default)."""

    name = StringField(_l("Name of the platform"), validators=[Length(max=branding.MAX_NAME)])
    tagline = StringField(_l("Tagline (optional)"), validators=[Length(max=branding.MAX_TAGLINE)])
    logo = FileField(_l("Logo (PNG, JPEG or WebP, at most 2 MB)"))
    logo_alt = StringField(_l("Describe the logo for people who cannot see it"),
                           validators=[Length(max=branding.MAX_ALT)])
    remove_logo = BooleanField(_l("Remove the logo"))
    primary_colour = StringField(_l("Main colour (links and buttons)"))
    header_colour = StringField(_l("Colour of the header band"))
    contact_address = TextAreaField(_l("Postal address"), validators=[Length(max=branding.MAX_LONG_TEXT)])
    contact_phone = StringField(_l("Phone"), validators=[Length(max=branding.MAX_PHONE)])
    contact_email = StringField(_l("Email"), validators=[Length(max=branding.MAX_EMAIL)])
    opening_hours = TextAreaField(_l("Opening hours"), validators=[Length(max=branding.MAX_LONG_TEXT)])


_SETTINGS = ("name", "tagline", "logo_alt", "primary_colour", "header_colour", "contact_address", "contact_phone",
             "contact_email", "opening_hours")


@bp.url_value_preprocessor
def _allow_logo_size(endpoint, values) -> None:
    # Runs before anything reads the body: the identity form may carry one logo file above the app-wide limit.
    if endpoint == "identity.edit":
        request.max_content_length = branding.MAX_LOGO_BYTES + 64 * 1024


@bp.errorhandler(RequestEntityTooLarge)
def _too_large(error):
    """A logo over the limit: said on the identity page, rather than a bare 413."""
    flash(_("The logo file is too large: at most %(megabytes)s MB. Nothing was saved.",
            megabytes=branding.MAX_LOGO_BYTES // (1024 * 1024)), "error")
    return redirect(url_for("identity.edit"), 303)


@bp.route("/admin/identity", methods=["GET", "POST"])
@official_required
def edit():
    """Officials set the platform's name, logo, colours (checked for contrast) and contact details."""
    form = IdentityForm()
    identity = branding.current()
    if form.validate_on_submit():
        upload = form.logo.data
        logo = upload.read() if upload and getattr(upload, "filename", "") else None
        settings = branding.IdentitySettings(**{name: getattr(form, name).data or "" for name in _SETTINGS})
        try:
            branding.save(current_user, settings, logo=logo, remove_logo=bool(form.remove_logo.data))
        except branding.IdentityError as error:
            getattr(form, error.field).errors = [*getattr(form, error.field).errors, translate(error.message)]
            return render_template("identity/edit.html", form=form, identity=identity), 400
        except DomainError as error:
            flash(translate(error.message), "error")
            return render_template("identity/edit.html", form=form, identity=identity), 400
        flash(_("The city's identity is saved: every page shows it now."), "success")
        return redirect(url_for("identity.edit"))
    if not form.is_submitted():
        for name, value in vars(branding.settings_of(identity)).items():
            getattr(form, name).data = value
    return render_template("identity/edit.html", form=form, identity=identity), 400 if form.errors else 200


def _cached(response, etag: str, cache_control: str):
    response.set_etag(etag)
    response.headers["Cache-Control"] = cache_control
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response.make_conditional(request)


def _image(content: bytes, content_type: str, etag: str, cache_control: str):
    response = make_response(content)
    response.headers["Content-Type"] = content_type
    response.headers["Cross-Origin-Resource-Policy"] = "same-origin"
    return _cached(response, etag, cache_control)


@bp.get("/identity/logo/<version>")
def logo(version: str):
    """The city's logo (re-encoded when it was uploaded); its URL names its version, so it is cached for ever."""
    found = branding.stored_logo()
    if found is None:
        abort(404)
    if version != found.version:
        return redirect(url_for("identity.logo", version=found.version))
    return _image(found.content, found.content_type, f"logo-{found.version}", FOREVER)


@bp.get("/favicon.ico")
def favicon():
    """The browser tab's icon: the city's logo made square, or pb's own icon while there is no logo."""
    found = branding.stored_logo("icon")
    if found is not None:
        return _image(found.content, found.content_type, f"icon-{found.version}", A_DAY)
    path = os.path.join(current_app.static_folder, DEFAULT_ICON)
    with open(path, "rb") as file:
        content = file.read()
    return _image(content, "image/x-icon", "icon-default-" + hashlib.sha256(content).hexdigest()[:12], A_DAY)


def stylesheet_version(identity: branding.Identity) -> str:
    return hashlib.sha256(branding.stylesheet(identity).encode()).hexdigest()[:12]


@bp.app_template_global()
def identity_stylesheet_url(identity: branding.Identity) -> str:
    """The URL of the colours stylesheet, naming its version so browsers keep it until the colours change."""
    return url_for("identity.stylesheet", v=stylesheet_version(identity))


@bp.get("/identity.css")
def stylesheet():
    """The city's colours as CSS custom properties over pb.css's defaults (a file: the CSP forbids inline styles)."""
    identity = branding.current()
    text = branding.stylesheet(identity)
    version = stylesheet_version(identity)
    response = make_response(text)
    response.headers["Content-Type"] = "text/css; charset=utf-8"
    # A URL with the current version is cached for ever; any other (an old page) is checked again each time.
    caching = FOREVER if request.args.get("v") == version else "public, no-cache"
    return _cached(response, f"identity-{version}", caching)
