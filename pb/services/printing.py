"""Printable documents: the city's letterhead (name, logo, contact details) and a reports/ template made into a tagged
A4 PDF by pb/pdf.py. Used by the results report and the voting-code letters; writes nothing."""

import re
from dataclasses import dataclass
from datetime import date

from flask import render_template
from flask_babel import gettext

from pb import pdf, storage
from pb.domain import timetable
from pb.extensions import db
from pb.i18n import format_day
from pb.models import SiteIdentity, utcnow
from pb.services import branding
from pb.services.branding import Identity

LOGO = "logo"  # the logo's name among a document's in-memory pictures: <img src="memory/logo">


@dataclass(frozen=True)
class Letterhead:
    """What every printed page shows of the city; `has_logo` only when the logo file could be read."""

    identity: Identity
    has_logo: bool
    pictures: dict[str, pdf.Picture]

    @property
    def name(self) -> str:
        return self.identity.name or gettext("Participatory budget")


def letterhead() -> Letterhead:
    """The saved identity, with the logo's bytes from the file store; a logo file gone missing is left out."""
    identity = branding.current()
    row = db.session.get(SiteIdentity, branding.IDENTITY_ID)
    pictures = {}
    if row is not None and row.logo_key:
        try:
            pictures[LOGO] = pdf.Picture(storage.store().get(row.logo_key), row.logo_content_type or "image/png")
        except (storage.StoredFileMissing, ValueError):
            pass  # the page still prints, under the city's name alone
    return Letterhead(identity=identity, has_logo=LOGO in pictures, pictures=pictures)


def css_string(text: str) -> str:
    """Text as a CSS string literal, for the page's margin boxes (which only CSS can fill): anything but letters,
    digits and plain punctuation is written as a CSS escape, so typed text cannot end the string or the rule."""
    escaped = "".join(ch if ch.isalnum() or ch in " .,:;-()/'" else f"\\{ord(ch):x} " for ch in text)
    return f'"{escaped}"'


def page_numbers() -> str:
    """The margin-box content "Page 1 of 5", translated, with CSS counters in place of the numbers."""
    words = gettext("Page %(number)s of %(total)s", number="\0number\0", total="\0total\0")
    parts = []
    for piece in words.split("\0"):
        if piece == "number":
            parts.append("counter(page)")
        elif piece == "total":
            parts.append("counter(pages)")
        elif piece:
            parts.append(css_string(piece))
    return " ".join(parts)


def made_on(zone: str) -> date:
    """Today in the cycle's time zone: the date printed on a document."""
    return timetable.local_day(utcnow(), zone)


PAGE_CSS = "page.css"  # the document's margin boxes, among its in-memory files: <link href="memory/page.css">
_MARGIN = "font-size: 8pt; color: #4a4f57;"
_COLOUR = re.compile(r"^#[0-9a-fA-F]{6}$")


def page_css(head: Letterhead, title: str, made_on_text: str) -> str:
    """The margin boxes of every page (the city's name, the date, the title and "Page N of M") and the city's colour.

    Made here rather than in a template: pb's templates carry no inline style (tests/test_security.py), and what
    people typed goes into CSS only as escaped strings.
    """
    colour = head.identity.primary_colour if _COLOUR.match(head.identity.primary_colour or "") else "#1f5fa8"
    return (
        f":root {{ --primary: {colour}; }}\n"
        "@page {\n"
        f"  @top-left {{ content: {css_string(head.name)}; {_MARGIN} }}\n"
        f"  @top-right {{ content: {css_string(made_on_text)}; {_MARGIN} }}\n"
        f"  @bottom-left {{ content: {css_string(title)}; {_MARGIN} }}\n"
        f"  @bottom-right {{ content: {page_numbers()}; {_MARGIN} }}\n"
        "}\n"
    )


def document(
    template: str, head: Letterhead, day: date, title: str, pictures: dict[str, pdf.Picture] | None = None, **context
) -> bytes:
    """A reports/ template rendered with the letterhead, the date it was made and the page numbers, as tagged PDF."""
    made_on_text = gettext("Made on %(day)s", day=format_day(day))
    html = render_template(
        template, head=head, title=title, logo_url=pdf.MEMORY_PREFIX + LOGO, made_on=day, made_on_text=made_on_text,
        **context,
    )
    furniture = pdf.Picture(page_css(head, title, made_on_text).encode(), "text/css")
    return pdf.render(html, {**head.pictures, **(pictures or {}), PAGE_CSS: furniture})
