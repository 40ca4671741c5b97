"""A photo in a real browser: the author uploads a phone photo through the form, its GPS position is gone from the
served file, and it shows on the proposal page on a 360 px phone and on a desktop.

Every page on the way is checked by `Visit.check` (axe-core, 360 px, page weight without photos, no foreign request).
"""

import io
import urllib.request

from PIL import Image

from pb.domain.cycle import Phase
from tests import images
from tests.conftest import PASSWORD


def test_an_author_uploads_a_phone_photo_and_its_gps_position_is_gone(visit, make_cycle, make_proposal, tmp_path):
    cycle = make_cycle(Phase.PROPOSALS, name="Riverside 2027")
    proposal = make_proposal(cycle, title="A covered bicycle shelter at the central railway station")
    proposal_id, email = proposal.id, proposal.author.email
    original = images.phone_photo((3000, 2000), orientation=6)
    assert b"Exif" in original
    photo_file = tmp_path / "IMG_2041.jpg"
    photo_file.write_bytes(original)
    pdf_file = tmp_path / "plan.pdf"
    pdf_file.write_bytes(images.pdf())

    tab = visit("author")
    page = tab.page
    tab.login(email, PASSWORD)
    tab.goto(f"/proposals/{proposal_id}")
    tab.click(page.get_by_role("link", name="Add or change photos and documents"))

    # Without a description the form says what is missing, and keeps nothing.
    page.get_by_label("Photo (JPEG, PNG or WebP)").set_input_files(str(photo_file))
    page.get_by_label("Describe the photo for people who cannot see it").fill(" ")
    tab.click(page.get_by_role("button", name="Add the photo"))
    assert "Describe the photo" in tab.messages()
    assert page.get_by_text("No photos yet.").is_visible()

    page.get_by_label("Photo (JPEG, PNG or WebP)").set_input_files(str(photo_file))
    page.get_by_label("Describe the photo for people who cannot see it").fill("The station square seen from the north.")
    tab.click(page.get_by_role("button", name="Add the photo"))
    assert "The photo is added." in tab.messages()
    page.get_by_label("Document (PDF)").set_input_files(str(pdf_file))
    page.get_by_label("Title of the document").fill("Site plan")
    tab.click(page.get_by_role("button", name="Add the document"))
    assert "The document is added." in tab.messages()

    # The proposal page shows it, fitting a 360 px phone (Visit.check fails on any sideways scroll).
    tab.goto(f"/proposals/{proposal_id}")
    photo = page.get_by_role("img", name="The station square seen from the north.")
    photo.wait_for()
    page.wait_for_function("img => img.complete && img.naturalWidth > 0", arg=photo.element_handle())
    box = photo.bounding_box()
    assert box and box["width"] <= 360 and box["x"] >= 0 and box["x"] + box["width"] <= 360
    assert box["height"] > box["width"]  # turned upright as the phone meant
    assert page.get_by_role("link", name="Site plan").is_visible()

    # The file the browser was served: no EXIF, no GPS, no comment.
    source = photo.evaluate("img => img.currentSrc")
    with urllib.request.urlopen(source) as response:  # noqa: S310 (the test server on loopback)
        served = response.read()
        assert response.headers["X-Content-Type-Options"] == "nosniff"
    image = Image.open(io.BytesIO(served))
    assert image.format == "WEBP" and not image.getexif()
    assert images.has_metadata(served) == []

    # On a desktop too (not through Visit.check, which measures for a phone): the medium size, not stretched.
    page.set_viewport_size({"width": 1280, "height": 800})
    page.reload()
    assert 0 < photo.bounding_box()["width"] <= 800
