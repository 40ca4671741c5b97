"""Photos and documents of proposals: who may add them, what is refused (by content), metadata gone, files and rows
consistent."""

import io
import os

import pytest
from PIL import Image
from sqlalchemy import select

from pb import storage
from pb.domain.cycle import Phase
from pb.domain.errors import NotFound, PermissionDenied, PhaseError, ValidationError
from pb.extensions import db
from pb.models import ProposalDocument, ProposalPhoto, ProposalStatus, Role
from pb.services import media
from tests import images


def stored_files(app) -> set[str]:
    folder = app.config["UPLOAD_FOLDER"]
    return set(os.listdir(folder)) if os.path.isdir(folder) else set()


@pytest.fixture
def proposal(make_cycle, make_proposal):
    return make_proposal(make_cycle(Phase.PROPOSALS))


def test_a_phone_photo_is_stored_upright_in_three_sizes_without_any_metadata(app, proposal, audit_log):
    # Orientation 6: the camera was turned; the pixels are stored sideways and EXIF says to turn them.
    photo = media.add_photo(proposal.author, proposal.id, images.phone_photo((2400, 1800), orientation=6),
                            "  The   corner of Elm Street ")
    stored = db.session.get(ProposalPhoto, photo.id)
    assert (stored.alt_text, stored.width, stored.height, stored.uploaded_by_id) == (
        "The corner of Elm Street", 1600, 2133, proposal.author.id)  # the largest size kept
    assert stored_files(app) == {f"{stored.storage_key}-{size}" for size in media.PHOTO_SIZES}
    for size, width in media.PHOTO_SIZES.items():
        data = storage.store().get(f"{stored.storage_key}-{size}")
        image = Image.open(io.BytesIO(data))
        assert image.format == "WEBP"
        assert image.size == (width, round(width * 2400 / 1800))
        assert images.has_metadata(data) == []
        # Upright: the blue half (the stored left) is now at the top.
        assert image.convert("RGB").getpixel((width // 2, 2))[2] > 150
        assert image.convert("RGB").getpixel((width // 2, image.height - 3))[0] > 150
    [(actor_id, action, subject, _, after)] = audit_log("add-photo")
    assert (actor_id, subject, after["photo"]) == (proposal.author.id, f"proposal:{proposal.id}", photo.id)


@pytest.mark.parametrize("make", [lambda: images.png(mode="RGBA"), images.gif,
                                  lambda: images.phone_photo((300, 200), fmt="WEBP"),
                                  lambda: images.phone_photo((300, 200), fmt="PNG")])
def test_png_gif_and_webp_are_taken_and_a_small_photo_is_never_enlarged(app, proposal, make):
    photo = media.add_photo(proposal.author, proposal.id, make(), "A photo.")
    for size in media.PHOTO_SIZES:
        data = storage.store().get(f"{photo.storage_key}-{size}")
        assert Image.open(io.BytesIO(data)).size == (photo.width, photo.height)
        assert images.has_metadata(data) == []


BAD_PHOTOS = {
    "an SVG with a script": (images.SVG_WITH_SCRIPT, "not a photo"),
    "a decompression bomb (30000 x 30000)": (images.png_bomb(), "too many pixels"),
    "a truncated JPEG": (images.phone_photo()[:3000], "not a photo"),
    "a truncated PNG": (images.png((400, 400))[:200], "not a photo"),
    "an empty file": (b"", "The file is empty"),
    "a PDF": (images.pdf(), "not a photo"),
    "HTML": (b"<html><script>alert(1)</script></html>", "not a photo"),
    "a TIFF": (b"II*\x00" + b"\x00" * 100, "not a photo"),
    "random bytes": (os.urandom(2000), "not a photo"),
}


@pytest.mark.parametrize("name", BAD_PHOTOS)
def test_what_is_not_a_photo_is_refused_by_its_content_and_nothing_is_stored(app, proposal, snapshot, name):
    data, message = BAD_PHOTOS[name]
    before = snapshot()
    with pytest.raises(ValidationError, match=message):
        media.add_photo(proposal.author, proposal.id, data, "A photo.")
    assert snapshot() == before
    assert stored_files(app) == set()


def test_a_file_over_the_size_limit_is_refused(app, proposal, snapshot):
    app.config["MAX_UPLOAD_BYTES"] = 1000
    before = snapshot()
    with pytest.raises(ValidationError, match="too large: at most 0 MB"):
        media.add_photo(proposal.author, proposal.id, images.phone_photo(), "A photo.")
    assert (snapshot(), stored_files(app)) == (before, set())


@pytest.mark.parametrize(("alt_text", "message"), [("", "Describe the photo"), ("   ", "Describe the photo"),
                                                   (None, "Describe the photo"), ("x" * 301, "too long")])
def test_a_photo_needs_alt_text(app, proposal, snapshot, alt_text, message):
    before = snapshot()
    with pytest.raises(ValidationError, match=message):
        media.add_photo(proposal.author, proposal.id, images.png(), alt_text)
    assert (snapshot(), stored_files(app)) == (before, set())


def test_no_more_photos_than_the_cycle_allows(app, proposal, snapshot):
    proposal.cycle.max_photos = 2
    db.session.commit()
    for number in range(2):
        media.add_photo(proposal.author, proposal.id, images.png(), f"Photo {number}")
    files, before = stored_files(app), snapshot()
    with pytest.raises(ValidationError, match="already has 2 photos"):
        media.add_photo(proposal.author, proposal.id, images.png(), "One too many")
    assert (snapshot(), stored_files(app)) == (before, files)


def test_when_the_row_cannot_be_stored_the_files_just_written_are_deleted(app, proposal, monkeypatch):
    def fail(*args, **kwargs):
        raise RuntimeError("the database went away")

    monkeypatch.setattr(media.audit, "record", fail)
    with pytest.raises(RuntimeError):
        media.add_photo(proposal.author, proposal.id, images.png(), "A photo.")
    with pytest.raises(RuntimeError):
        media.add_document(proposal.author, proposal.id, images.pdf(), "Plan", "plan.pdf")
    assert stored_files(app) == set()
    assert db.session.scalars(select(ProposalPhoto)).all() == []


def test_a_removed_photos_files_go_only_once_the_removal_is_committed(app, proposal, monkeypatch):
    photo = media.add_photo(proposal.author, proposal.id, images.png(), "A photo.")
    files = stored_files(app)
    monkeypatch.setattr(media.audit, "record", lambda *a, **k: (_ for _ in ()).throw(RuntimeError("failed")))
    with pytest.raises(RuntimeError):
        media.remove_photo(proposal.author, photo.id)
    assert stored_files(app) == files and db.session.get(ProposalPhoto, photo.id) is not None
    monkeypatch.undo()
    assert media.remove_photo(proposal.author, photo.id) == proposal.id
    assert stored_files(app) == set()
    assert db.session.get(ProposalPhoto, photo.id) is None


def test_photos_move_up_and_down(app, proposal, audit_log):
    first, second, third = (media.add_photo(proposal.author, proposal.id, images.png(), f"Photo {n}").id
                            for n in range(3))
    media.move_photo(proposal.author, third, -1)
    assert [p.id for p in media.photos_of(proposal.id)] == [first, third, second]
    media.move_photo(proposal.author, first, -1)  # already first: nothing moves
    media.move_photo(proposal.author, first, 1)
    assert [p.id for p in media.photos_of(proposal.id)] == [third, first, second]
    with pytest.raises(ValidationError):
        media.move_photo(proposal.author, first, 5)
    assert len(audit_log("move-photo")) == 2


def test_who_may_change_a_proposals_media(app, make_user, make_cycle, make_proposal, snapshot):
    cycle = make_cycle(Phase.PROPOSALS)
    proposal = make_proposal(cycle)
    stranger, moderator = make_user(), make_user(Role.MODERATOR)
    before = snapshot()
    with pytest.raises(PermissionDenied):
        media.add_photo(stranger, proposal.id, images.png(), "A photo.")
    with pytest.raises(PermissionDenied):
        media.add_document(stranger, proposal.id, images.pdf(), "Plan", "plan.pdf")
    with pytest.raises(NotFound):
        media.add_photo(proposal.author, 999_999, images.png(), "A photo.")
    assert (snapshot(), stored_files(app)) == (before, set())
    # A moderator may, at any time, and it is audited as theirs.
    cycle.phase = Phase.VOTING
    proposal.status = ProposalStatus.ACCEPTED
    db.session.commit()
    with pytest.raises(ValidationError, match="can no longer be edited"):
        media.add_photo(proposal.author, proposal.id, images.png(), "A photo.")
    photo = media.add_photo(moderator, proposal.id, images.png(), "Added by a moderator.")
    assert photo.uploaded_by_id == moderator.id
    media.remove_photo(moderator, photo.id)


def test_the_author_may_not_change_media_outside_the_proposal_phase(app, make_cycle, make_proposal):
    proposal = make_proposal(make_cycle(Phase.REVIEW))
    with pytest.raises(PhaseError):
        media.add_photo(proposal.author, proposal.id, images.png(), "A photo.")


# --- documents -------------------------------------------------------------------------------------------------------


def test_a_pdf_is_stored_as_it_is_under_a_clean_name(app, proposal, audit_log):
    data = images.pdf()
    document = media.add_document(proposal.author, proposal.id, data, " Site  plan ", "../../Plan <final> ñ.pdf")
    stored = db.session.get(ProposalDocument, document.id)
    assert (stored.title, stored.filename, stored.byte_size) == ("Site plan", "Plan-final-n.pdf", len(data))
    assert storage.store().get(stored.storage_key) == data
    assert stored_files(app) == {stored.storage_key}
    assert len(audit_log("add-document")) == 1
    media.remove_document(proposal.author, document.id)
    assert stored_files(app) == set() and db.session.get(ProposalDocument, document.id) is None


BAD_DOCUMENTS = {
    "a PNG named .pdf": (images.png(), "not one"),
    "a JPEG": (images.phone_photo(), "not one"),
    "an SVG with a script": (images.SVG_WITH_SCRIPT, "not one"),
    "a GIF that is also a PDF (polyglot)": (images.gif_pdf_polyglot(), "not one"),
    "a PDF header glued to a PNG": (images.pdf_glued_to_png(), "not only a PDF"),
    "a PDF that is also a web page": (images.pdf_html_polyglot(), "not only a PDF"),
    "a PDF with JavaScript": (images.pdf(b"1 0 obj << /OpenAction << /S /JavaScript /JS (app.alert(1)) >> >>\n"),
                              "scripts"),
    "a truncated PDF": (images.pdf()[:-10], "incomplete"),
    "an empty file": (b"", "empty"),
}


@pytest.mark.parametrize("name", BAD_DOCUMENTS)
def test_what_is_not_a_plain_pdf_is_refused_and_nothing_is_stored(app, proposal, snapshot, name):
    data, message = BAD_DOCUMENTS[name]
    before = snapshot()
    with pytest.raises(ValidationError, match=message):
        media.add_document(proposal.author, proposal.id, data, "Plan", "plan.pdf")
    assert (snapshot(), stored_files(app)) == (before, set())


@pytest.mark.parametrize(("title", "message"), [("", "Give the document a title"), ("x" * 201, "too long")])
def test_a_document_needs_a_title(app, proposal, title, message):
    with pytest.raises(ValidationError, match=message):
        media.add_document(proposal.author, proposal.id, images.pdf(), title, "plan.pdf")
    assert stored_files(app) == set()


@pytest.mark.parametrize(("filename", "title", "expected"), [
    ("plan.pdf", "x", "plan.pdf"), ("C:\\Users\\ann\\quote.PDF", "x", "quote.pdf"), ("", "Site plan", "Site-plan.pdf"),
    ("...", "", "document.pdf"), ('a"b;c.pdf', "x", "a-b-c.pdf"), ("x" * 300 + ".pdf", "x", "x" * 196 + ".pdf"),
])
def test_download_names_are_cleaned(filename, title, expected):
    assert media.clean_filename(filename, title) == expected


# --- personal data -----------------------------------------------------------------------------------------------------


def test_a_residents_photos_and_documents_are_in_their_data_and_go_with_their_deleted_proposals(
        app, make_user, make_cycle, make_proposal):
    from pb.security import hash_password
    from pb.services import accounts
    from tests.conftest import PASSWORD

    resident = make_user(password_hash=hash_password(PASSWORD))
    kept = make_proposal(make_cycle(Phase.PROPOSALS), author=resident)
    photo = media.add_photo(resident, kept.id, images.png(), "Kept photo.")
    document = media.add_document(resident, kept.id, images.pdf(), "Kept plan", "plan.pdf")
    finished = make_cycle(Phase.PROPOSALS)
    gone = make_proposal(finished, author=resident)
    media.add_photo(resident, gone.id, images.png(), "Photo of a withdrawn idea.")
    media.add_document(resident, gone.id, images.pdf(), "Old plan", "old.pdf")
    gone.status, finished.phase = ProposalStatus.WITHDRAWN, Phase.CLOSED
    db.session.commit()
    data = accounts.personal_data(resident)
    assert [p["alt_text"] for p in data["photos_you_uploaded"]] == ["Kept photo.", "Photo of a withdrawn idea."]
    assert [d["title"] for d in data["documents_you_uploaded"]] == ["Kept plan", "Old plan"]
    accounts.delete_account(resident, PASSWORD)
    db.session.expire_all()
    assert [p.id for p in db.session.scalars(select(ProposalPhoto))] == [photo.id]
    assert [d.id for d in db.session.scalars(select(ProposalDocument))] == [document.id]
    assert stored_files(app) == {*media.photo_keys(photo), document.storage_key}
