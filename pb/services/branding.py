"""The city's identity (name, logo, colours, contact details): read for every page, changed by officials."""

from dataclasses import dataclass

from pb.extensions import db
from pb.models import SiteIdentity

IDENTITY_ID = 1


@dataclass(frozen=True)
class Identity:
    """What a page shows of the city; an empty field means the city has not set it (pb's default is shown)."""

    name: str = ""
    tagline: str = ""
    has_logo: bool = False
    logo_alt: str = ""
    logo_version: str = ""
    primary_colour: str = ""
    header_colour: str = ""
    contact_address: str = ""
    contact_phone: str = ""
    contact_email: str = ""
    opening_hours: str = ""

    @property
    def has_contact(self) -> bool:
        return any((self.contact_address, self.contact_phone, self.contact_email, self.opening_hours))


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
