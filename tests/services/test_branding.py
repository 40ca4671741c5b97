"""The city's identity: saved by officials with an audit entry, colours checked for contrast, the logo re-encoded."""

import io
import os

import pytest
from PIL import Image

from pb.domain.errors import PermissionDenied
from pb.models import Role
from pb.services import branding
from tests import images

GOOD = branding.IdentitySettings(
    name="Riverside decides", tagline="Our town's budget", primary_colour="#0B57A4", header_colour="#ffd500",
    contact_address="Town Hall\r\n1 Market Square", contact_phone="+34 900 123 456",
    contact_email="budget@riverside.example", opening_hours="Mon to Fri, 9:00 to 14:00",
)


@pytest.fixture
def official(make_user):
    return make_user(Role.OFFICIAL)


def stored_files(app) -> list[str]:
    folder = app.config["UPLOAD_FOLDER"]
    return sorted(name for name in os.listdir(folder) if not name.startswith(".")) if os.path.isdir(folder) else []


def test_nothing_is_set_until_an_official_saves(app):
    identity = branding.current()
    assert identity == branding.Identity() and not identity.has_contact and not identity.has_logo


def test_an_official_saves_the_identity_cleaned_with_one_audit_entry_of_what_changed(app, official, audit_log):
    saved = branding.save(official, GOOD)
    assert saved.name == "Riverside decides" and saved.primary_colour == "#0b57a4"  # one spelling, lower case
    assert saved.contact_address == "Town Hall\n1 Market Square" and saved.has_contact
    assert saved.phone_link == "tel:+34900123456"
    assert branding.current() == saved
    [(actor, action, subject, before, after)] = audit_log("set-identity")
    assert (actor, subject) == (official.id, "site-identity")
    assert after["name"] == "Riverside decides" and before["name"] == "" and "logo" not in after

    branding.save(official, GOOD)  # the same again: nothing to record
    assert len(audit_log("set-identity")) == 1
    branding.save(official, branding.IdentitySettings(**{**vars(GOOD), "tagline": ""}))
    assert audit_log("set-identity")[-1][3:] == ({"tagline": "Our town's budget"}, {"tagline": ""})


@pytest.mark.parametrize("role", [Role.RESIDENT, Role.MODERATOR])
def test_only_officials_may_change_it(app, make_user, role, snapshot):
    someone = make_user(role)
    before = snapshot()
    with pytest.raises(PermissionDenied):
        branding.save(someone, GOOD, logo=images.png())
    assert snapshot() == before


@pytest.mark.parametrize(("field", "value", "message"), [
    ("primary_colour", "#777777", "contrast of only 4.47:1 with white"),
    ("primary_colour", "#ffd500", "Choose a darker colour"),
    ("primary_colour", "red", "six hexadecimal digits"),
    ("header_colour", "#777777", "Neither white nor dark text"),
    ("header_colour", "#12345", "six hexadecimal digits"),
    ("contact_email", "not an address", "whole email address"),
    ("contact_phone", "call us!", "phone number with digits"),
    ("name", "x" * 121, "under 120 characters"),
])
def test_a_refused_value_names_its_field_and_changes_nothing(app, official, snapshot, field, value, message):
    branding.save(official, GOOD)
    before = snapshot()
    with pytest.raises(branding.IdentityError, match=message) as refused:
        branding.save(official, branding.IdentitySettings(**{**vars(GOOD), "logo_alt": "Logo", field: value}),
                      logo=images.png())
    assert refused.value.field == field
    assert snapshot() == before and stored_files(app) == []  # not even the logo's files


def test_the_header_band_gets_the_text_colour_that_reads_on_it(app, official):
    branding.save(official, GOOD)
    css = branding.stylesheet(branding.current())
    assert "--accent: #0b57a4;" in css and "--header-bg: #ffd500;" in css and "--header-ink: #1b1b1f;" in css
    assert "--accent-dark: #" in css
    branding.save(official, branding.IdentitySettings(**{**vars(GOOD), "header_colour": "#0f3d5e"}))
    assert "--header-ink: #ffffff;" in branding.stylesheet(branding.current())


def test_no_colours_no_overrides(app):
    css = branding.stylesheet(branding.Identity())
    assert "--accent" not in css and "--header" not in css


def test_a_logo_is_re_encoded_without_metadata_in_two_sizes(app, official, audit_log):
    photo = images.phone_photo(size=(2000, 1000))
    identity = branding.save(official, branding.IdentitySettings(name="Riverside", logo_alt="Coat of arms"), logo=photo)
    assert identity.has_logo and identity.logo_alt == "Coat of arms" and identity.logo_version
    logo, icon = branding.stored_logo(), branding.stored_logo("icon")
    assert images.has_metadata(logo.content) == [] and images.has_metadata(icon.content) == []
    shown = Image.open(io.BytesIO(logo.content))
    assert shown.format in ("PNG", "WEBP") and shown.size == (320, 160)  # at most 640 × 160, proportions kept
    assert logo.content_type == f"image/{shown.format.lower()}"
    assert Image.open(io.BytesIO(icon.content)).size == (64, 64) and icon.content_type == "image/png"
    assert len(stored_files(app)) == 2
    assert audit_log("set-identity")[-1][4]["logo"] is True


def test_a_new_logo_replaces_the_old_files_and_removing_it_deletes_them(app, official):
    settings = branding.IdentitySettings(logo_alt="Logo")
    first = branding.save(official, settings, logo=images.png())
    old_files = stored_files(app)
    second = branding.save(official, settings, logo=images.png(size=(300, 100)))
    assert second.logo_version != first.logo_version
    assert len(stored_files(app)) == 2 and not set(old_files) & set(stored_files(app))
    removed = branding.save(official, settings, remove_logo=True)
    assert not removed.has_logo and removed.logo_alt == "" and stored_files(app) == []
    assert branding.stored_logo() is None


@pytest.mark.parametrize(("data", "message"), [
    (images.SVG_WITH_SCRIPT, "SVG files are not accepted"),
    (images.gif(), "Upload a PNG, JPEG or WebP image"),
    (images.pdf(), "Upload a PNG, JPEG or WebP image"),
    (b"", "The file is empty"),
    (b"\x89PNG\r\n\x1a\n" + b"\x00" * 100, "damaged"),
    (images.png_bomb(), "too many pixels"),
    (b"\x89PNG" + b"\x00" * (2 * 1024 * 1024), "at most 2 MB"),
])
def test_a_file_that_is_not_a_logo_is_refused_and_nothing_is_stored(app, official, snapshot, data, message):
    before = snapshot()
    with pytest.raises(branding.IdentityError, match=message) as refused:
        branding.save(official, branding.IdentitySettings(logo_alt="Logo"), logo=data)
    assert refused.value.field == "logo"
    assert snapshot() == before and stored_files(app) == []


def test_a_logo_needs_its_alt_text(app, official, snapshot):
    before = snapshot()
    with pytest.raises(branding.IdentityError, match="alt text") as refused:
        branding.save(official, branding.IdentitySettings(name="Riverside"), logo=images.png())
    assert refused.value.field == "logo_alt" and snapshot() == before and stored_files(app) == []
    branding.save(official, branding.IdentitySettings(logo_alt="Logo"), logo=images.png())
    with pytest.raises(branding.IdentityError, match="alt text"):  # nor may a kept logo lose it
        branding.save(official, branding.IdentitySettings(logo_alt=" "))
