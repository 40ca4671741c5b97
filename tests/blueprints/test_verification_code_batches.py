"""The voting-code sheet, its mail-merge CSV and its letters: reloading shows the same codes and never makes new ones."""

import re

import pytest
from sqlalchemy import func, select

from pb.domain.cycle import Phase
from pb.extensions import db
from pb.models import AuditEntry, Role, VotingCode, VotingCodeBatch

CODE = re.compile(r"<code>([A-Z0-9-]{14})</code>")


@pytest.fixture
def desk(client, make_user, make_cycle):
    """An official's browser on a cycle taking proposals, with a batch of 3 codes for South made through the form."""
    official = make_user(Role.OFFICIAL)
    cycle = make_cycle(Phase.PROPOSALS)
    client.login(official)
    response = client.submit(f"/admin/cycles/{cycle.id}/codes", {"district_id": cycle.districts[1].id, "count": 3})
    assert response.status_code == 303
    return client, cycle, response.location


def _count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def test_reloading_the_sheet_shows_the_same_codes_and_makes_none(desk):
    client, cycle, sheet = desk
    first, second = client.get(sheet), client.get(sheet)
    codes = CODE.findall(first.get_data(as_text=True))
    assert first.status_code == second.status_code == 200 and len(codes) == 3
    assert CODE.findall(second.get_data(as_text=True)) == codes
    assert _count(VotingCode) == 3 and _count(VotingCodeBatch) == 1
    assert first.headers["Cache-Control"] == "no-store"


def test_the_codes_page_links_each_batch_but_never_shows_a_code(desk):
    client, cycle, sheet = desk
    codes = CODE.findall(client.get(sheet).get_data(as_text=True))
    listing = client.get(f"/admin/cycles/{cycle.id}/codes").get_data(as_text=True)
    assert sheet.split("pb.test")[-1] in listing and not any(code in listing for code in codes)


def test_the_csv_is_an_uncached_attachment_and_its_download_is_logged(desk):
    client, cycle, sheet = desk
    codes = CODE.findall(client.get(sheet).get_data(as_text=True))
    response = client.submit(sheet + "/codes.csv", {})
    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert response.headers["Cache-Control"] == "no-store"
    assert response.headers["Content-Disposition"].startswith("attachment;")
    body = response.get_data(as_text=True)
    assert all(code in body for code in codes) and f"http://pb.test/cycles/{cycle.id}/verify" in body
    assert db.session.scalar(select(func.count()).select_from(AuditEntry).where(
        AuditEntry.action == "download-voting-codes")) == 1


def test_the_letters_download_as_an_uncached_pdf(desk):
    client, cycle, sheet = desk
    response = client.submit(sheet + "/letters.pdf", {})
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    assert response.headers["Cache-Control"] == "no-store" and response.get_data().startswith(b"%PDF")


def test_a_large_batch_offers_its_letters_in_parts_and_a_bad_part_changes_nothing(desk, monkeypatch):
    from pb.services import verification

    client, cycle, sheet = desk
    monkeypatch.setattr(verification, "LETTERS_PER_PDF", 2)
    page = client.get(sheet).get_data(as_text=True)
    assert 'name="part" value="1"' in page and 'name="part" value="2"' in page and "Letters 1 to 2 (PDF)" in page
    response = client.submit(sheet + "/letters.pdf", {"part": "2"})
    assert response.status_code == 200 and response.get_data().startswith(b"%PDF")
    logged = db.session.scalar(select(func.count()).select_from(AuditEntry))
    for part in ("3", "abc", "", "9" * 40):
        refused = client.submit(sheet + "/letters.pdf", {"part": part}, follow_redirects=True)
        assert refused.mimetype == "text/html" and "Choose one of the 2 parts" in refused.get_data(as_text=True)
    assert db.session.scalar(select(func.count()).select_from(AuditEntry)) == logged


def test_a_forgotten_batch_sends_the_official_back_with_a_reason(desk):
    client, cycle, sheet = desk
    assert client.submit(sheet + "/forget", {}).status_code == 302
    response = client.get(sheet, follow_redirects=True)
    assert "forgotten after printing" in response.get_data(as_text=True)
    assert CODE.findall(response.get_data(as_text=True)) == []
    refused = client.submit(sheet + "/codes.csv", {}, follow_redirects=True)
    assert refused.mimetype == "text/html" and "forgotten after printing" in refused.get_data(as_text=True)


@pytest.mark.parametrize("batch_id", ["999999", "0"])
def test_an_unknown_batch_is_refused_with_a_message(desk, batch_id):
    client, cycle, _ = desk
    response = client.get(f"/admin/cycles/{cycle.id}/codes/batches/{batch_id}", follow_redirects=True)
    assert response.status_code == 200 and "no such" in response.get_data(as_text=True).lower()
