"""The verification pages: register upload with preview, self-verification, lockouts and voting codes."""

import io
import re

import pytest
from sqlalchemy import select

from pb.domain.cycle import Phase
from pb.extensions import db
from pb.models import RegisterEntry, RegisterUpload, Role, Verification, VerificationAttempt, VotingCode
from pb.services import verification
from tests.blueprints.test_bad_input import database_state

HEADER = "Ausweis;Geburtsdatum;PLZ;Bezirk\r\n"
GOOD_LINES = "AB-123 456;30.04.1980;1234 ab;North\r\nX9999999;02.01.1975;9999ZZ;South\r\n"
BAD_LINES = "C1;31.02.1980;1111;North\r\nC2;1980-01-01;1111;Atlantis\r\nAB123456;1980-04-30;1234AB;North\r\n"
ANNA = {"register-document": "ab 123-456", "register-birth_date": "1980-04-30", "register-postcode": "1234AB"}
WRONG = {**ANNA, "register-postcode": "1234AC"}


def upload(client, cycle, content: bytes, filename="register.csv", **mapping):
    data = {"file": (io.BytesIO(content), filename), **{f"{name}_column": value for name, value in mapping.items()}}
    return client.submit(f"/admin/cycles/{cycle.id}/register", data, content_type="multipart/form-data")


def messages(response) -> str:
    return response.get_data(as_text=True)


@pytest.fixture
def world(make_user, make_cycle):
    official = make_user(Role.OFFICIAL)
    cycle = make_cycle(Phase.VOTING)
    return official, cycle


@pytest.fixture
def registered(app, world):
    """A cycle whose register holds Anna (North) and Boris (South), loaded through the pages."""
    official, cycle = world
    client = app.test_client()
    client.login(official)
    preview = upload(client, cycle, b"\xef\xbb\xbf" + (HEADER + GOOD_LINES).encode())
    assert preview.status_code == 200
    upload_id = db.session.scalar(select(RegisterUpload.id))
    assert client.submit(f"/admin/cycles/{cycle.id}/register/confirm", {"upload_id": upload_id}).status_code == 302
    return official, cycle


# --- the register upload ----------------------------------------------------------------------------------------


def test_an_upload_shows_a_preview_with_the_error_report_and_stores_nothing_until_confirmed(client, world):
    official, cycle = world
    client.login(official)
    content = (HEADER + GOOD_LINES + BAD_LINES).encode("cp1252")
    response = upload(client, cycle, content)
    page = messages(response)
    assert response.status_code == 200
    assert "5 lines read" in page and "2 good" in page and "3 with errors" in page
    assert "Line 4: The date of birth is not a date" in page
    assert "Line 5: “Atlantis” is not a district of this cycle." in page
    assert "Line 6: Duplicate: the same person as on line 2." in page
    assert "<td>AB123456</td>" in page  # the normalised sample, shown once
    assert response.headers["Cache-Control"] == "no-store"
    assert db.session.scalar(select(RegisterEntry.id)) is None

    upload_id = db.session.scalar(select(RegisterUpload.id))
    register_page = messages(client.get(f"/admin/cycles/{cycle.id}/register"))
    assert "A checked file is waiting" in register_page and "AB123456" not in register_page
    response = client.submit(f"/admin/cycles/{cycle.id}/register/confirm", {"upload_id": upload_id},
                             follow_redirects=True)
    assert "2 residents are added to the register." in messages(response)
    assert len(db.session.scalars(select(RegisterEntry)).all()) == 2
    assert db.session.scalar(select(RegisterUpload.id)) is None


def test_the_official_chooses_which_header_is_which(client, world):
    official, cycle = world
    client.login(official)
    content = b"A;B;C;D\r\n30.04.1980;North;AB123456;1234AB\r\n"
    refused = upload(client, cycle, content)
    assert refused.status_code == 400
    assert "Choose which column holds the document number. The file&#39;s columns are: A, B, C, D." in messages(refused)
    response = upload(client, cycle, content, document="C", birth_date="A", postcode="D", district="B")
    assert response.status_code == 200 and "1 good" in messages(response)
    # The preview offers the file's own headers to choose from.
    assert '<option value="C" selected>C</option>' in messages(response)


@pytest.mark.parametrize(("content", "filename", "message"), [
    (b"a,b\n", "register.xlsx", "Upload a CSV file (.csv or .txt)"),
    (b"PK\x03\x04....", "register.csv", "This is an Excel workbook"),
    (b"", "register.csv", "The file is empty."),
    (b"only\none\n", "register.csv", "The file has only one column."),
])
def test_a_bad_file_is_refused_with_a_clear_message_and_nothing_changes(client, world, content, filename, message):
    official, cycle = world
    client.login(official)
    before = database_state()
    response = upload(client, cycle, content, filename)
    assert response.status_code == 400
    assert message in messages(response)
    assert database_state() == before


def test_an_upload_without_a_file_is_refused(client, world):
    official, cycle = world
    client.login(official)
    response = client.submit(f"/admin/cycles/{cycle.id}/register", {}, content_type="multipart/form-data")
    assert response.status_code == 400 and "Choose a CSV file." in messages(response)


def test_files_up_to_five_megabytes_pass_and_larger_ones_are_refused(client, world):
    official, cycle = world
    client.login(official)
    padding = b"\r\n" * (1_500_000)  # 3 MB: above the app's 2 MB form limit, below the register's 5 MB
    assert upload(client, cycle, (HEADER + GOOD_LINES).encode() + padding).status_code == 200
    too_big = (HEADER + GOOD_LINES).encode() + b"\r\n" * (verification.MAX_REGISTER_BYTES // 2 + 1)
    response = upload(client, cycle, too_big)
    assert response.status_code == 400 and "larger than 5 MB" in messages(response)
    far_too_big = b"x" * (verification.MAX_REGISTER_BYTES + 100_000)
    assert upload(client, cycle, far_too_big).status_code == 413


def test_confirming_or_discarding_an_unknown_upload_says_so(client, world):
    official, cycle = world
    client.login(official)
    for action in ("confirm", "discard"):
        for value in ("999999", "abc", ""):
            response = client.submit(f"/admin/cycles/{cycle.id}/register/{action}", {"upload_id": value},
                                     follow_redirects=True)
            assert response.status_code == 200
            assert "no longer waiting" in messages(response) or "The upload is missing" in messages(response) \
                or "Not a valid integer value." in messages(response)


def test_discarding_a_checked_file(client, world):
    official, cycle = world
    client.login(official)
    upload(client, cycle, (HEADER + GOOD_LINES).encode())
    upload_id = db.session.scalar(select(RegisterUpload.id))
    response = client.submit(f"/admin/cycles/{cycle.id}/register/discard", {"upload_id": upload_id})
    assert response.status_code == 302
    assert db.session.scalar(select(RegisterUpload.id)) is None and db.session.scalar(select(RegisterEntry.id)) is None


# --- residents ----------------------------------------------------------------------------------------------------


def test_a_resident_verifies_themself_with_the_register_and_can_vote(client, registered, make_user):
    _, cycle = registered
    anna = make_user()
    client.login(anna)
    page = messages(client.get(f"/cycles/{cycle.id}/verify"))
    assert "Verify yourself with the register" in page and "Not verified." in page
    response = client.submit(f"/cycles/{cycle.id}/verify/register", ANNA)
    assert response.status_code == 302 and response.location == f"/cycles/{cycle.id}/verify"
    stored = db.session.scalar(select(Verification))
    assert (stored.user_id, stored.district_id, stored.method) == (anna.id, cycle.districts[0].id, "register")
    page = messages(client.get(f"/cycles/{cycle.id}/verify"))
    assert "You are verified and can vote in North." in page
    assert "Verified with the eligibility register." in page
    assert "You are verified for another district" in page
    assert client.get(f"/cycles/{cycle.id}/vote/{cycle.districts[0].id}").status_code == 200


def test_a_wrong_attempt_says_only_that_the_details_do_not_match(client, registered, make_user):
    _, cycle = registered
    client.login(make_user())
    response = client.submit(f"/cycles/{cycle.id}/verify/register", WRONG, follow_redirects=True)
    assert "These details do not match the register." in messages(response)
    assert "postcode is" not in messages(response).lower()
    assert db.session.scalar(select(Verification.id)) is None
    assert len(db.session.scalars(select(VerificationAttempt)).all()) == 1


def test_the_register_entry_of_one_account_is_refused_to_another(client, app, registered, make_user):
    _, cycle = registered
    client.login(make_user())
    client.submit(f"/cycles/{cycle.id}/verify/register", ANNA)
    other = app.test_client()
    other.login(make_user())
    response = other.submit(f"/cycles/{cycle.id}/verify/register", ANNA, follow_redirects=True)
    assert "These details do not match the register." in messages(response)
    assert len(db.session.scalars(select(Verification)).all()) == 1


@pytest.mark.parametrize(("data", "message"), [
    ({**ANNA, "register-birth_date": "30/04/1980"}, "Not a valid date value."),
    ({**ANNA, "register-document": ""}, "Enter your document number."),
    ({**ANNA, "register-postcode": "x" * 50}, "Field cannot be longer than 20 characters."),
])
def test_a_malformed_form_is_refused_without_counting_an_attempt(client, registered, make_user, data, message):
    _, cycle = registered
    client.login(make_user())
    response = client.submit(f"/cycles/{cycle.id}/verify/register", data, follow_redirects=True)
    assert message in messages(response)
    assert db.session.scalar(select(VerificationAttempt.id)) is None


def test_the_lockout_survives_a_new_session_and_an_official_lifts_it(app, registered, make_user):
    official, cycle = registered
    anna = make_user()
    first = app.test_client()
    first.login(anna)
    for _ in range(verification.ACCOUNT_FAILURE_LIMIT):
        first.submit(f"/cycles/{cycle.id}/verify/register", WRONG)

    fresh = app.test_client()  # a new browser, a new session, another network
    fresh.login(anna)
    assert "verifying yourself is locked" in messages(fresh.get(f"/cycles/{cycle.id}/verify"))
    response = fresh.submit(f"/cycles/{cycle.id}/verify/register", ANNA, follow_redirects=True,
                            environ_base={"REMOTE_ADDR": "203.0.113.50"})
    assert "verifying yourself is locked" in messages(response)
    assert db.session.scalar(select(Verification.id)) is None

    desk = app.test_client()
    desk.login(official)
    listing = messages(desk.get(f"/admin/cycles/{cycle.id}/lockouts"))
    assert anna.email in listing
    response = desk.submit(f"/admin/cycles/{cycle.id}/lockouts/{anna.id}/lift", follow_redirects=True)
    assert f"{anna.name} can try to verify themself again." in messages(response)
    assert anna.email not in messages(desk.get(f"/admin/cycles/{cycle.id}/lockouts"))

    assert fresh.submit(f"/cycles/{cycle.id}/verify/register", ANNA).status_code == 302
    assert db.session.scalar(select(Verification.user_id)) == anna.id


def test_lifting_an_account_that_is_not_locked_says_so(client, registered, make_user):
    official, cycle = registered
    client.login(official)
    resident = make_user()
    response = client.submit(f"/admin/cycles/{cycle.id}/lockouts/{resident.id}/lift", follow_redirects=True)
    assert "is not locked out in this cycle" in messages(response)
    response = client.submit(f"/admin/cycles/{cycle.id}/lockouts/999999/lift", follow_redirects=True)
    assert "There is no such user." in messages(response)


def test_one_address_is_refused_after_too_many_failures(app, registered, make_user):
    _, cycle = registered
    for _ in range(verification.ADDRESS_FAILURE_LIMIT // 4):
        client = app.test_client()
        client.login(make_user())
        for _ in range(4):
            client.submit(f"/cycles/{cycle.id}/verify/register", WRONG)
    client = app.test_client()
    client.login(make_user())
    response = client.submit(f"/cycles/{cycle.id}/verify/register", ANNA, follow_redirects=True)
    assert "Too many attempts came from your network" in messages(response)
    response = client.submit(f"/cycles/{cycle.id}/verify/register", ANNA,
                             environ_base={"REMOTE_ADDR": "203.0.113.8"})
    assert response.status_code == 302 and db.session.scalar(select(Verification.id)) is not None


@pytest.mark.parametrize("phase", [Phase.TALLYING, Phase.RESULTS])
def test_verifying_oneself_is_closed_outside_its_phases(client, make_user, make_cycle, phase):
    cycle = make_cycle(phase)
    client.login(make_user())
    page = messages(client.get(f"/cycles/{cycle.id}/verify"))
    assert "Verify yourself with the register" not in page
    assert "residents can verify themselves from the opening of proposals until voting closes" in page
    before = database_state()
    response = client.submit(f"/cycles/{cycle.id}/verify/register", ANNA, follow_redirects=True)
    assert "Residents can be verified from the opening of proposals until voting closes." in messages(response)
    assert database_state() == before


def test_a_draft_cycle_has_no_verification_page_for_residents(client, make_user, make_cycle):
    cycle = make_cycle(Phase.DRAFT)
    client.login(make_user())
    assert client.get(f"/cycles/{cycle.id}/verify").status_code == 404


def test_the_cycle_and_vote_pages_link_to_verification(client, world, make_user):
    _, cycle = world
    client.login(make_user())
    assert f"/cycles/{cycle.id}/verify" in messages(client.get(f"/cycles/{cycle.id}"))
    assert f"/cycles/{cycle.id}/verify" in messages(client.get(f"/cycles/{cycle.id}/vote"))


# --- voting codes -------------------------------------------------------------------------------------------------


def generate(client, cycle, district, count) -> list[str]:
    """Generate a batch through the form and read its codes from the sheet the POST redirects to."""
    response = client.submit(f"/admin/cycles/{cycle.id}/codes", {"district_id": district.id, "count": count})
    assert response.status_code == 303 and "/codes/batches/" in response.location
    return re.findall(r"<code>([A-Z0-9-]{14})</code>", messages(client.get(response.location)))


def test_codes_are_redeemed_once_and_can_be_voided(app, world, make_user):
    official, cycle = world
    desk = app.test_client()
    desk.login(official)
    codes = generate(desk, cycle, cycle.districts[1], 3)
    assert len(codes) == 3 and len(db.session.scalars(select(VotingCode)).all()) == 3
    assert "/admin/cycles/" in messages(desk.get(f"/cycles/{cycle.id}"))  # officials find the pages from the cycle
    listing = messages(desk.get(f"/admin/cycles/{cycle.id}/codes"))
    assert not any(code in listing for code in codes) and "not used yet" in listing

    resident = app.test_client()
    first = make_user()
    resident.login(first)
    response = resident.submit(f"/cycles/{cycle.id}/verify/code", {"code-code": codes[0].lower()})
    assert response.status_code == 302
    stored = db.session.scalar(select(Verification))
    assert (stored.user_id, stored.district_id, stored.method) == (first.id, cycle.districts[1].id, "code")

    second = app.test_client()
    second.login(make_user())
    response = second.submit(f"/cycles/{cycle.id}/verify/code", {"code-code": codes[0]}, follow_redirects=True)
    assert "This code has already been used." in messages(response)

    code_id = db.session.scalar(select(VotingCode.id).where(VotingCode.number == 2))
    response = desk.submit(f"/admin/cycles/{cycle.id}/codes/void", {"code_id": code_id}, follow_redirects=True)
    assert "Code number 2 is void" in messages(response)
    response = second.submit(f"/cycles/{cycle.id}/verify/code", {"code-code": codes[1]}, follow_redirects=True)
    assert "This code has been cancelled." in messages(response)
    assert len(db.session.scalars(select(Verification)).all()) == 1
    response = second.submit(f"/cycles/{cycle.id}/verify/code", {"code-code": codes[2]})
    assert response.status_code == 302 and len(db.session.scalars(select(Verification)).all()) == 2


@pytest.mark.parametrize(("data", "message"), [
    ({"count": "0"}, "Enter 1 to 1000."),
    ({"count": "1001"}, "Enter 1 to 1000."),
    ({"count": "many"}, "Not a valid integer value."),
    ({"district_id": "999999"}, "Choose one of the listed options."),
    ({"district_id": "north"}, "Choose one of the listed options."),
])
def test_bad_code_requests_change_nothing(client, world, data, message):
    official, cycle = world
    client.login(official)
    before = database_state()
    response = client.submit(f"/admin/cycles/{cycle.id}/codes", {"district_id": cycle.districts[0].id, "count": "5",
                                                                   **data}, follow_redirects=True)
    assert message in messages(response)
    assert database_state() == before


@pytest.mark.parametrize("value", ["999999", "abc", "", "99999999999999999999"])
def test_voiding_an_unknown_code_says_so_and_changes_nothing(client, world, value):
    official, cycle = world
    client.login(official)
    before = database_state()
    response = client.submit(f"/admin/cycles/{cycle.id}/codes/void", {"code_id": value}, follow_redirects=True)
    assert response.status_code == 200
    page = messages(response)
    assert "There is no such voting code." in page or "Code to void" in page or "Not a valid integer" in page \
        or "Choose a code to void." in page
    assert database_state() == before
