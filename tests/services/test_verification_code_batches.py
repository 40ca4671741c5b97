"""Voting codes in batches (pb/services/verification.py): the same codes on every showing, a mail-merge CSV and a PDF
of letters, each download logged, until an official forgets the batch."""

import csv
import io

import pytest
from pypdf import PdfReader
from sqlalchemy import func, select

from pb.domain.cycle import Phase
from pb.domain.errors import ConflictError, NotFound, PermissionDenied, PhaseError, ValidationError
from pb.extensions import db
from pb.models import Role, SiteIdentity, VotingCode, VotingCodeBatch
from pb.services import verification
from tests.blueprints.test_bad_input import database_state

HOME = "192.0.2.1"
VERIFY_URL = "http://pb.test/cycles/1/verify"


@pytest.fixture
def batch(make_user, make_cycle):
    official = make_user(Role.OFFICIAL)
    cycle = make_cycle(Phase.PROPOSALS)
    made = verification.generate_code_batch(official, cycle.id, cycle.districts[1].id, 3)
    return official, cycle, made


def _codes(official, cycle, made) -> list[str]:
    return [issued.code for issued in verification.code_batch_sheet(official, cycle.id, made.id).codes]


def test_a_batch_shows_the_same_codes_every_time_and_showing_writes_nothing(batch):
    official, cycle, made = batch
    before = database_state()
    first, second = _codes(official, cycle, made), _codes(official, cycle, made)
    assert first == second and len(set(first)) == 3
    assert database_state() == before
    assert db.session.scalar(select(func.count()).select_from(VotingCode)) == 3


def test_the_codes_are_not_in_the_database_and_need_the_apps_key(app, batch):
    official, cycle, made = batch
    codes = _codes(official, cycle, made)
    dump = repr(database_state())
    assert not any(code in dump or code.replace("-", "") in dump for code in codes)
    app.config["REGISTER_KEY"] = "another key"  # a copy of the database with another installation's key
    assert verification.batch_code(made.seed, made.first_number) != codes[0].replace("-", "")


def test_a_batch_code_verifies_once_and_shows_as_used(batch, make_user):
    official, cycle, made = batch
    code = _codes(official, cycle, made)[1]
    verification.verify_with_code(make_user(), cycle.id, code, HOME)
    sheet = verification.code_batch_sheet(official, cycle.id, made.id)
    assert sheet.states == {made.first_number + 1: "used"}


def test_the_mail_merge_csv_has_a_row_per_code_still_usable_and_is_logged(batch, make_user, audit_log):
    official, cycle, made = batch
    db.session.add(SiteIdentity(id=1, name="=Ciudad", tagline="", logo_alt="", primary_colour="", header_colour="",
                                contact_address="Plaza Mayor 1", contact_phone="", contact_email="pb@ciudad.example",
                                opening_hours=""))
    db.session.commit()
    codes = _codes(official, cycle, made)
    verification.verify_with_code(make_user(), cycle.id, codes[0], HOME)
    text = verification.code_batch_csv(official, cycle.id, made.id, VERIFY_URL)
    assert text.startswith("\ufeff")
    rows = list(csv.DictReader(io.StringIO(text.lstrip("\ufeff"))))
    assert [row["code"] for row in rows] == codes[1:]  # the used one is left out
    assert rows[0] == {
        "number": "2", "code": codes[1], "district": "South", "cycle": cycle.name, "address": VERIFY_URL,
        "valid_until": rows[0]["valid_until"], "city": "'=Ciudad", "contact": "Plaza Mayor 1 · pb@ciudad.example",
    }
    assert audit_log("download-voting-codes")[-1][2:] == (
        f"voting-code-batch:{made.id}", {}, {"format": "csv", "district": "South", "numbers": "1-3", "count": 2})


def test_the_letters_are_one_tagged_a4_page_per_code_with_the_code_and_address(batch, audit_log):
    official, cycle, made = batch
    codes = _codes(official, cycle, made)
    body = verification.code_batch_letters(official, cycle.id, made.id, VERIFY_URL)
    reader = PdfReader(io.BytesIO(body))
    assert len(reader.pages) == 3 and "/StructTreeRoot" in reader.trailer["/Root"]
    for number, (page, code) in enumerate(zip(reader.pages, codes), start=1):
        text = page.extract_text()
        assert code in text and VERIFY_URL in text and f"Letter number {number}" in text
        assert float(page.mediabox.width) == pytest.approx(595.28, abs=1)
    assert audit_log("download-voting-codes")[-1][4]["format"] == "pdf"


def test_the_letters_come_in_parts_small_enough_for_a_web_request_and_each_part_is_logged(batch, make_user,
                                                                                          audit_log, monkeypatch):
    official, cycle, made = batch
    monkeypatch.setattr(verification, "LETTERS_PER_PDF", 2)
    codes = _codes(official, cycle, made)
    verification.verify_with_code(make_user(), cycle.id, codes[0], HOME)  # used: no letter for it
    sheet = verification.code_batch_sheet(official, cycle.id, made.id)
    assert verification.letter_parts(sheet) == [verification.LetterPart(1, 2, 3, 2)]
    monkeypatch.setattr(verification, "LETTERS_PER_PDF", 1)
    assert [(part.first, part.last) for part in verification.letter_parts(sheet)] == [(2, 2), (3, 3)]
    body = verification.code_batch_letters(official, cycle.id, made.id, VERIFY_URL, part=2)
    [page] = PdfReader(io.BytesIO(body)).pages
    assert codes[2] in page.extract_text() and codes[1] not in page.extract_text()
    assert audit_log("download-voting-codes")[-1][4] == {"format": "pdf", "district": "South", "numbers": "3-3",
                                                         "count": 1}


@pytest.mark.parametrize("part", [0, 3, -1, "1"])
def test_a_part_of_the_letters_that_does_not_exist_is_refused_and_logs_nothing(batch, monkeypatch, part):
    official, cycle, made = batch
    monkeypatch.setattr(verification, "LETTERS_PER_PDF", 2)
    before = database_state()
    with pytest.raises(ValidationError, match="Choose one of the 2 parts"):
        verification.code_batch_letters(official, cycle.id, made.id, VERIFY_URL, part=part)
    assert database_state() == before


def test_a_forgotten_batch_cannot_be_shown_but_its_codes_still_work(batch, make_user, audit_log):
    official, cycle, made = batch
    codes = _codes(official, cycle, made)
    verification.forget_code_batch(official, cycle.id, made.id)
    assert db.session.get(VotingCodeBatch, made.id).seed is None
    for show in (verification.code_batch_sheet, verification.forget_code_batch):
        with pytest.raises(ConflictError, match="forgotten after printing"):
            show(official, cycle.id, made.id)
    with pytest.raises(ConflictError):
        verification.code_batch_csv(official, cycle.id, made.id, VERIFY_URL)
    assert verification.verify_with_code(make_user(), cycle.id, codes[2], HOME).district_id == cycle.districts[1].id
    assert audit_log("forget-voting-codes")[0][4] == {"numbers": "1-3"}


def test_only_officials_see_a_batch_of_their_cycle_until_voting_closes(batch, make_user, make_cycle):
    official, cycle, made = batch
    with pytest.raises(PermissionDenied):
        verification.code_batch_sheet(make_user(Role.MODERATOR), cycle.id, made.id)
    other = make_cycle(Phase.PROPOSALS)
    with pytest.raises(NotFound):
        verification.code_batch_sheet(official, other.id, made.id)
    with pytest.raises(NotFound):
        verification.code_batch_sheet(official, cycle.id, made.id + 1000)
    cycle.phase = Phase.TALLYING
    db.session.commit()
    with pytest.raises(PhaseError):
        verification.code_batch_sheet(official, cycle.id, made.id)
