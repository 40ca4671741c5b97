"""The identity page for officials, the files every page takes from it (logo, colours, icon), and the public frame:
header, title, footer, accessibility statement, home page and the cycle page's rough edges."""

import io
import re
from datetime import datetime

import pytest
from sqlalchemy import select

from pb.domain.cycle import Phase
from pb.extensions import db
from pb.models import AuditEntry, Role, SiteIdentity
from pb.services import branding
from tests import images
from tests.blueprints.test_bad_input import database_state
from tests.conftest import store_count

GOOD_FORM = {
    "name": "Riverside decides", "tagline": "Our town's budget", "logo_alt": "", "primary_colour": "#1d5e8c",
    "header_colour": "#0f3d5e", "contact_address": "Town Hall\n1 Market Square", "contact_phone": "+48 22 123 45 67",
    "contact_email": "budget@riverside.example", "opening_hours": "Monday to Friday, 8:00 to 16:00",
}


@pytest.fixture
def official(client, make_user):
    user = make_user(Role.OFFICIAL)
    client.login(user)
    return user


def with_logo(data: bytes, **fields) -> dict:
    return {**GOOD_FORM, "logo_alt": "Coat of arms of Riverside", **fields, "logo": (io.BytesIO(data), "logo.png")}


def test_an_official_sets_the_identity_and_every_page_shows_it(client, official):
    assert 'href="/admin/identity"' in client.get("/admin/").get_data(as_text=True)
    page = client.get("/admin/identity").get_data(as_text=True)
    assert 'enctype="multipart/form-data"' in page and 'href="/privacy"' in page and 'href="/admin/privacy"' in page
    response = client.submit("/admin/identity", with_logo(images.png((400, 200))), content_type="multipart/form-data")
    assert response.status_code == 302 and response.location == "/admin/identity"
    row = db.session.get(SiteIdentity, 1)
    assert row.name == "Riverside decides" and row.logo_key and row.logo_alt == "Coat of arms of Riverside"
    assert db.session.scalar(select(AuditEntry.action).where(AuditEntry.action == "set-identity"))

    client.submit("/logout")
    for url in ("/", "/accessibility", "/how-voting-works", "/privacy", "/login"):
        page = client.get(url).get_data(as_text=True)
        assert re.search(r"<title>[^<]* · Riverside decides</title>", page), url
        assert "pb participatory budget" not in page and "participatory budget</span>" not in page
        version = branding.current().logo_version
        assert f'<img src="/identity/logo/{version}" alt="Coat of arms of Riverside">' in page, url
        assert '<strong class="brand-name">Riverside decides</strong>' in page
        assert '<a href="tel:+48221234567">+48 22 123 45 67</a>' in page
        assert '<a href="mailto:budget@riverside.example">budget@riverside.example</a>' in page
        assert "Monday to Friday, 8:00 to 16:00" in page and "1 Market Square" in page
        assert re.search(r'<link rel="stylesheet" href="/identity.css\?v=[0-9a-f]{12}">', page)


def test_without_an_identity_the_frame_keeps_a_sensible_default(client):
    page = client.get("/").get_data(as_text=True)
    assert "<title>Budget cycles · Participatory budget</title>" in page
    assert '<strong class="brand-name">Participatory budget</strong>' in page and "<img" not in page
    assert "tel:" not in page and "mailto:" not in page
    assert "write, phone or visit the town hall" in client.get("/accessibility").get_data(as_text=True)


def test_the_accessibility_statement_gives_the_real_contact_details(client, official):
    client.submit("/admin/identity", GOOD_FORM)
    page = client.get("/accessibility").get_data(as_text=True)
    statement = page[page.index("Report a barrier"):page.index("<footer")]
    assert "write, phone or visit the town hall" not in statement
    assert 'href="mailto:budget@riverside.example"' in statement and 'href="tel:+48221234567"' in statement
    assert "1 Market Square" in statement and "Monday to Friday" in statement


@pytest.mark.parametrize(("field", "value", "message"), [
    ("primary_colour", "#777777", "contrast of only 4.47:1 with white"),
    ("primary_colour", "yellow", "six hexadecimal digits"),
    ("header_colour", "#808080", "Neither white nor dark text"),
    ("contact_email", "nobody", "whole email address"),
    ("contact_phone", "<script>", "phone number with digits"),
    ("name", "x" * 500, "Field cannot be longer than 120 characters."),
])
def test_a_refused_value_is_shown_at_its_field_and_changes_nothing(client, official, field, value, message):
    client.submit("/admin/identity", GOOD_FORM)
    before = database_state()
    response = client.submit("/admin/identity", {**GOOD_FORM, field: value})
    page = response.get_data(as_text=True)
    assert response.status_code == 400
    assert re.search(rf'<p class="field-error" id="{field}-error-1">.*{re.escape(message)}', page)
    assert f'aria-describedby="{field}-hint {field}-error-1"' in page or f'aria-describedby="{field}-error-1"' in page
    assert 'role="alert" id="error-summary"' in page and f'href="#{field}"' in page
    assert "Riverside decides" in page and "budget@riverside.example" in page  # what was typed is kept
    assert database_state() == before


@pytest.mark.parametrize(("data", "message"), [
    (images.SVG_WITH_SCRIPT, "SVG files are not accepted"),
    (images.gif(), "Upload a PNG, JPEG or WebP image"),
    (images.pdf(), "Upload a PNG, JPEG or WebP image"),
    (images.png_bomb(), "too many pixels"),
    (b"\x89PNG\r\n\x1a\nbroken", "damaged"),
])
def test_a_bad_logo_file_is_refused_at_its_field_and_nothing_is_stored(app, client, official, data, message):
    before = database_state()
    response = client.submit("/admin/identity", with_logo(data), content_type="multipart/form-data")
    assert response.status_code == 400
    assert re.search(rf'<p class="field-error" id="logo-error-1">.*{re.escape(message)}', response.get_data(as_text=True))
    assert database_state() == before and not [n for n in _files(app) if not n.startswith(".")]


def test_a_logo_without_alt_text_is_refused_at_the_alt_field(app, client, official):
    response = client.submit("/admin/identity", with_logo(images.png(), logo_alt=""), content_type="multipart/form-data")
    assert response.status_code == 400 and 'id="logo_alt-error-1"' in response.get_data(as_text=True)
    assert db.session.get(SiteIdentity, 1) is None


def test_an_oversize_logo_is_refused_with_a_message_not_a_413(app, client, official):
    before = database_state()
    huge = b"\x89PNG\r\n\x1a\n" + b"\x00" * (3 * 1024 * 1024)
    response = client.submit("/admin/identity", with_logo(huge), content_type="multipart/form-data")
    assert response.status_code == 303 and response.location.endswith("/admin/identity")
    assert "too large: at most 2 MB" in client.get("/admin/identity").get_data(as_text=True)
    assert database_state() == before


def test_a_just_too_large_logo_within_the_request_limit_is_refused_at_its_field(client, official):
    data = b"\x89PNG\r\n\x1a\n" + b"\x00" * (2 * 1024 * 1024)
    response = client.submit("/admin/identity", with_logo(data), content_type="multipart/form-data")
    assert response.status_code == 400 and "The logo file is too large: at most 2 MB." in response.get_data(as_text=True)


def test_the_logo_can_be_removed(app, client, official):
    client.submit("/admin/identity", with_logo(images.png()), content_type="multipart/form-data")
    page = client.get("/admin/identity").get_data(as_text=True)
    assert 'name="remove_logo"' in page and 'class="logo-preview"' in page
    client.submit("/admin/identity", {**GOOD_FORM, "logo_alt": "Coat of arms of Riverside", "remove_logo": "y"})
    assert not branding.current().has_logo and "<img" not in client.get("/").get_data(as_text=True)


def _files(app) -> list[str]:
    import os

    folder = app.config["UPLOAD_FOLDER"]
    return os.listdir(folder) if os.path.isdir(folder) else []


@pytest.mark.parametrize("role", [None, Role.RESIDENT, Role.MODERATOR])
def test_only_officials_open_the_identity_page(client, make_user, role):
    if role is not None:
        client.login(make_user(role))
    response = client.get("/admin/identity")
    assert response.status_code == (302 if role is None else 403)
    before = database_state()
    assert client.submit("/admin/identity", GOOD_FORM).status_code == (302 if role is None else 403)
    assert database_state() == before


def test_the_logo_is_served_safely_and_cached_by_its_version(client, official):
    client.submit("/admin/identity", with_logo(images.phone_photo()), content_type="multipart/form-data")
    version = branding.current().logo_version
    response = client.get(f"/identity/logo/{version}")
    assert response.status_code == 200 and response.mimetype in ("image/png", "image/webp")
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert "immutable" in response.headers["Cache-Control"] and response.headers["ETag"]
    assert images.has_metadata(response.data) == []
    again = client.get(f"/identity/logo/{version}", headers={"If-None-Match": response.headers["ETag"]})
    assert again.status_code == 304 and not again.data
    stale = client.get("/identity/logo/an-old-version")
    assert stale.status_code == 302 and stale.location.endswith(f"/identity/logo/{version}")


def test_no_logo_no_logo_file(client):
    assert client.get("/identity/logo/anything").status_code == 404


def test_favicon_answers_with_pb_icon_then_the_city_logo(client, official):
    # Regression: /favicon.ico answered 404.
    default = client.get("/favicon.ico")
    assert default.status_code == 200 and default.mimetype == "image/x-icon" and default.data[:4] == b"\x00\x00\x01\x00"
    assert "max-age=86400" in default.headers["Cache-Control"] and default.headers["X-Content-Type-Options"] == "nosniff"
    assert client.get("/favicon.ico", headers={"If-None-Match": default.headers["ETag"]}).status_code == 304
    client.submit("/admin/identity", with_logo(images.png((300, 100))), content_type="multipart/form-data")
    icon = client.get("/favicon.ico")
    assert icon.status_code == 200 and icon.mimetype == "image/png" and icon.data.startswith(b"\x89PNG")
    assert icon.headers["ETag"] != default.headers["ETag"]


def test_the_colours_stylesheet_overrides_pb_css_variables(client, official):
    plain = client.get("/identity.css")
    assert plain.status_code == 200 and plain.mimetype == "text/css" and "--accent" not in plain.get_data(as_text=True)
    client.submit("/admin/identity", GOOD_FORM)
    link = re.search(r'href="(/identity.css\?v=[0-9a-f]{12})"', client.get("/").get_data(as_text=True)).group(1)
    response = client.get(link)
    css = response.get_data(as_text=True)
    assert "--accent: #1d5e8c;" in css and "--header-bg: #0f3d5e;" in css and "--header-ink: #ffffff;" in css
    assert "immutable" in response.headers["Cache-Control"] and response.headers["X-Content-Type-Options"] == "nosniff"
    assert "immutable" not in client.get("/identity.css?v=old").headers["Cache-Control"]
    assert client.get(link, headers={"If-None-Match": response.headers["ETag"]}).status_code == 304


# --- the home page --------------------------------------------------------------------------------------------------


def test_the_home_page_says_what_a_resident_can_do_now_and_until_when(client, make_cycle, make_user, make_project):
    make_cycle(Phase.PROPOSALS, name="Budget 2027", timezone="Europe/Madrid", review_at=datetime(2027, 3, 12, 17))
    voting = make_cycle(Phase.VOTING, name="Budget 2026", timezone="Europe/Madrid",
                        voting_close_at=datetime(2026, 12, 20, 19))
    finished = make_cycle(Phase.TALLYING, name="Budget 2025")
    funded = [make_project(finished, finished.districts[0], cost=30_000_00),
              make_project(finished, finished.districts[1], cost=12_000_50)]
    store_count(finished, make_user(Role.OFFICIAL), funded, [make_project(finished, cost=5_00)])
    make_cycle(Phase.DRAFT, name="Budget 2028 (draft)")
    response = client.get("/")
    page = " ".join(response.get_data(as_text=True).split())
    assert "Propose projects until 12 March 2027, 18:00 (Europe/Madrid)." in page
    assert "Vote until 20 December 2026, 20:00 (Europe/Madrid)." in page
    assert f'href="/cycles/{voting.id}/vote"' in page
    assert "Latest results" in page and "2 projects funded" in page and "42,000.50 EUR for them" in page
    assert "20 ballots counted" in page and f'href="/cycles/{finished.id}/results"' in page
    assert "Budget 2028 (draft)" not in page  # drafts only for officials
    assert len(response.data) < 100_000 and "<script" not in page


def test_the_home_page_with_a_cycle_without_dates_still_says_what_to_do(client, make_cycle):
    make_cycle(Phase.PROPOSALS)
    page = client.get("/").get_data(as_text=True)
    assert "Propose projects now." in page


# --- the cycle page's rough edges -----------------------------------------------------------------------------------

MOMENTS = {"proposals_open_at": datetime(2027, 1, 10, 9), "supports_at": datetime(2027, 2, 1, 9),
           "review_at": datetime(2027, 3, 1, 9), "voting_open_at": datetime(2027, 4, 1, 9),
           "voting_close_at": datetime(2027, 4, 20, 18), "results_at": datetime(2027, 5, 1, 9)}
ENGLISH_LABELS = ["Proposals open", "Supports open", "Review starts", "Voting opens", "Voting closes",
                  "Results published"]


@pytest.mark.parametrize("language", ["es", "pl"])
def test_the_cycle_timetable_is_in_the_readers_language(client, make_cycle, language):
    # Regression: the timetable's labels showed in English on the Spanish and Polish cycle pages.
    cycle = make_cycle(Phase.VOTING, has_supports_phase=True, timezone="Europe/Madrid", **MOMENTS)
    client.get(f"/language/{language}?next=/")
    page = client.get(f"/cycles/{cycle.id}").get_data(as_text=True)
    timetable = page[page.index('<dl class="dates">'):page.index("</dl>")]
    assert timetable.count("<dt>") == 6
    for label in ENGLISH_LABELS:
        assert f"<dt>{label}</dt>" not in timetable


def test_the_cycle_timetable_leaves_out_the_supports_moment_without_that_phase(client, make_cycle):
    cycle = make_cycle(Phase.VOTING, has_supports_phase=False, **MOMENTS)
    page = client.get(f"/cycles/{cycle.id}").get_data(as_text=True)
    assert "<dt>Supports open</dt>" not in page and "<dt>Voting closes</dt>" in page


@pytest.mark.parametrize(("phase", "is_shown"), [(Phase.PROPOSALS, True), (Phase.VOTING, True),
                                                 (Phase.TALLYING, False), (Phase.RESULTS, False),
                                                 (Phase.CLOSED, False)])
def test_can_i_vote_shows_only_while_verifying_leads_to_a_vote(client, make_cycle, make_user, verify, phase,
                                                               is_shown):
    # Regression: "Can I vote? Verify yourself" still showed after the results.
    cycle = make_cycle(phase)
    resident = make_user()
    verify(resident, cycle.districts[0])
    client.login(resident)
    page = client.get(f"/cycles/{cycle.id}").get_data(as_text=True)
    assert ("Can I vote? Verify yourself" in page) is is_shown
    assert ("You can vote here" in page) is is_shown
