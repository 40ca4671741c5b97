"""Photos and documents of proposals: the page to manage them, and serving the stored files with safe headers.

A card in a proposal list shows `url_for('media.photo', photo_id=..., size='card')` for the proposal's first photo
(lowest position, then id), which pb.services.search reads in the list's own query (never one per card).
"""

from flask import Blueprint, abort, current_app, flash, g, make_response, redirect, render_template, request, url_for
from flask_babel import format_decimal
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from werkzeug.exceptions import RequestEntityTooLarge
from wtforms import HiddenField, StringField
from wtforms.validators import DataRequired, InputRequired, Length

from pb.blueprints.guards import form_errors, home, refuse, safe_target
from pb.blueprints.public import require_visible
from pb.domain.cycle import Phase
from pb.domain.errors import DomainError
from pb.i18n import translate
from pb.models import Proposal
from pb.services import media, proposals

bp = Blueprint("media", __name__)

_UPLOADS = {"media.add_photo", "media.add_document"}


class PhotoForm(FlaskForm):
    """One photo and its description (alt text), which is required."""

    file = FileField(_l("Photo (JPEG, PNG or WebP)"), validators=[FileRequired(_l("Choose a photo."))],
                     id="photo-file")
    alt_text = StringField(_l("Describe the photo for people who cannot see it"), validators=[
        DataRequired(_l("Describe the photo in a few words (its alt text) for people who cannot see it.")),
        Length(max=media.MAX_ALT_TEXT)])


class DocumentForm(FlaskForm):
    """One PDF and its title."""

    file = FileField(_l("Document (PDF)"), validators=[FileRequired(_l("Choose a PDF file."))],
                     id="document-file")
    title = StringField(_l("Title of the document"), validators=[
        DataRequired(_l("Give the document a title, such as “Site plan” or “Quote from the builder”.")),
        Length(max=media.MAX_DOCUMENT_TITLE)])


class MoveForm(FlaskForm):
    """Move a photo one place up or down."""

    direction = HiddenField(validators=[InputRequired()])


class RemoveForm(FlaskForm):
    """A remove button: the CSRF token only."""


@bp.url_value_preprocessor
def _allow_upload_size(endpoint, values) -> None:
    # Runs before anything reads the body: only the upload forms may exceed the app-wide limit, by one file.
    if endpoint in _UPLOADS:
        request.max_content_length = current_app.config["MAX_UPLOAD_BYTES"] + 64 * 1024


@bp.errorhandler(RequestEntityTooLarge)
def _too_large(error):
    """A file over the limit: say so on the page it came from, rather than a bare 413."""
    megabytes = current_app.config["MAX_UPLOAD_BYTES"] // (1024 * 1024)
    flash(_("The file is too large: at most %(megabytes)s MB. Nothing was saved.", megabytes=megabytes), "error")
    proposal_id = (request.view_args or {}).get("proposal_id")
    if proposal_id is not None:
        return redirect(url_for("media.manage", proposal_id=proposal_id), 303)
    return redirect(url_for("public.home"), 303)


def _manage_url(proposal_id: int) -> str:
    return url_for("media.manage", proposal_id=proposal_id)


@bp.app_template_global()
def proposal_media(proposal: Proposal) -> dict:
    """What the proposal page shows of its photos and documents, and whether the reader may change them."""
    shown = g.setdefault("proposal_media", {})
    if proposal.id not in shown:
        shown[proposal.id] = _media_of(proposal)
    return shown[proposal.id]


def _media_of(proposal: Proposal) -> dict:
    return {
        "photos": media.photos_of(proposal.id),
        "documents": media.documents_of(proposal.id),
        "can_change": current_user.is_authenticated and media.may_change(current_user, proposal),
    }


@bp.app_template_global()
def photo_srcset(photo) -> str:
    """The `srcset` of a photo: each stored size with its real width (a small photo is never enlarged)."""
    widths: dict[int, str] = {}
    for size in media.PHOTO_SIZES:
        width, _height = media.rendition_width(photo, size)
        widths.setdefault(width, url_for("media.photo", photo_id=photo.id, size=size))
    return ", ".join(f"{url} {width}w" for width, url in widths.items())


@bp.app_template_filter("file_size")
def file_size(byte_size: int) -> str:
    """A file's size as people read it, in the reader's language: 96 KB, 2.4 MB."""
    if byte_size < 1024 * 1024:
        return _("%(number)s KB", number=max(1, round(byte_size / 1024)))
    return _("%(number)s MB", number=format_decimal(round(byte_size / (1024 * 1024), 1)))


@bp.app_template_global()
def photo_dimensions(photo, size: str = "medium") -> tuple[int, int]:
    return media.rendition_width(photo, size)


@bp.get("/proposals/<int:proposal_id>/media")
@login_required
def manage(proposal_id: int):
    """The author's (or a moderator's) page to add, remove and order a proposal's photos and documents."""
    proposal = proposals.get_proposal(proposal_id)
    require_visible(proposal.cycle)
    back = url_for("public.proposal", proposal_id=proposal.id)
    try:
        media.check_may_change(current_user, proposal)
    except DomainError as error:
        return refuse(error, back)
    return _page(proposal, PhotoForm(), DocumentForm())


def _page(proposal: Proposal, photo_form: PhotoForm, document_form: DocumentForm, status: int = 200):
    return render_template(
        "media/manage.html", proposal=proposal, cycle=proposal.cycle, photos=media.photos_of(proposal.id),
        documents=media.documents_of(proposal.id), photo_form=photo_form, document_form=document_form,
        move_form=MoveForm(), remove_form=RemoveForm(), max_megabytes=media.max_upload_bytes() // (1024 * 1024),
    ), status


def _file_bytes(storage_file) -> bytes:
    # Read at most one byte over the limit: the service refuses what is larger with its message.
    return storage_file.stream.read(media.max_upload_bytes() + 1) if storage_file else b""


@bp.post("/proposals/<int:proposal_id>/photos")
@login_required
def add_photo(proposal_id: int):
    """Upload a photo with its description."""
    proposal = proposals.get_proposal(proposal_id)
    require_visible(proposal.cycle)
    form = PhotoForm()
    if not form.validate_on_submit():
        form_errors(form)
        return redirect(_manage_url(proposal.id))
    try:
        media.add_photo(current_user, proposal.id, _file_bytes(form.file.data), form.alt_text.data)
    except DomainError as error:
        return refuse(error, _manage_url(proposal.id))
    flash(_("The photo is added."), "success")
    return redirect(_manage_url(proposal.id))


@bp.post("/proposals/<int:proposal_id>/documents")
@login_required
def add_document(proposal_id: int):
    """Upload a PDF document with its title."""
    proposal = proposals.get_proposal(proposal_id)
    require_visible(proposal.cycle)
    form = DocumentForm()
    if not form.validate_on_submit():
        form_errors(form)
        return redirect(_manage_url(proposal.id))
    try:
        media.add_document(current_user, proposal.id, _file_bytes(form.file.data), form.title.data,
                           form.file.data.filename)
    except DomainError as error:
        return refuse(error, _manage_url(proposal.id))
    flash(_("The document is added."), "success")
    return redirect(_manage_url(proposal.id))


def _after_change(form, action, success: str, fallback: str):
    if not form.validate_on_submit():
        form_errors(form)
        return redirect(fallback)
    try:
        proposal_id = action()
    except DomainError as error:
        flash(translate(error.message), "error")
        return redirect(fallback)
    flash(success, "success")
    return redirect(_manage_url(proposal_id))


@bp.post("/photos/<int:photo_id>/remove")
@login_required
def remove_photo(photo_id: int):
    """Remove a photo."""
    return _after_change(RemoveForm(), lambda: media.remove_photo(current_user, photo_id),
                         _("The photo is removed."), _back())


@bp.post("/photos/<int:photo_id>/move")
@login_required
def move_photo(photo_id: int):
    """Move a photo one place up or down."""
    form = MoveForm()
    offset = {"up": -1, "down": 1}.get(form.direction.data or "", 0)
    return _after_change(form, lambda: media.move_photo(current_user, photo_id, offset),
                         _("The photos' order is saved."), _back())


@bp.post("/documents/<int:document_id>/remove")
@login_required
def remove_document(document_id: int):
    """Remove a document."""
    return _after_change(RemoveForm(), lambda: media.remove_document(current_user, document_id),
                         _("The document is removed."), _back())


def _back() -> str:
    return safe_target(request.referrer, home())


def _served(proposal: Proposal) -> str:
    """A proposal's files are served where its page is: not a draft cycle's (but to officials), not when withdrawn.

    Returns the Cache-Control to send: cacheable for a day by anyone (keys are random and never reused; a day bounds
    how long a shared cache may still show a withdrawn proposal's photo), private for what only officials see.
    """
    require_visible(proposal.cycle)
    if not media.is_public(proposal):
        abort(404)
    if proposal.cycle.phase is Phase.DRAFT:
        return "private, no-cache"
    return "public, max-age=86400, immutable"


def _file_response(data: bytes, content_type: str, disposition: str, etag: str):
    response = make_response(data)
    response.headers["Content-Type"] = content_type
    response.headers["Content-Disposition"] = disposition
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Content-Security-Policy"] = "default-src 'none'; sandbox"
    response.headers["Cross-Origin-Resource-Policy"] = "same-origin"
    response.set_etag(etag)
    return response


@bp.get("/photos/<int:photo_id>/<size>")
def photo(photo_id: int, size: str):
    """Serve one size of a photo (WebP, no metadata), cacheable for ever: its key is random and never reused."""
    if size not in media.PHOTO_SIZES:
        abort(404)
    found = media.find_photo(photo_id)
    if found is None:
        abort(404)
    caching = _served(found.proposal)
    etag = f"{found.storage_key}-{size}"
    if etag in request.if_none_match:
        response = make_response("", 304)
        response.set_etag(etag)
    else:
        response = _file_response(media.read_file(etag), media.PHOTO_CONTENT_TYPE,
                                  f'inline; filename="photo-{found.id}-{size}.webp"', etag)
    response.headers["Cache-Control"] = caching
    return response


@bp.get("/documents/<int:document_id>")
def document(document_id: int):
    """Download a PDF document, always as an attachment (never shown by the browser inside pb's pages)."""
    found = media.find_document(document_id)
    if found is None:
        abort(404)
    caching = _served(found.proposal)
    response = _file_response(media.read_file(found.storage_key), media.DOCUMENT_CONTENT_TYPE,
                              f'attachment; filename="{found.filename}"', found.storage_key)
    response.headers["Cache-Control"] = caching
    return response
