"""Files for the photo and document tests, made with Pillow in the test: phone photos with GPS, bombs, polyglots."""

import io
import struct
import zlib

from PIL import Image

GPS_IFD = 0x8825
EXIF_IFD = 0x8769
ORIENTATION = 0x0112


def phone_photo(size=(1200, 900), orientation: int | None = None, fmt: str = "JPEG") -> bytes:
    """A photo as a phone saves it: EXIF with the camera, a GPS position and (optionally) an orientation."""
    image = Image.new("RGB", size, (200, 40, 40))
    for x in range(0, size[0] // 2):  # the left half is blue, so a rotation shows
        for y in range(0, size[1], 50):
            image.putpixel((x, y), (20, 20, 220))
    image.paste((20, 20, 220), (0, 0, size[0] // 2, size[1]))
    exif = Image.Exif()
    exif[0x010F] = "PhoneMaker"  # Make
    exif[0x0110] = "Phone 15"  # Model
    if orientation:
        exif[ORIENTATION] = orientation
    exif.get_ifd(EXIF_IFD)[0x9003] = "2026:05:01 10:00:00"  # DateTimeOriginal
    gps = exif.get_ifd(GPS_IFD)
    gps[1], gps[2] = "N", (52.0, 13.0, 30.0)
    gps[3], gps[4] = "E", (21.0, 0.0, 45.0)
    out = io.BytesIO()
    extra = {"comment": b"taken at home"} if fmt == "JPEG" else {}
    image.save(out, fmt, exif=exif.tobytes(), **extra)
    return out.getvalue()


def png(size=(64, 48), mode="RGB") -> bytes:
    out = io.BytesIO()
    Image.new(mode, size, (10, 150, 60) if mode == "RGB" else (10, 150, 60, 128)).save(out, "PNG")
    return out.getvalue()


def gif() -> bytes:
    out = io.BytesIO()
    Image.new("P", (20, 20), 3).save(out, "GIF")
    return out.getvalue()


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def png_bomb(width: int = 30_000, height: int = 30_000) -> bytes:
    """A few hundred bytes declaring a 30000 × 30000 picture (900 megapixels: gigabytes once decoded)."""
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    row = b"\x00" + b"\x00" * (3 * 64)
    return (b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", header) + _chunk(b"IDAT", zlib.compress(row * 8, 9))
            + _chunk(b"IEND", b""))


def pdf(body: bytes = b"1 0 obj << /Type /Catalog /Pages 2 0 R >> endobj\n") -> bytes:
    return b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n" + body + b"trailer << /Root 1 0 R >>\n%%EOF\n"


SVG_WITH_SCRIPT = (b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg" width="10" height="10">'
                   b'<script>alert(document.cookie)</script><rect width="10" height="10"/></svg>')


def gif_pdf_polyglot() -> bytes:
    """A valid GIF that also holds a whole PDF (a classic polyglot): Pillow opens it as an image."""
    return gif()[:-1] + b"\n" + pdf() + b";"


def pdf_glued_to_png() -> bytes:
    """A PDF header and end glued around a PNG."""
    return b"%PDF-1.4\n" + png() + b"\n%%EOF\n"


def pdf_html_polyglot() -> bytes:
    return pdf(b"<html><body><script>alert(1)</script></body></html>\n")


def has_metadata(data: bytes) -> list[str]:
    """What metadata a served file still carries: EXIF tags, GPS, XMP, ICC, comments (empty: none)."""
    found = []
    image = Image.open(io.BytesIO(data))
    if image.getexif():
        found.append(f"EXIF {dict(image.getexif())}")
    for key in ("exif", "xmp", "icc_profile", "comment", "XML:com.adobe.xmp"):
        if image.info.get(key):
            found.append(key)
    for marker in (b"Exif", b"GPS", b"EXIF", b"XMP ", b"ICCP", b"PhoneMaker", b"taken at home"):
        if marker in data:
            found.append(f"bytes {marker!r}")
    return found
