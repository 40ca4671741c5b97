"""pb/pdf.py: HTML to tagged PDF, with pb's static files and in-memory pictures only; never a request to the network."""

import io
import socket
import threading

import pytest
from pypdf import PdfReader

from pb import pdf
from pb.domain.errors import ValidationError
from tests.images import phone_photo


def _catalog(body: bytes):
    return PdfReader(io.BytesIO(body)).trailer["/Root"]


def _page(body: str, title: str = "A document") -> str:
    return f'<!doctype html><html lang="pl"><head><meta charset="utf-8"><title>{title}</title></head><body>{body}</body></html>'


def test_a_page_becomes_a_tagged_pdf_with_its_language_and_title(app):
    body = pdf.render(_page("<h1>Wyniki</h1><p>Tekst.</p>", title="Wyniki budżetu"))
    catalog = _catalog(body)
    assert "/StructTreeRoot" in catalog and bool(catalog["/MarkInfo"]["/Marked"])
    assert catalog["/Lang"] == "pl"
    assert PdfReader(io.BytesIO(body)).metadata.title == "Wyniki budżetu"


@pytest.fixture
def listener():
    """A TCP server on loopback that records every connection made to it."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(8)
    server.settimeout(0.2)
    connections, stop = [], threading.Event()

    def accept():
        while not stop.is_set():
            try:
                connection, _ = server.accept()
            except OSError:
                continue
            connections.append(connection)
            connection.close()

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield server.getsockname()[1], connections
    stop.set()
    thread.join()
    server.close()


@pytest.mark.parametrize("tag", [
    '<img src="http://127.0.0.1:{port}/logo.png" alt="logo">',
    '<link rel="stylesheet" href="http://127.0.0.1:{port}/style.css">',
    '<p style="background: url(http://127.0.0.1:{port}/tile.png)">x</p>',
    '<img src="//127.0.0.1:{port}/relative-to-scheme.png" alt="">',
])
def test_a_document_asking_for_an_outside_address_makes_no_request(app, listener, tag):
    port, connections = listener
    body = pdf.render(_page(tag.format(port=port)))
    assert body.startswith(b"%PDF")
    assert connections == []


@pytest.mark.parametrize("url", [
    "http://example.org/logo.png", "https://example.org/logo.png", "file:///etc/passwd", "ftp://example.org/x",
    pdf.STATIC_PREFIX + "../../pb/config.py", pdf.STATIC_PREFIX + "%2e%2e/%2e%2e/etc/passwd",
    pdf.MEMORY_PREFIX + "not-given", pdf.BASE_URL + "admin/",
])
def test_the_fetcher_refuses_everything_but_static_files_and_given_pictures(app, url):
    with pytest.raises(pdf.RefusedURL):
        pdf.local_only_fetcher({}).fetch(url)


def test_the_fetcher_serves_static_files_given_pictures_and_data_uris(app):
    photo = phone_photo(size=(40, 30), fmt="PNG")
    fetcher = pdf.local_only_fetcher({"logo": pdf.Picture(photo, "image/png")})
    assert fetcher.fetch(pdf.MEMORY_PREFIX + "logo").read() == photo
    assert fetcher.fetch(pdf.STATIC_PREFIX + "pb.css").content_type == "text/css"
    assert fetcher.fetch("data:text/plain;base64,cGI=").read() == b"pb"


def test_a_given_picture_is_drawn_in_the_pdf(app):
    photo = phone_photo(size=(40, 30), fmt="PNG")
    without = pdf.render(_page('<img src="memory/logo" alt="The city\'s logo">'))
    drawn = pdf.render(_page('<img src="memory/logo" alt="The city\'s logo">'), {"logo": pdf.Picture(photo, "image/png")})
    assert b"/Subtype /Image" in drawn and b"/Subtype /Image" not in without


def test_without_pango_a_pdf_is_a_readable_refusal(app, monkeypatch):
    import builtins

    real_import = builtins.__import__

    def no_pango(name, *args, **kwargs):
        if name.startswith("weasyprint"):
            raise OSError("cannot load library 'libpango-1.0-0'")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_pango)
    with pytest.raises(pdf.PdfUnavailable, match="apt-get install libpango-1.0-0"):
        pdf.render(_page("<p>x</p>"))


def test_pb_starts_without_importing_weasyprint():
    import subprocess
    import sys

    code = "import sys; from app import app; import pb.cli; print('weasyprint' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "False"


def test_making_a_pdf_leaves_pillow_strict_so_a_truncated_photo_is_still_refused(app):
    # Regression: importing WeasyPrint turned on Pillow's LOAD_TRUNCATED_IMAGES for the whole process, and after the
    # first PDF a truncated JPEG passed the photo check.
    from PIL import ImageFile

    from pb.services import media

    pdf.render("<html lang='en'><head><title>t</title></head><body><p>x</p></body></html>")
    assert ImageFile.LOAD_TRUNCATED_IMAGES is False
    with pytest.raises(ValidationError, match="not a photo"):
        media.photo_renditions(phone_photo()[:3000])
