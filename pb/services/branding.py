"""The city's identity (name, logo, colours, contact details): read for every page, changed by officials.

The logo is checked and re-encoded like a proposal's photo (Pillow decides what the file is from its content; SVG is
refused, since an SVG is a document that can carry scripts) and kept in pb/storage in two sizes: the header's and a
square icon (the favicon). Files and the row stay consistent as in pb/services/media.py: new files are written before
the row changes and deleted again if that fails; replaced files are deleted only once the change is committed.
"""

import io
import re
import struct
import warnings
from dataclasses import dataclass, fields

from PIL import Image, ImageOps, UnidentifiedImageError

from pb import storage
from pb.domain import contrast
from pb.domain.errors import PermissionDenied, ValidationError
from pb.domain.messages import N_
from pb.extensions import db
from pb.models import SiteIdentity, User, utcnow
from pb.services import audit, media, use_case

IDENTITY_ID = 1

LOGO_FORMATS = ("PNG", "JPEG", "WEBP")
# A logo file far larger than this is a photo or a print master; the header shows it at most 640 × 160 pixels.
MAX_LOGO_BYTES = 2 * 1024 * 1024
MAX_LOGO_PIXELS = 25_000_000
# Twice the header's height (a sharp logo on high-density screens and in the printed report), and a wide limit.
LOGO_HEIGHT = 160
LOGO_WIDTH = 640
ICON_SIZE = 64
# A PNG logo above this (a photographic logo) is stored as WebP instead, to keep every page light.
PNG_BUDGET = 48 * 1024
ICON_CONTENT_TYPE = "image/png"

MAX_NAME = 120
MAX_TAGLINE = 200
MAX_ALT = 200
MAX_PHONE = 60
MAX_EMAIL = 254
MAX_LONG_TEXT = 1000

_EMAIL = re.compile(r"^[^@\s<>\"]+@[^@\s<>\"]+\.[^@\s<>\"]+$")
_PHONE = re.compile(r"^\+?[0-9 ()./-]{3,}$")

_NOT_A_LOGO = N_("This file is not a logo pb can take, or it is damaged. Upload a PNG, JPEG or WebP image "
                 "(SVG files are not accepted: they can carry scripts).")


class IdentityError(ValidationError):
    """A refused value, naming the form field it belongs to so the page can show the message next to it."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


@dataclass(frozen=True)
class IdentitySettings:
    """What an official sets on the identity page; empty means pb's default. The logo file comes separately."""

    name: str = ""
    tagline: str = ""
    logo_alt: str = ""
    primary_colour: str = ""
    header_colour: str = ""
    contact_address: str = ""
    contact_phone: str = ""
    contact_email: str = ""
    opening_hours: str = ""


@dataclass(frozen=True)
class Identity(IdentitySettings):
    """What a page shows of the city: the settings, and whether there is a logo (its version names its address)."""

    has_logo: bool = False
    logo_version: str = ""

    @property
    def has_contact(self) -> bool:
        return any((self.contact_address, self.contact_phone, self.contact_email, self.opening_hours))

    @property
    def phone_link(self) -> str:
        """The phone number as a tel: address (digits and a leading +)."""
        digits = re.sub(r"[^0-9+]", "", self.contact_phone)
        return f"tel:{digits}" if digits else ""


def current() -> Identity:
    """The identity officials saved, or pb's defaults while they have saved none."""
    row = db.session.get(SiteIdentity, IDENTITY_ID)
    if row is None:
        return Identity()
    return Identity(
        name=row.name, tagline=row.tagline, has_logo=row.logo_key is not None, logo_alt=row.logo_alt,
        logo_version=(row.logo_key or "")[:12], primary_colour=row.primary_colour, header_colour=row.header_colour,
        contact_address=row.contact_address, contact_phone=row.contact_phone, contact_email=row.contact_email,
        opening_hours=row.opening_hours,
    )


def settings_of(identity: Identity) -> IdentitySettings:
    """The saved identity as the settings the form starts from."""
    return IdentitySettings(**{field.name: getattr(identity, field.name) for field in fields(IdentitySettings)})


# --- the logo -------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class LogoFiles:
    logo: bytes
    logo_content_type: str
    icon: bytes


def logo_files(data: bytes | None) -> LogoFiles:
    """The header logo (at most 640 × 160, PNG or WebP) and a 64 × 64 PNG icon, re-encoded without metadata.

    Refused when the file is empty, too large, or not a PNG, JPEG or WebP image by its content.
    """
    if not data:
        raise IdentityError("logo", N_("The file is empty. Choose the file again."))
    if len(data) > MAX_LOGO_BYTES:
        raise IdentityError("logo", N_("The logo file is too large: at most {megabytes} MB.",
                                       megabytes=MAX_LOGO_BYTES // (1024 * 1024)))
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data), formats=LOGO_FORMATS)
            width, height = image.size
            if width < 1 or height < 1 or width * height > MAX_LOGO_PIXELS:
                raise IdentityError("logo", N_("This image declares too many pixels to be a logo."))
            if getattr(image, "n_frames", 1) > 1:
                image.seek(0)
            image.load()
            upright = ImageOps.exif_transpose(image)
            # Copied pixel by pixel: none of the file's metadata travels with it.
            pixels = upright.convert("RGBA")
            clean = Image.new("RGBA", pixels.size)
            clean.paste(pixels)
    except IdentityError:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as error:
        raise IdentityError("logo", N_("This image declares too many pixels to be a logo.")) from error
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, EOFError, IndexError, TypeError,
            MemoryError, struct.error) as error:
        raise IdentityError("logo", _NOT_A_LOGO) from error
    logo = clean.copy()
    logo.thumbnail((LOGO_WIDTH, LOGO_HEIGHT), Image.Resampling.LANCZOS)
    encoded, content_type = _png(logo), "image/png"
    if len(encoded) > PNG_BUDGET:
        out = io.BytesIO()
        logo.save(out, "WEBP", quality=88, method=4)
        encoded, content_type = out.getvalue(), "image/webp"
    icon = clean.copy()
    icon.thumbnail((ICON_SIZE, ICON_SIZE), Image.Resampling.LANCZOS)
    square = Image.new("RGBA", (ICON_SIZE, ICON_SIZE), (0, 0, 0, 0))
    square.paste(icon, ((ICON_SIZE - icon.width) // 2, (ICON_SIZE - icon.height) // 2))
    return LogoFiles(encoded, content_type, _png(square))


def _png(image: Image.Image) -> bytes:
    out = io.BytesIO()
    image.save(out, "PNG", optimize=True)
    return out.getvalue()


def logo_key(stored_key: str) -> str:
    return f"{stored_key}-logo"


def icon_key(stored_key: str) -> str:
    return f"{stored_key}-icon"


@dataclass(frozen=True)
class StoredLogo:
    content: bytes
    content_type: str
    version: str


def stored_logo(kind: str = "logo") -> StoredLogo | None:
    """The header logo ("logo") or the square icon ("icon") as stored, or None when the city has none."""
    row = db.session.get(SiteIdentity, IDENTITY_ID)
    if row is None or row.logo_key is None:
        return None
    try:
        if kind == "icon":
            return StoredLogo(storage.store().get(icon_key(row.logo_key)), ICON_CONTENT_TYPE, row.logo_key[:12])
        return StoredLogo(storage.store().get(logo_key(row.logo_key)), row.logo_content_type or "image/png",
                          row.logo_key[:12])
    except storage.StoredFileMissing:
        return None


# --- saving ---------------------------------------------------------------------------------------------------------


def _text(field: str, value: str | None, limit: int, *, multiline: bool = False) -> str:
    if multiline:
        lines = [" ".join(line.split()) for line in (value or "").replace("\r\n", "\n").split("\n")]
        text = "\n".join(line for line in lines if line)
    else:
        text = " ".join((value or "").split())
    if len(text) > limit:
        raise IdentityError(field, N_("Keep this under {limit} characters.", limit=limit))
    return text


def _colour(field: str, value: str, check) -> str:
    value = (value or "").strip()
    if not value:
        return ""
    try:
        checked = check(value)
    except ValidationError as error:
        raise IdentityError(field, error.message) from None
    return checked[0] if isinstance(checked, tuple) else checked


def checked_settings(settings: IdentitySettings, *, will_have_logo: bool) -> IdentitySettings:
    """The settings cleaned (spaces, colour spelling) and checked in the form's order; the first problem is refused,
    naming its field."""
    name = _text("name", settings.name, MAX_NAME)
    tagline = _text("tagline", settings.tagline, MAX_TAGLINE)
    alt = _text("logo_alt", settings.logo_alt, MAX_ALT)
    if will_have_logo and not alt:
        raise IdentityError("logo_alt", N_("Describe the logo in a few words (its alt text) for people who cannot "
                                           "see it, for example “Coat of arms of Riverside”."))
    primary = _colour("primary_colour", settings.primary_colour, contrast.checked_primary)
    header = _colour("header_colour", settings.header_colour, contrast.checked_header)
    address = _text("contact_address", settings.contact_address, MAX_LONG_TEXT, multiline=True)
    phone = _text("contact_phone", settings.contact_phone, MAX_PHONE)
    if phone and not _PHONE.match(phone):
        raise IdentityError("contact_phone", N_("Write the phone number with digits, spaces and an optional + "
                                                "(for example +34 900 123 456)."))
    email = _text("contact_email", settings.contact_email, MAX_EMAIL)
    if email and not _EMAIL.match(email):
        raise IdentityError("contact_email", N_("Write a whole email address, such as budget@city.example."))
    return IdentitySettings(
        name=name, tagline=tagline, logo_alt=alt if will_have_logo else "", primary_colour=primary,
        header_colour=header, contact_address=address, contact_phone=phone, contact_email=email,
        opening_hours=_text("opening_hours", settings.opening_hours, MAX_LONG_TEXT, multiline=True),
    )


def _check_official(actor: User) -> None:
    if actor is None or not getattr(actor, "is_authenticated", False) or not actor.is_official:
        raise PermissionDenied(N_("Only officials can change the city's name, logo and contact details."))


def save(actor: User, settings: IdentitySettings, *, logo: bytes | None = None, remove_logo: bool = False) -> Identity:
    """An official sets the identity, and may replace or remove the logo: all of it, or (when refused) nothing.

    A new logo is checked and encoded before the transaction (it takes a moment); its files are written first and
    deleted again if the transaction fails.
    """
    _check_official(actor)
    files = logo_files(logo) if logo is not None else None
    if files is None:
        # Checked before any file is written, so a refused form leaves no file behind.
        has_logo = current().has_logo and not remove_logo
        checked_settings(settings, will_have_logo=has_logo)
    else:
        checked_settings(settings, will_have_logo=True)
    key = storage.new_key() if files else None
    written = []
    if files:
        written = media.write_files([(logo_key(key), files.logo, files.logo_content_type),
                          (icon_key(key), files.icon, ICON_CONTENT_TYPE)])
    try:
        return _record(actor, settings, key, files.logo_content_type if files else None, remove_logo)
    except BaseException:
        media.delete_files_now(written)
        raise


_AUDITED = ("name", "tagline", "logo_alt", "primary_colour", "header_colour", "contact_address", "contact_phone",
            "contact_email", "opening_hours")


@use_case
def _record(actor: User, settings: IdentitySettings, new_key: str | None, content_type: str | None,
            remove_logo: bool) -> Identity:
    _check_official(actor)
    row = db.session.get(SiteIdentity, IDENTITY_ID, with_for_update=True, populate_existing=True)
    if row is None:
        row = SiteIdentity(id=IDENTITY_ID, name="", tagline="", logo_alt="", primary_colour="", header_colour="",
                           contact_address="", contact_phone="", contact_email="", opening_hours="")
        db.session.add(row)
    old_key = row.logo_key
    will_have_logo = new_key is not None or (old_key is not None and not remove_logo)
    cleaned = checked_settings(settings, will_have_logo=will_have_logo)
    before = {name: getattr(row, name) or "" for name in _AUDITED}
    for name in _AUDITED:
        setattr(row, name, getattr(cleaned, name))
    after = {name: getattr(row, name) for name in _AUDITED}
    if new_key is not None or (remove_logo and old_key is not None):
        if old_key is not None:
            media.delete_files_after_commit([logo_key(old_key), icon_key(old_key)])
        row.logo_key, row.logo_content_type = new_key, content_type
        before["logo"], after["logo"] = old_key is not None, new_key is not None
        if new_key is not None and old_key is not None:
            before["logo"], after["logo"] = "previous logo", "new logo"
    changed_before = {name: value for name, value in before.items() if after.get(name) != value}
    changed_after = {name: after[name] for name in changed_before}
    row.updated_at, row.updated_by_id = utcnow(), actor.id
    if changed_after:
        audit.record(actor, "set-identity", "site-identity", before=changed_before, after=changed_after)
    db.session.flush()
    return current()


def stylesheet(identity: Identity) -> str:
    """CSS that puts the city's colours over pb.css's defaults (a file: the CSP forbids inline styles)."""
    lines = ["/* The city's colours, set on the identity page; checked against WCAG AA when saved. */"]
    variables = []
    if identity.primary_colour:
        variables += [f"--accent: {identity.primary_colour};",
                      f"--accent-dark: {contrast.darker(identity.primary_colour)};"]
    if identity.header_colour:
        ink = contrast.ink_on(identity.header_colour)
        variables += [f"--header-bg: {identity.header_colour};", f"--header-ink: {ink};"]
    if variables:
        lines.append(":root { " + " ".join(variables) + " }")
    if identity.header_colour:
        lines.append("header.site { background: var(--header-bg); color: var(--header-ink); }")
        lines.append("header.site a, header.site a:hover, header.site .brand, header.site .brand span, "
                     "header.site button.link, header.site .muted, header.site strong "
                     "{ color: var(--header-ink); }")
        lines.append("header.site :focus-visible { outline-color: var(--header-ink); }")
    # The logo's own rules live here, beside the colours, so pb.css (the design system) need not know about logos.
    lines.append(".brand { display: inline-flex; align-items: center; gap: .5rem; }")
    lines.append(".brand img { display: block; height: 2.5rem; width: auto; max-width: 12rem; }")
    lines.append(".logo-preview { max-width: 100%; height: auto; }")
    return "\n".join(lines) + "\n"
