"""Texts officials write for public pages (the privacy notice): read by key, saved with an audit entry."""

from pb.domain.errors import PermissionDenied, ValidationError
from pb.domain.messages import N_
from pb.extensions import db
from pb.models import SiteText, User, utcnow
from pb.services import audit, use_case

PRIVACY = "privacy"
KEYS = (PRIVACY,)
MAX_LENGTH = 20_000


def get(key: str) -> SiteText | None:
    """The stored text, or None while officials have not written one (the page then shows pb's default)."""
    found = db.session.get(SiteText, key)
    return found if found is not None and found.text.strip() else None


def paragraphs(text: str) -> list[str]:
    """Plain text as paragraphs: separated by blank lines, single line breaks kept within a paragraph."""
    blocks = [block.strip() for block in text.replace("\r\n", "\n").split("\n\n")]
    return [block for block in blocks if block]


@use_case
def save(actor: User, key: str, text: str) -> SiteText:
    """An official sets a page's text; an empty text brings back pb's default."""
    if not actor.is_official:
        raise PermissionDenied(N_("Only officials can change the texts of public pages."))
    if key not in KEYS:
        raise ValidationError(N_("There is no such page."))
    text = (text or "").replace("\r\n", "\n").strip()
    if len(text) > MAX_LENGTH:
        raise ValidationError(N_("Keep the text under {limit:,} characters.", limit=MAX_LENGTH))
    row = db.session.get(SiteText, key)
    before = row.text if row is not None else ""
    if row is None:
        row = SiteText(key=key)
        db.session.add(row)
    row.text, row.updated_at, row.updated_by_id = text, utcnow(), actor.id
    audit.record(actor, "set-site-text", f"site-text:{key}", before={"text": before} if before else None,
                 after={"text": text} if text else None)
    return row
