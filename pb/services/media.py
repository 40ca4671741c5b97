"""Photos and PDF documents of proposals: checked by their content, photos re-encoded without metadata, files kept in pb/storage.

Files and rows stay consistent: a new file is written before its row, and deleted again if the row's transaction
fails; a removed file is deleted only after the transaction removing its row has committed (an after-commit hook),
so a failed removal never leaves a row without its file.
"""

import contextlib
import io
import logging
import re
import struct
import unicodedata
import warnings
from dataclasses import dataclass

from flask import current_app
from PIL import Image, ImageOps, UnidentifiedImageError
from sqlalchemy import event, func, select
from sqlalchemy.orm import Session

from pb import storage
from pb.domain.errors import DomainError, NotFound, PermissionDenied, ValidationError
from pb.domain.messages import N_, Nn_
from pb.extensions import db
from pb.models import Proposal, ProposalDocument, ProposalPhoto, ProposalStatus, User
from pb.services import audit, load, proposals, use_case

logger = logging.getLogger(__name__)

# The widths the pages show a photo at: a card in a list, the proposal page, and a large screen (or a zoom).
PHOTO_SIZES = {"card": 400, "medium": 800, "large": 1600}
PHOTO_CONTENT_TYPE = "image/webp"
PHOTO_FORMATS = ("JPEG", "PNG", "WEBP", "GIF")
# Far above any phone camera (a 50-megapixel photo is 8160 × 6120); a "photo" declaring more is a decompression bomb.
MAX_PHOTO_PIXELS = 60_000_000
MAX_ALT_TEXT = 300
MAX_DOCUMENT_TITLE = 200
MAX_FILENAME = 200
DOCUMENT_CONTENT_TYPE = "application/pdf"

# In a PDF's first kilobyte these make it also something else (a web page, an SVG) a browser may run.
_NOT_IN_A_PDF_HEAD = (b"<script", b"<html", b"<svg", b"<!doctype", b"<body", b"<iframe")
# Signatures of other formats that a PDF never holds as they are (its images are streams, not PNG or GIF files).
_NOT_IN_A_PDF = (b"\x89PNG\r\n\x1a\n", b"GIF87a", b"GIF89a", b"PK\x03\x04", b"PK\x05\x06")
# PDF features that run something when the file is opened.
_ACTIVE_PDF = re.compile(rb"/(JavaScript|JS|Launch|EmbeddedFile|RichMedia)\b")


def max_upload_bytes() -> int:
    return int(current_app.config["MAX_UPLOAD_BYTES"])


def _megabytes(size: int) -> str:
    return f"{size / (1024 * 1024):.0f}"


# --- files deleted after the commit --------------------------------------------------------------------------------

_TO_DELETE = "pb_media_files_to_delete"


def delete_files_after_commit(keys: list[str]) -> None:
    """Delete these stored files once the current transaction commits (never if it rolls back)."""
    db.session.info.setdefault(_TO_DELETE, []).extend(keys)


@event.listens_for(Session, "after_commit")
def _delete_files(session) -> None:
    keys = session.info.pop(_TO_DELETE, [])
    for key in keys:
        try:
            storage.store().delete(key)
        except Exception:  # an unreachable store leaves a file nobody links to; the row is already gone
            logger.warning("Could not delete stored file %s", key, exc_info=True)


@event.listens_for(Session, "after_rollback")
def _keep_files(session) -> None:
    session.info.pop(_TO_DELETE, None)


def photo_keys(photo: ProposalPhoto) -> list[str]:
    return [f"{photo.storage_key}-{size}" for size in PHOTO_SIZES]


def forget_files_of(proposal_id: int) -> None:
    """A proposal is being deleted (its rows go with it): delete its files once that commits."""
    photos = db.session.scalars(select(ProposalPhoto).where(ProposalPhoto.proposal_id == proposal_id)).all()
    documents = db.session.scalars(select(ProposalDocument).where(ProposalDocument.proposal_id == proposal_id)).all()
    delete_files_after_commit([key for photo in photos for key in photo_keys(photo)]
                              + [document.storage_key for document in documents])


# --- who may change a proposal's media ------------------------------------------------------------------------------


def may_change(actor: User, proposal: Proposal) -> bool:
    """Whether the actor may add, remove or reorder this proposal's photos and documents now."""
    try:
        check_may_change(actor, proposal)
    except DomainError:
        return False
    return True


def check_may_change(actor: User, proposal: Proposal) -> None:
    """A moderator may at any time (audited); the author while the proposal may still be edited."""
    if actor is None or not getattr(actor, "is_authenticated", False):
        raise PermissionDenied(N_("Only the author or a moderator can change a proposal's photos and documents."))
    if actor.is_moderator:
        return
    if proposal.author_id != actor.id:
        raise PermissionDenied(N_("Only the author or a moderator can change a proposal's photos and documents."))
    proposals.check_editable(actor, proposal)


def _checked_proposal(actor: User, proposal_id: int, *, for_update: bool = False) -> Proposal:
    proposal = load(Proposal, proposal_id, "proposal", for_update=for_update)
    check_may_change(actor, proposal)
    return proposal


def _precheck(actor: User, proposal_id: int) -> None:
    """Refuse early, before reading and encoding a large file; the use case checks again under its lock."""
    try:
        _checked_proposal(actor, proposal_id)
    finally:
        db.session.rollback()


# --- photos ----------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Rendition:
    size: str
    width: int
    height: int
    content: bytes


def _clean_alt_text(alt_text: str | None) -> str:
    alt = " ".join((alt_text or "").split())
    if not alt:
        raise ValidationError(N_("Describe the photo in a few words (its alt text) for people who cannot see it."))
    if len(alt) > MAX_ALT_TEXT:
        raise ValidationError(N_("The photo's description is too long: at most {count} characters.", count=MAX_ALT_TEXT))
    return alt


def _check_size(data: bytes | None) -> bytes:
    if not data:
        raise ValidationError(N_("The file is empty. Choose the file again."))
    if len(data) > max_upload_bytes():
        raise ValidationError(N_("The file is too large: at most {megabytes} MB.", megabytes=_megabytes(max_upload_bytes())))
    return data


_NOT_A_PHOTO = N_("This file is not a photo pb can take, or it is damaged. Upload a JPEG, PNG or WebP photo.")
_TOO_MANY_PIXELS = N_("This image declares too many pixels to be a photo (at most {count} megapixels).",
                      count=MAX_PHOTO_PIXELS // 1_000_000)


def photo_renditions(data: bytes) -> list[Rendition]:
    """The photo at each of PHOTO_SIZES, upright and re-encoded as WebP with no metadata; refused if not a photo.

    Pillow decides what the file is from its content (never its name or the browser's word); the pixel count is
    checked before any pixel is decoded, and Pillow's own decompression-bomb guard is an error, not a warning.
    """
    _check_size(data)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data), formats=PHOTO_FORMATS)
            width, height = image.size
            if width < 1 or height < 1 or width * height > MAX_PHOTO_PIXELS:
                raise ValidationError(_TOO_MANY_PIXELS)
            if getattr(image, "n_frames", 1) > 1:
                image.seek(0)  # an animation shows its first frame
            # A JPEG is decoded straight at a smaller scale when it is far larger than the largest size.
            image.draft("RGB", (PHOTO_SIZES["large"], PHOTO_SIZES["large"]))
            image.load()
            upright = ImageOps.exif_transpose(image)
            has_alpha = upright.mode in ("RGBA", "LA", "PA") or (upright.mode == "P" and "transparency" in upright.info)
            mode = "RGBA" if has_alpha else "RGB"
            # Copied pixel by pixel into a new image: nothing of the file's metadata (EXIF, GPS, XMP, ICC, comments)
            # can travel with it.
            pixels = upright.convert(mode)
            clean = Image.new(mode, pixels.size)
            clean.paste(pixels)
    except ValidationError:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as error:
        raise ValidationError(_TOO_MANY_PIXELS) from error
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, EOFError, IndexError, TypeError,
            MemoryError, struct.error) as error:
        raise ValidationError(_NOT_A_PHOTO) from error
    renditions = []
    for size, target in PHOTO_SIZES.items():
        resized = clean
        if clean.width > target:
            resized = clean.resize((target, max(1, round(clean.height * target / clean.width))),
                                   Image.Resampling.LANCZOS)
        out = io.BytesIO()
        resized.save(out, "WEBP", quality=82, method=4)
        renditions.append(Rendition(size, resized.width, resized.height, out.getvalue()))
    return renditions


def write_files(files: list[tuple[str, bytes, str]]) -> list[str]:
    """Store each (key, content, type); if one fails, delete those already written and raise."""
    written = []
    try:
        for key, content, content_type in files:
            storage.store().put(key, content, content_type)
            written.append(key)
    except BaseException:
        delete_files_now(written)
        raise
    return written


def delete_files_now(keys: list[str]) -> None:
    """Delete stored files at once (a transaction that needed them failed); a file that will not go is logged."""
    for key in keys:
        try:
            storage.store().delete(key)
        except Exception:
            logger.warning("Could not delete stored file %s", key, exc_info=True)


def add_photo(actor: User, proposal_id: int, data: bytes, alt_text: str) -> ProposalPhoto:
    """Add a photo to a proposal: checked and re-encoded, its files written, then its row in one transaction.

    The encoding runs outside the transaction (it takes a moment; no lock is held meanwhile). If the transaction
    fails, the files just written are deleted again, so no file is left without its row.
    """
    alt = _clean_alt_text(alt_text)
    _precheck(actor, proposal_id)
    renditions = photo_renditions(data)
    key = storage.new_key()
    written = write_files([(f"{key}-{r.size}", r.content, PHOTO_CONTENT_TYPE) for r in renditions])
    try:
        return _record_photo(actor, proposal_id, key, alt, renditions)
    except BaseException:
        delete_files_now(written)
        raise


@use_case
def _record_photo(actor: User, proposal_id: int, key: str, alt: str, renditions: list[Rendition]) -> ProposalPhoto:
    proposal = _checked_proposal(actor, proposal_id, for_update=True)
    count = db.session.scalar(select(func.count()).select_from(ProposalPhoto)
                              .where(ProposalPhoto.proposal_id == proposal.id))
    limit = proposal.cycle.max_photos
    if count >= limit:
        raise ValidationError(Nn_("This proposal already has {count} photo, the most this cycle allows. Remove it "
                                  "before adding another.",
                                  "This proposal already has {count} photos, the most this cycle allows. Remove one "
                                  "before adding another.", limit))
    last = db.session.scalar(select(func.max(ProposalPhoto.position)).where(ProposalPhoto.proposal_id == proposal.id))
    largest = renditions[-1]
    photo = ProposalPhoto(proposal_id=proposal.id, position=(last + 1) if last is not None else 0, storage_key=key,
                          alt_text=alt, width=largest.width, height=largest.height, byte_size=len(largest.content),
                          uploaded_by_id=actor.id)
    db.session.add(photo)
    db.session.flush()
    audit.record(actor, "add-photo", f"proposal:{proposal.id}", cycle_id=proposal.cycle_id,
                 after={"photo": photo.id, "alt_text": alt})
    return photo


def _photo_of(actor: User, photo_id: int) -> ProposalPhoto:
    photo = load(ProposalPhoto, photo_id, "photo")
    _checked_proposal(actor, photo.proposal_id, for_update=True)
    return photo


@use_case
def remove_photo(actor: User, photo_id: int) -> int:
    """Remove a photo; its files are deleted once the removal is committed. Returns the proposal's id."""
    photo = _photo_of(actor, photo_id)
    proposal_id = photo.proposal_id
    audit.record(actor, "remove-photo", f"proposal:{proposal_id}", cycle_id=photo.proposal.cycle_id,
                 before={"photo": photo.id, "alt_text": photo.alt_text})
    delete_files_after_commit(photo_keys(photo))
    db.session.delete(photo)
    return proposal_id


@use_case
def move_photo(actor: User, photo_id: int, offset: int) -> int:
    """Move a photo earlier (offset -1) or later (+1) among its proposal's photos. Returns the proposal's id."""
    if offset not in (-1, 1):
        raise ValidationError(N_("Move a photo one place up or down."))
    photo = _photo_of(actor, photo_id)
    photos = list(db.session.scalars(select(ProposalPhoto).where(ProposalPhoto.proposal_id == photo.proposal_id)
                                     .order_by(ProposalPhoto.position, ProposalPhoto.id)))
    index = photos.index(photo)
    other = index + offset
    if 0 <= other < len(photos):
        photos[index], photos[other] = photos[other], photos[index]
        for position, each in enumerate(photos):
            each.position = position
        audit.record(actor, "move-photo", f"proposal:{photo.proposal_id}", cycle_id=photo.proposal.cycle_id,
                     after={"order": [each.id for each in photos]})
    return photo.proposal_id


def photos_of(proposal_id: int) -> list[ProposalPhoto]:
    return list(db.session.scalars(select(ProposalPhoto).where(ProposalPhoto.proposal_id == proposal_id)
                                   .order_by(ProposalPhoto.position, ProposalPhoto.id)))



def rendition_width(photo: ProposalPhoto, size: str) -> tuple[int, int]:
    """The width and height of one stored size of a photo (never larger than the photo itself)."""
    target = PHOTO_SIZES[size]
    if photo.width <= target:
        return photo.width, photo.height
    return target, max(1, round(photo.height * target / photo.width))


# --- documents -------------------------------------------------------------------------------------------------------


_NOT_A_PDF = N_("Only PDF documents can be attached, and this file is not one (pb reads the file, not its name).")
_NOT_ONLY_A_PDF = N_("This file is not only a PDF: it also reads as another kind of file (an image or a web page), "
                     "so pb does not accept it. Save it again as a PDF and upload that.")


def check_pdf(data: bytes) -> None:
    """Refuse anything but a plain PDF: by its content, whole, and nothing else at the same time (no polyglot)."""
    _check_size(data)
    if not data.startswith(b"%PDF-"):
        raise ValidationError(_NOT_A_PDF)
    if b"%%EOF" not in data[-1024:]:
        raise ValidationError(N_("This PDF is incomplete or damaged (it has no proper end). Save it again and upload "
                                 "that."))
    head = data[:1024].lower()
    if any(marker in head for marker in _NOT_IN_A_PDF_HEAD) or any(marker in data for marker in _NOT_IN_A_PDF):
        raise ValidationError(_NOT_ONLY_A_PDF)
    with contextlib.suppress(Exception), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        Image.open(io.BytesIO(data)).close()
        raise ValidationError(_NOT_ONLY_A_PDF)
    if _ACTIVE_PDF.search(data):
        raise ValidationError(N_("This PDF contains scripts, attachments or actions that run when it is opened; pb "
                                 "only accepts plain documents. Print it to a new PDF and upload that."))


def clean_filename(filename: str | None, title: str) -> str:
    """A safe name to download the document under: letters, digits, dots, dashes and underscores, ending in .pdf."""
    name = (filename or "").replace("\\", "/").rsplit("/", 1)[-1]
    name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    name = re.sub(r"[^A-Za-z0-9._-]+", "-", name).strip(".-_")
    if name.lower().endswith(".pdf"):
        name = name[:-4]
    if not name:
        name = re.sub(r"[^A-Za-z0-9]+", "-", unicodedata.normalize("NFKD", title).encode("ascii", "ignore")
                      .decode()).strip("-") or "document"
    return name[: MAX_FILENAME - 4] + ".pdf"


def _clean_title(title: str | None) -> str:
    cleaned = " ".join((title or "").split())
    if not cleaned:
        raise ValidationError(N_("Give the document a title, such as “Site plan” or “Quote from the builder”."))
    if len(cleaned) > MAX_DOCUMENT_TITLE:
        raise ValidationError(N_("The document's title is too long: at most {count} characters.",
                                 count=MAX_DOCUMENT_TITLE))
    return cleaned


def add_document(actor: User, proposal_id: int, data: bytes, title: str, filename: str) -> ProposalDocument:
    """Attach a PDF to a proposal, stored as it is; the file is written first and deleted again if the row is not."""
    cleaned_title = _clean_title(title)
    _precheck(actor, proposal_id)
    check_pdf(data)
    key = storage.new_key()
    written = write_files([(key, data, DOCUMENT_CONTENT_TYPE)])
    try:
        return _record_document(actor, proposal_id, key, cleaned_title, clean_filename(filename, cleaned_title),
                                len(data))
    except BaseException:
        delete_files_now(written)
        raise


@use_case
def _record_document(actor: User, proposal_id: int, key: str, title: str, filename: str,
                     byte_size: int) -> ProposalDocument:
    proposal = _checked_proposal(actor, proposal_id, for_update=True)
    document = ProposalDocument(proposal_id=proposal.id, storage_key=key, title=title, filename=filename,
                                byte_size=byte_size, uploaded_by_id=actor.id)
    db.session.add(document)
    db.session.flush()
    audit.record(actor, "add-document", f"proposal:{proposal.id}", cycle_id=proposal.cycle_id,
                 after={"document": document.id, "title": title, "filename": filename})
    return document


@use_case
def remove_document(actor: User, document_id: int) -> int:
    """Remove a document; its file is deleted once the removal is committed. Returns the proposal's id."""
    document = load(ProposalDocument, document_id, "document")
    proposal = _checked_proposal(actor, document.proposal_id, for_update=True)
    audit.record(actor, "remove-document", f"proposal:{proposal.id}", cycle_id=proposal.cycle_id,
                 before={"document": document.id, "title": document.title})
    delete_files_after_commit([document.storage_key])
    db.session.delete(document)
    return proposal.id


def documents_of(proposal_id: int) -> list[ProposalDocument]:
    return list(db.session.scalars(select(ProposalDocument).where(ProposalDocument.proposal_id == proposal_id)
                                   .order_by(ProposalDocument.created_at, ProposalDocument.id)))


# --- reading -----------------------------------------------------------------------------------------------------------


def find_photo(photo_id: object) -> ProposalPhoto | None:
    from pb.services import is_plausible_id

    return db.session.get(ProposalPhoto, photo_id) if is_plausible_id(photo_id) else None


def find_document(document_id: object) -> ProposalDocument | None:
    from pb.services import is_plausible_id

    return db.session.get(ProposalDocument, document_id) if is_plausible_id(document_id) else None


def is_public(proposal: Proposal) -> bool:
    """Whether a proposal's media may be served to everyone (the same rule as its page: not when withdrawn)."""
    return proposal.status is not ProposalStatus.WITHDRAWN


def read_file(key: str) -> bytes:
    """A stored file's bytes; NotFound when the store has lost it."""
    try:
        return storage.store().get(key)
    except storage.StoredFileMissing as error:
        logger.warning("Stored file %s is missing", key)
        raise NotFound(N_("There is no such {what}.", what="file")) from error
