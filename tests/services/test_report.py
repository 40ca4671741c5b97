"""The printable results report (exports.results_pdf): tagged A4 pages, numbered and dated, under the city's name."""

import io
import re

import pytest
from pypdf import PdfReader
from pypdf.generic import ArrayObject, DictionaryObject

from pb import storage
from pb.domain.cycle import Phase
from pb.domain.errors import PhaseError
from pb.extensions import db
from pb.i18n import format_day
from pb.models import SiteIdentity
from pb.services import exports, printing
from tests.images import phone_photo
from tests.services.test_exports import published  # noqa: F401 (the fixture)

A4 = (595.28, 841.89)


def _city(logo: bytes | None = None) -> SiteIdentity:
    identity = SiteIdentity(
        id=1, name="Ciudad de Prueba", tagline="", logo_alt="Coat of arms of Prueba", primary_colour="",
        header_colour="", contact_address="Plaza Mayor 1", contact_phone="+34 900 000 000",
        contact_email="pb@prueba.example", opening_hours="",
    )
    if logo is not None:
        identity.logo_key = storage.new_key()
        identity.logo_content_type = "image/png"
        storage.store().put(identity.logo_key, logo, "image/png")
    db.session.add(identity)
    db.session.commit()
    return identity


@pytest.fixture
def report(published):  # noqa: F811
    _city(phone_photo(size=(60, 40), fmt="PNG"))
    cycle = published()
    return cycle, exports.results_pdf(cycle)


def _texts(body: bytes) -> list[str]:
    return [page.extract_text() for page in PdfReader(io.BytesIO(body)).pages]


def test_the_report_is_a_tagged_pdf_with_a_language_and_a_title(report):
    cycle, body = report
    reader = PdfReader(io.BytesIO(body))
    catalog = reader.trailer["/Root"]
    assert "/StructTreeRoot" in catalog and bool(catalog["/MarkInfo"]["/Marked"])
    assert catalog["/Lang"] == "en"
    assert reader.metadata.title == f"Results: {cycle.name}"


def test_every_page_is_a4_and_numbered_page_n_of_m(report):
    _, body = report
    pages = PdfReader(io.BytesIO(body)).pages
    assert len(pages) > 1
    for page in pages:
        assert (float(page.mediabox.width), float(page.mediabox.height)) == pytest.approx(A4, abs=1)
    for number, text in enumerate(_texts(body), start=1):
        assert f"Page {number} of {len(pages)}" in text


def test_the_report_is_dated_and_carries_the_citys_name_logo_and_contact(report):
    cycle, body = report
    texts = _texts(body)
    today = format_day(printing.made_on(cycle.timezone))
    assert all("Ciudad de Prueba" in text and today in text for text in texts)
    assert "Plaza Mayor 1" in texts[0] and "pb@prueba.example" in texts[0]
    assert b"/Subtype /Image" in body  # the logo, drawn from the file store


def test_the_summary_names_the_funded_projects_money_and_turnout(report):
    _, body = report
    first = _texts(body)[0]
    assert "2\nprojects funded of 4" in first
    assert "900 EUR" in first and "1,500" in first
    assert "5\nresidents voted" in first and "50.0 %" in first
    funded = re.findall(r"North (\w+) \d+ [\d,]+ EUR", first)
    assert funded == ["big", "small"]


def test_each_district_has_its_table_of_projects_and_the_rule_named_once(report):
    _, body = report
    text = "\n".join(_texts(body))
    assert "1 big 3 600 EUR yes" in text and "3 =mid 2 500 EUR no" in text and "1 south 0 100 EUR no" in text
    assert "Standard count: most votes first" in text and "(greedy) (greedy)" not in text


def _figures(body: bytes) -> list[str]:
    """The text alternative of every figure in the PDF's structure tree, in reading order."""
    found = []

    def walk(node) -> None:
        node = node.get_object()
        if isinstance(node, ArrayObject):
            for kid in node:
                walk(kid)
        elif isinstance(node, DictionaryObject):
            if node.get("/S") == "/Figure":
                found.append(str(node.get("/Alt", "")))
            if "/K" in node:
                walk(node["/K"])

    walk(PdfReader(io.BytesIO(body)).trailer["/Root"]["/StructTreeRoot"])
    return found


def test_the_logo_and_every_chart_are_figures_with_a_text_alternative(report):
    cycle, body = report
    figures = _figures(body)
    assert figures[0] == "Coat of arms of Prueba"
    assert len(figures) == 1 + len(cycle.districts) + len(exports.PUBLIC_CHARTS)
    assert figures[1].startswith("Bar chart of the votes for each of the 3 projects in North")
    assert all(figures)
    assert "Funded budget by category" in "\n".join(_texts(body))


def test_a_missing_logo_file_leaves_the_logo_out(published):  # noqa: F811
    identity = _city(phone_photo(size=(60, 40), fmt="PNG"))
    storage.store().delete(identity.logo_key)
    body = exports.results_pdf(published())
    assert "Ciudad de Prueba" in _texts(body)[0]
    assert b"/Subtype /Image" not in body


def test_without_an_identity_the_report_uses_pb_s_name(published):  # noqa: F811
    body = exports.results_pdf(published())
    assert "Participatory budget" in _texts(body)[0]


def test_the_report_waits_for_published_results(published):  # noqa: F811
    with pytest.raises(PhaseError):
        exports.results_pdf(published(Phase.TALLYING))


def test_a_city_name_that_looks_like_css_stays_text_on_every_page(published):  # noqa: F811
    name = 'Town"; } @page { size: A3; } x { content: "'
    db.session.add(SiteIdentity(id=1, name=name, tagline="", logo_alt="", primary_colour="red; }", header_colour="",
                                contact_address="", contact_phone="", contact_email="", opening_hours=""))
    db.session.commit()
    body = exports.results_pdf(published())
    pages = PdfReader(io.BytesIO(body)).pages
    assert all(float(page.mediabox.height) == pytest.approx(A4[1], abs=1) for page in pages)
    assert all(name in text for text in _texts(body))


def test_page_numbers_follow_the_translation_with_css_counters(app):
    assert printing.page_numbers() == '"Page " counter(page) " of " counter(pages)'
    assert printing.css_string('a"b\\c') == '"a\\22 b\\5c c"'
