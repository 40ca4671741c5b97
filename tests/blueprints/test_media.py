"""The media page, the uploads' bad input (clear message, nothing stored, never a 500) and serving files safely."""

import io
import os

import pytest
from PIL import Image
from sqlalchemy import select

from pb.domain.cycle import Phase
from pb.extensions import db
from pb.models import ProposalDocument, ProposalPhoto, ProposalStatus, Role
from pb.services import media
from tests import images
from tests.blueprints.test_bad_input import database_state


def stored_files(app) -> set[str]:
    folder = app.config["UPLOAD_FOLDER"]
    return set(os.listdir(folder)) if os.path.isdir(folder) else set()


@pytest.fixture
def author_page(client, make_cycle, make_proposal):
    """A proposal in the proposal phase, its author logged in."""
    proposal = make_proposal(make_cycle(Phase.PROPOSALS))
    client.login(proposal.author)
    return proposal


def _upload_photo(client, proposal, data: bytes, filename="photo.jpg", alt_text="Elm Street in spring."):
    return client.submit(f"/proposals/{proposal.id}/photos",
                         {"file": (io.BytesIO(data), filename), "alt_text": alt_text},
                         content_type="multipart/form-data", follow_redirects=True)


def _upload_document(client, proposal, data: bytes, filename="plan.pdf", title="Site plan"):
    return client.submit(f"/proposals/{proposal.id}/documents",
                         {"file": (io.BytesIO(data), filename), "title": title},
                         content_type="multipart/form-data", follow_redirects=True)


def test_the_author_uploads_a_photo_and_everyone_sees_it_without_its_gps(app, client, author_page):
    proposal = author_page
    response = _upload_photo(client, proposal, images.phone_photo(orientation=6))
    assert response.status_code == 200
    assert "The photo is added." in response.get_data(as_text=True)
    photo = db.session.scalars(select(ProposalPhoto)).one()
    client.post("/logout", data={"csrf_token": client.csrf_token()})
    page = client.get(f"/proposals/{proposal.id}").get_data(as_text=True)
    assert f'/photos/{photo.id}/medium' in page and 'alt="Elm Street in spring."' in page
    assert f"/photos/{photo.id}/card 400w" in page and "sizes=" in page and 'width="800"' in page
    for size in ("card", "medium", "large"):
        served = client.get(f"/photos/{photo.id}/{size}")
        assert served.status_code == 200
        assert served.headers["Content-Type"] == "image/webp"
        assert served.headers["X-Content-Type-Options"] == "nosniff"
        assert served.headers["Content-Security-Policy"] == "default-src 'none'; sandbox"
        assert served.headers["Content-Disposition"].startswith("inline;")
        assert "immutable" in served.headers["Cache-Control"] and served.headers["ETag"]
        image = Image.open(io.BytesIO(served.data))
        assert not image.getexif() and images.has_metadata(served.data) == []
    again = client.get(f"/photos/{photo.id}/card", headers={"If-None-Match": served.headers["ETag"].replace("large", "card")})
    assert again.status_code == 304
    assert client.get(f"/photos/{photo.id}/huge").status_code == 404


def test_a_document_is_downloaded_as_an_attachment(app, client, author_page):
    proposal = author_page
    assert "The document is added." in _upload_document(client, proposal, images.pdf()).get_data(as_text=True)
    document = db.session.scalars(select(ProposalDocument)).one()
    page = client.get(f"/proposals/{proposal.id}").get_data(as_text=True)
    assert "Site plan" in page and f"/documents/{document.id}" in page
    served = client.get(f"/documents/{document.id}")
    assert served.data == images.pdf()
    assert served.headers["Content-Type"] == "application/pdf"
    assert served.headers["Content-Disposition"] == 'attachment; filename="plan.pdf"'
    assert served.headers["X-Content-Type-Options"] == "nosniff"
    assert served.headers["Content-Security-Policy"] == "default-src 'none'; sandbox"


BAD_UPLOADS = [
    ("photo", "a 30 MB file", lambda: b"\xff\xd8\xff" + b"\x00" * (30 * 1024 * 1024), "photo.jpg",
     "The file is too large: at most 10 MB"),
    ("document", "a 30 MB file", lambda: images.pdf(b"0" * (30 * 1024 * 1024)), "plan.pdf",
     "The file is too large: at most 10 MB"),
    ("photo", "an 11 MB file", lambda: b"\xff\xd8\xff" + b"\x00" * (11 * 1024 * 1024), "photo.jpg",
     "The file is too large: at most 10 MB"),
    ("document", "a PNG named .pdf", images.png, "plan.pdf", "Only PDF documents can be attached"),
    ("document", "a GIF that is also a PDF", images.gif_pdf_polyglot, "plan.pdf", "not one"),
    ("document", "a PDF header glued to a PNG", images.pdf_glued_to_png, "plan.pdf", "not only a PDF"),
    ("document", "a PDF that is also a web page", images.pdf_html_polyglot, "plan.pdf", "not only a PDF"),
    ("photo", "an SVG with a script", lambda: images.SVG_WITH_SCRIPT, "photo.svg", "not a photo pb can take"),
    ("photo", "an SVG with a script named .jpg", lambda: images.SVG_WITH_SCRIPT, "photo.jpg", "not a photo pb can take"),
    ("photo", "a decompression bomb", images.png_bomb, "photo.png", "too many pixels"),
    ("photo", "a truncated image", lambda: images.phone_photo()[:4000], "photo.jpg", "not a photo pb can take"),
    ("photo", "an empty file", lambda: b"", "photo.jpg", "The file is empty"),
    ("document", "an empty file", lambda: b"", "plan.pdf", "The file is empty"),
    ("photo", "a PDF", images.pdf, "photo.png", "not a photo pb can take"),
]


@pytest.mark.parametrize(("kind", "name", "make", "filename", "message"), BAD_UPLOADS,
                         ids=[f"{kind}: {name}" for kind, name, *_ in BAD_UPLOADS])
def test_bad_files_get_a_clear_message_and_store_nothing(app, client, author_page, kind, name, make, filename,
                                                          message):
    proposal = author_page
    before = database_state()
    upload = _upload_photo if kind == "photo" else _upload_document
    response = upload(client, proposal, make(), filename)
    assert response.status_code == 200  # back on the media page, with the message
    page = response.get_data(as_text=True)
    assert message in page, page[:3000]
    assert "Photos and documents" in page
    assert database_state() == before
    assert stored_files(app) == set()


def test_missing_alt_text_is_refused(app, client, author_page):
    before = database_state()
    response = _upload_photo(client, author_page, images.png(), alt_text="  ")
    assert "Describe the photo in a few words" in response.get_data(as_text=True)
    assert (database_state(), stored_files(app)) == (before, set())


def test_too_many_photos_are_refused(app, client, author_page):
    author_page.cycle.max_photos = 1
    db.session.commit()
    _upload_photo(client, author_page, images.png())
    files, before = stored_files(app), database_state()
    response = _upload_photo(client, author_page, images.png())
    assert "already has 1 photo, the most this cycle allows. Remove it" in response.get_data(as_text=True)
    assert (database_state(), stored_files(app)) == (before, files)


def test_the_page_reorders_and_removes(app, client, author_page):
    for number in range(2):
        _upload_photo(client, author_page, images.png(), alt_text=f"Photo {number}")
    _upload_document(client, author_page, images.pdf())
    first, second = media.photos_of(author_page.id)
    page = client.get(f"/proposals/{author_page.id}/media").get_data(as_text=True)
    assert "Move down" in page and "Photo 1" in page
    response = client.submit(f"/photos/{second.id}/move", {"direction": "up"}, follow_redirects=True)
    assert "order is saved" in response.get_data(as_text=True)
    assert [p.id for p in media.photos_of(author_page.id)] == [second.id, first.id]
    client.submit(f"/photos/{first.id}/remove")
    [document] = db.session.scalars(select(ProposalDocument)).all()
    client.submit(f"/documents/{document.id}/remove")
    assert [p.id for p in media.photos_of(author_page.id)] == [second.id]
    assert media.documents_of(author_page.id) == []
    assert stored_files(app) == {f"{second.storage_key}-{size}" for size in media.PHOTO_SIZES}


def test_others_cannot_change_a_proposals_media(app, client, make_user, make_cycle, make_proposal):
    proposal = make_proposal(make_cycle(Phase.PROPOSALS))
    media.add_photo(proposal.author, proposal.id, images.png(), "A photo.")
    [photo] = media.photos_of(proposal.id)
    client.login(make_user())
    before = database_state()
    assert client.get(f"/proposals/{proposal.id}/media").status_code == 302
    response = _upload_photo(client, proposal, images.png())
    assert "Only the author or a moderator" in response.get_data(as_text=True)
    for url in (f"/photos/{photo.id}/remove", f"/photos/{photo.id}/move"):
        assert client.submit(url, {"direction": "down"}).status_code == 302
    assert database_state() == before
    page = client.get(f"/proposals/{proposal.id}").get_data(as_text=True)
    assert "Add or change photos and documents" not in page


def test_a_moderator_is_linked_to_the_media_page(client, make_user, make_cycle, make_proposal):
    proposal = make_proposal(make_cycle(Phase.VOTING), status=ProposalStatus.ACCEPTED)
    client.login(make_user(Role.MODERATOR))
    page = client.get(f"/proposals/{proposal.id}").get_data(as_text=True)
    assert f"/proposals/{proposal.id}/media" in page
    assert client.get(f"/proposals/{proposal.id}/media").status_code == 200


@pytest.mark.parametrize("hidden", ["withdrawn", "draft cycle"])
def test_a_hidden_proposals_media_is_not_served(app, client, make_cycle, make_proposal, hidden):
    cycle = make_cycle(Phase.PROPOSALS)
    proposal = make_proposal(cycle)
    photo = media.add_photo(proposal.author, proposal.id, images.png(), "A photo.")
    document = media.add_document(proposal.author, proposal.id, images.pdf(), "Plan", "plan.pdf")
    assert client.get(f"/photos/{photo.id}/card").status_code == 200
    if hidden == "withdrawn":
        proposal.status = ProposalStatus.WITHDRAWN
    else:
        cycle.phase = Phase.DRAFT
    db.session.commit()
    assert client.get(f"/proposals/{proposal.id}").status_code == 404
    assert client.get(f"/photos/{photo.id}/card").status_code == 404
    assert client.get(f"/documents/{document.id}").status_code == 404


def test_a_lost_file_is_a_404_not_a_500(app, client, make_cycle, make_proposal):
    proposal = make_proposal(make_cycle(Phase.PROPOSALS))
    photo = media.add_photo(proposal.author, proposal.id, images.png(), "A photo.")
    for name in stored_files(app):
        os.unlink(os.path.join(app.config["UPLOAD_FOLDER"], name))
    assert client.get(f"/photos/{photo.id}/card").status_code == 404


@pytest.mark.parametrize(("byte_size", "language", "shown"), [
    (96, "en", "1 KB"), (20_000, "en", "20 KB"), (2_500_000, "en", "2.4 MB"), (2_500_000, "es", "2,4 MB"),
])
def test_document_sizes_are_shown_in_the_readers_language(app, byte_size, language, shown):
    from flask_babel import force_locale

    from pb.blueprints.media import file_size

    with app.test_request_context(), force_locale(language):
        assert file_size(byte_size) == shown
