"""HTML to tagged PDF with WeasyPrint; the only module that imports it, and it fetches nothing from the network.

A document may load pb's own static files (`https://pb.invalid/static/...`), pictures handed over in memory
(`https://pb.invalid/memory/NAME`, for charts and the city's logo) and `data:` URIs. Every other address (http,
https, file, ftp, ...) is refused by `LocalOnlyFetcher`, so a title or logo text cannot make the server fetch a URL.

WeasyPrint is imported when a PDF is made, not when pb starts: without Pango's system libraries the site and the
CLI still work, and asking for a PDF gives `PdfUnavailable` (a readable refusal, never a 500).
"""

import mimetypes
import os
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import unquote, urlsplit

from flask import current_app
from PIL import ImageFile

from pb.domain.errors import DomainError
from pb.domain.messages import N_

# A reserved name (RFC 2606): no resolver will ever answer for it, so even a mistake here cannot reach a network.
BASE_URL = "https://pb.invalid/"
STATIC_PREFIX = BASE_URL + "static/"
MEMORY_PREFIX = BASE_URL + "memory/"
PDF_VARIANT = "pdf/ua-1"  # tagged PDF: structure tree, marked content, document language and title

UNAVAILABLE = N_(
    "PDF files cannot be made on this server because the Pango text libraries are missing. The system administrator "
    "can install them with: apt-get install libpango-1.0-0 libpangoft2-1.0-0"
)


class PdfUnavailable(DomainError):
    """WeasyPrint or the system libraries it needs are not installed."""


class RefusedURL(ValueError):
    """A document asked for an address outside pb's static files and the pictures given in memory."""


@dataclass(frozen=True)
class Picture:
    """A file held in memory for one document: a chart or the city's logo."""

    data: bytes
    content_type: str


def _weasyprint():
    # Importing WeasyPrint turns on Pillow's process-wide LOAD_TRUNCATED_IMAGES, after which a truncated upload would
    # pass the photo and logo checks in every later request of the process. pb only hands WeasyPrint images it made
    # itself, so Pillow's strict default is put back.
    strict = ImageFile.LOAD_TRUNCATED_IMAGES
    try:
        import weasyprint
        import weasyprint.urls
    except (ImportError, OSError) as error:  # OSError: the Python package is there but libpango is not
        raise PdfUnavailable(UNAVAILABLE) from error
    finally:
        ImageFile.LOAD_TRUNCATED_IMAGES = strict
    return weasyprint


def _static_file(path: str) -> bytes:
    folder = os.path.realpath(current_app.static_folder)
    wanted = os.path.realpath(os.path.join(folder, unquote(path)))
    if os.path.commonpath([folder, wanted]) != folder or not os.path.isfile(wanted):
        raise RefusedURL(f"no such static file: {path[:80]}")
    with open(wanted, "rb") as file:
        return file.read()


def local_only_fetcher(pictures: Mapping[str, Picture] | None = None):
    """A WeasyPrint URL fetcher that serves pb's static files, the given pictures and data: URIs, and nothing else."""
    urls = _weasyprint().urls
    URLFetcherResponse = urls.URLFetcherResponse

    class LocalOnlyFetcher(urls.URLFetcher):
        def __init__(self) -> None:
            super().__init__(allowed_protocols=("data", "https"), allow_redirects=False)
            self.pictures = dict(pictures or {})

        def fetch(self, url, headers=None):
            if url.startswith("data:"):
                return super().fetch(url, headers)  # urllib's DataHandler decodes it in memory
            parts = urlsplit(url)
            if url.startswith(MEMORY_PREFIX) and not parts.query:
                picture = self.pictures.get(unquote(parts.path.removeprefix("/memory/")))
                if picture is not None:
                    return URLFetcherResponse(url, picture.data, {"Content-Type": picture.content_type})
            elif url.startswith(STATIC_PREFIX):
                path = parts.path.removeprefix("/static/")
                content_type = mimetypes.guess_type(path)[0] or "application/octet-stream"
                return URLFetcherResponse(url, _static_file(path), {"Content-Type": content_type})
            raise RefusedURL(f"pb's PDFs load nothing from other addresses: {url[:120]}")

    return LocalOnlyFetcher()


def render(html: str, pictures: Mapping[str, Picture] | None = None) -> bytes:
    """The HTML page as PDF/UA-1 bytes; its <html lang> and <title> become the PDF's language and title."""
    weasyprint = _weasyprint()
    document = weasyprint.HTML(string=html, base_url=BASE_URL, url_fetcher=local_only_fetcher(pictures))
    return document.write_pdf(pdf_variant=PDF_VARIANT)
