"""Self-verification use cases: the hashed register, voting codes, attempt limits and lockouts."""

from datetime import date, timedelta

import pytest
from sqlalchemy import func, select, text, update

from pb.domain.cycle import Phase
from pb.domain.errors import ConflictError, NotFound, PermissionDenied, PhaseError, ValidationError
from pb.extensions import db
from pb.models import RegisterEntry, RegisterUpload, Role, User, Verification, VerificationAttempt, VotingCode
from pb.services import verification
from pb.services.verification import RegisterDetails

HEADER = "Document number,Date of birth,Postcode,District\n"
ANNA = ("AB-123 456", "1980-04-30", "1234 ab", "North")
ANNA_TYPED = RegisterDetails(document="ab123456", birth_date=date(1980, 4, 30), postcode="1234AB")
BORIS = ("X9999999", "02.01.1975", "9999 ZZ", "South")
HOME = "192.0.2.1"


def anna_hash() -> str:
    return verification.register_hash(ANNA[0], date(1980, 4, 30), ANNA[2])


def csv_bytes(*rows, header=HEADER, separator=",", encoding="utf-8") -> bytes:
    lines = [header.replace(",", separator)] + [separator.join(row) + "\n" for row in rows]
    return "".join(lines).encode(encoding)


@pytest.fixture
def world(make_user, make_cycle):
    official = make_user(Role.OFFICIAL)
    cycle = make_cycle(Phase.PROPOSALS)
    return official, cycle


def load_register(official, cycle, *rows):
    upload, _ = verification.stage_register(official, cycle.id, csv_bytes(*rows), "register.csv", {})
    return verification.confirm_register(official, cycle.id, upload.id)


# --- reading files ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("data", "label"), [
    (csv_bytes(ANNA, BORIS), "utf-8 commas"),
    (b"\xef\xbb\xbf" + csv_bytes(ANNA, BORIS, separator=";"), "Excel UTF-8 with BOM and semicolons"),
    (csv_bytes(ANNA, BORIS, separator=";", encoding="cp1252"), "Excel Windows-1252"),
    (csv_bytes(ANNA, BORIS, separator="\t", encoding="utf-16"), "Excel Unicode text"),
    (csv_bytes(ANNA, BORIS).replace(b"\n", b"\r\n"), "Windows line ends"),
])
def test_register_files_in_every_common_shape_are_read(world, data, label):
    official, cycle = world
    _, check = verification.stage_register(official, cycle.id, data, "r.csv", {})
    assert (check.line_count, len(check.entries), check.errors) == (2, 2, []), label
    assert check.sample[0]["document"] == "AB123456" and check.sample[0]["postcode"] == "1234AB"
    assert check.sample[1]["birth_date"] == "1975-01-02"


def test_a_cp1252_file_with_accents_is_read_as_cp1252(world, make_cycle):
    official, _ = world
    cycle = make_cycle(Phase.PROPOSALS, districts=(("Düsseldorf-Süd", 1000),))
    data = csv_bytes(("A1", "1980-01-01", "40225", "Düsseldorf-Süd"), separator=";", encoding="cp1252")
    _, check = verification.stage_register(official, cycle.id, data, "r.csv", {})
    assert len(check.entries) == 1 and check.sample[0]["district"] == "Düsseldorf-Süd"


def test_columns_are_mapped_by_the_officials_choice(world):
    official, cycle = world
    data = csv_bytes(("North", "1234AB", "30/04/1980", "AB123456"), header="Wijk,Zip,Born on,Nr\n")
    with pytest.raises(ValidationError, match="Choose which column holds the document number"):
        verification.stage_register(official, cycle.id, data, "r.csv", {})
    chosen = {"document": "nr", "birth_date": "born on", "postcode": "Zip", "district": "Wijk"}
    upload, check = verification.stage_register(official, cycle.id, data, "r.csv", chosen)
    assert check.mapping == {"document": "Nr", "birth_date": "Born on", "postcode": "Zip", "district": "Wijk"}
    verification.confirm_register(official, cycle.id, upload.id)
    entry = db.session.scalar(select(RegisterEntry))
    assert entry.entry_hash == anna_hash()


@pytest.mark.parametrize(("chosen", "message"), [
    ({"document": "Nope"}, "The file has no column “Nope” for the document number"),
    ({"document": "Postcode", "postcode": "Postcode"}, "Each column can hold only one"),
])
def test_a_bad_mapping_is_refused(world, chosen, message):
    official, cycle = world
    with pytest.raises(ValidationError, match=message):
        verification.stage_register(official, cycle.id, csv_bytes(ANNA), "r.csv", chosen)


def test_every_bad_line_is_reported_with_its_number_and_nothing_enters_the_register(world, snapshot):
    official, cycle = world
    data = csv_bytes(
        ANNA,                                          # line 2: good
        ("B2", "31.02.1980", "1111", "North"),         # line 3: no such date
        ("C3", "1980-01-01", "1111", "Nowhere"),       # line 4: unknown district
        ("", "1980-01-01", "", "North"),               # line 5: two empty fields
        ("ab 123-456", "30.04.1980", "1234AB", "north"),  # line 6: Anna again, written differently
        ("D4", "1980-01-01", "2222"),                  # line 7: too few columns
        ("E5", "2990-01-01", "2222", "South"),         # line 8: born in the future
    )
    upload, check = verification.stage_register(official, cycle.id, data, "r.csv", {})
    assert check.line_count == 7 and len(check.entries) == 1
    assert check.errors == [
        (3, "The date of birth is not a date (write it as 1980-04-30 or 30.04.1980)."),
        (4, "“Nowhere” is not a district of this cycle."),
        (5, "The document number is empty; the postcode is empty."),
        (6, "Duplicate: the same person as on line 2."),
        (7, "The district is empty."),
        (8, "The date of birth is not a date (write it as 1980-04-30 or 30.04.1980)."),
    ]
    assert db.session.scalar(select(RegisterEntry.id)) is None
    assert db.session.get(RegisterUpload, upload.id).line_count == 7


@pytest.mark.parametrize(("data", "message"), [
    (b"", "The file is empty."),
    (b"   \n", "The file is empty."),
    (HEADER.encode(), "header line but no residents"),
    (b"PK\x03\x04rest-of-a-zip", "Excel workbook"),
    (b"a,b\x00,c\n", "not a text file"),
    (b"\x81\x8d\x8f\x90\x9d,x\n", "not a text file"),
    (b"just one column\nvalue\n", "only one column"),
    (b"x" * (verification.MAX_REGISTER_BYTES + 1), "larger than 5 MB"),
])
def test_an_unreadable_file_is_refused_and_nothing_is_stored(world, snapshot, data, message):
    official, cycle = world
    before = snapshot()
    with pytest.raises(ValidationError, match=message):
        verification.stage_register(official, cycle.id, data, "r.csv", {})
    assert snapshot() == before


# --- storing and confirming ---------------------------------------------------------------------------------------


def test_the_register_holds_only_keyed_hashes(world, engine_name):
    official, cycle = world
    upload, _ = verification.stage_register(official, cycle.id, csv_bytes(ANNA, BORIS), "r.csv", {})
    # The pending upload is as blind as the register: check both before and after confirming.
    for _ in range(2):
        dump = repr([db.session.execute(select(table)).all() for table in db.metadata.sorted_tables])
        for secret in ("AB123456", "AB-123", "X9999999", "1980-04-30", "1234AB", "9999ZZ", "1975-01-02"):
            assert secret not in dump.upper()
        if upload:
            verification.confirm_register(official, cycle.id, upload.id)
            upload = None
    stored = db.session.scalars(select(RegisterEntry.entry_hash)).all()
    assert len(stored) == 2 and all(len(value) == 64 for value in stored)
    assert anna_hash() in stored


def test_the_hash_depends_on_the_server_key(app):
    first = anna_hash()
    app.config["REGISTER_KEY"] = "another key"
    assert anna_hash() != first


def test_confirming_adds_new_lines_and_keeps_known_ones(world, audit_log):
    official, cycle = world
    assert load_register(official, cycle, ANNA) == verification.RegisterChange(added=1, already_there=0)
    assert load_register(official, cycle, ANNA, BORIS) == verification.RegisterChange(added=1, already_there=1)
    assert db.session.scalar(select(RegisterUpload.id)) is None
    north, south = cycle.districts
    assert verification.register_counts(cycle) == {north.id: (1, 0), south.id: (1, 0)}
    confirmed = audit_log("confirm-register")
    assert confirmed[-1][4] == {"added": 1, "already_there": 1, "per_district": {"South": 1}}
    assert "AB123456" not in repr(audit_log())


def test_a_new_upload_replaces_the_waiting_one_and_the_old_cannot_be_confirmed(world):
    official, cycle = world
    first_id = verification.stage_register(official, cycle.id, csv_bytes(ANNA), "a.csv", {})[0].id
    second_id = verification.stage_register(official, cycle.id, csv_bytes(BORIS), "b.csv", {})[0].id
    assert second_id != first_id
    with pytest.raises(NotFound, match="no longer waiting"):
        verification.confirm_register(official, cycle.id, first_id)
    assert verification.confirm_register(official, cycle.id, second_id).added == 1


def test_discarding_leaves_the_register_unchanged(world):
    official, cycle = world
    upload, _ = verification.stage_register(official, cycle.id, csv_bytes(ANNA), "a.csv", {})
    verification.discard_upload(official, cycle.id, upload.id)
    assert db.session.scalar(select(RegisterUpload.id)) is None
    assert db.session.scalar(select(RegisterEntry.id)) is None


def test_only_officials_manage_the_register_and_only_until_voting_closes(world, make_user, make_cycle):
    official, cycle = world
    with pytest.raises(PermissionDenied):
        verification.stage_register(make_user(Role.MODERATOR), cycle.id, csv_bytes(ANNA), "r.csv", {})
    closed = make_cycle(Phase.TALLYING)
    with pytest.raises(PhaseError, match="until voting closes"):
        verification.stage_register(official, closed.id, csv_bytes(ANNA), "r.csv", {})
    draft = make_cycle(Phase.DRAFT)
    verification.stage_register(official, draft.id, csv_bytes(ANNA), "r.csv", {})


def test_an_upload_of_another_cycle_cannot_be_confirmed(world, make_cycle):
    official, cycle = world
    upload, _ = verification.stage_register(official, cycle.id, csv_bytes(ANNA), "r.csv", {})
    other = make_cycle(Phase.PROPOSALS)
    with pytest.raises(NotFound):
        verification.confirm_register(official, other.id, upload.id)


# --- residents and the register -----------------------------------------------------------------------------------


def test_a_resident_who_types_the_same_details_is_verified_for_that_district(world, make_user, audit_log):
    official, cycle = world
    load_register(official, cycle, ANNA, BORIS)
    anna = make_user()
    result = verification.verify_with_register(anna, cycle.id, ANNA_TYPED, HOME)
    stored = db.session.get(Verification, result.id)
    assert (stored.user_id, stored.district_id, stored.method, stored.verified_by_id) == (
        anna.id, cycle.districts[0].id, "register", anna.id)
    entry = db.session.scalar(select(RegisterEntry).where(RegisterEntry.used_by_id.is_not(None)))
    assert entry.used_by_id == anna.id and entry.district_id == cycle.districts[0].id
    assert audit_log("verify-resident") == [
        (anna.id, "verify-resident", f"user:{anna.id}", {}, {"district": "North", "method": "register"})
    ]


@pytest.mark.parametrize("typed", [
    RegisterDetails(document="AB123457", birth_date=date(1980, 4, 30), postcode="1234AB"),
    RegisterDetails(document="AB123456", birth_date=date(1980, 4, 29), postcode="1234AB"),
    RegisterDetails(document="AB123456", birth_date=date(1980, 4, 30), postcode="1234AC"),
    RegisterDetails(document=" - ", birth_date=date(1980, 4, 30), postcode="1234AB"),
])
def test_a_wrong_detail_says_only_that_they_do_not_match_and_is_counted(world, make_user, audit_log, typed):
    official, cycle = world
    load_register(official, cycle, ANNA)
    anna = make_user()
    with pytest.raises(ValidationError) as refusal:
        verification.verify_with_register(anna, cycle.id, typed, HOME)
    assert refusal.value.message == "These details do not match the register."
    assert db.session.scalar(select(Verification.id)) is None
    assert verification.account_failures(anna, cycle.id) == 1
    failed = audit_log("verification-failed")
    assert failed == [(anna.id, "verification-failed", f"user:{anna.id}", {}, {"locked": False, "method": "register"})]


def test_one_register_entry_verifies_one_account_ever(world, make_user):
    official, cycle = world
    load_register(official, cycle, ANNA)
    verification.verify_with_register(make_user(), cycle.id, ANNA_TYPED, HOME)
    impostor = make_user()
    with pytest.raises(ValidationError, match="These details do not match the register."):
        verification.verify_with_register(impostor, cycle.id, ANNA_TYPED, HOME)
    # Uploading the same person again does not give the entry a second life.
    assert load_register(official, cycle, ANNA).already_there == 1
    with pytest.raises(ValidationError):
        verification.verify_with_register(impostor, cycle.id, ANNA_TYPED, HOME)
    assert db.session.scalar(select(Verification.user_id).where(Verification.user_id == impostor.id)) is None


def test_a_verified_account_cannot_take_a_second_entry(world, make_user, snapshot):
    official, cycle = world
    load_register(official, cycle, ANNA, BORIS)
    anna = make_user()
    verification.verify_with_register(anna, cycle.id, ANNA_TYPED, HOME)
    before = snapshot()
    boris = RegisterDetails(document=BORIS[0], birth_date=date(1975, 1, 2), postcode=BORIS[2])
    with pytest.raises(ConflictError, match="already verified for North"):
        verification.verify_with_register(anna, cycle.id, boris, HOME)
    assert snapshot() == before


def test_verifying_oneself_follows_the_verify_resident_phases(world, make_user, make_cycle):
    official, cycle = world
    load_register(official, cycle, ANNA)
    db.session.execute(update(type(cycle)).where(type(cycle).id == cycle.id).values(phase=Phase.TALLYING))
    db.session.commit()
    with pytest.raises(PhaseError):
        verification.verify_with_register(make_user(), cycle.id, ANNA_TYPED, HOME)


def test_five_failures_lock_the_account_until_an_official_lifts_it(world, make_user, audit_log):
    official, cycle = world
    load_register(official, cycle, ANNA)
    anna = make_user()
    wrong = RegisterDetails(document="NOPE", birth_date=date(1980, 4, 30), postcode="1234AB")
    for attempt in range(verification.ACCOUNT_FAILURE_LIMIT):
        with pytest.raises(ValidationError):
            verification.verify_with_register(anna, cycle.id, wrong, f"198.51.100.{attempt}")
    assert audit_log("verification-failed")[-1][4] == {"locked": True, "method": "register"}
    # Locked: even the right details are refused now, from any address, and nothing more is counted.
    with pytest.raises(PermissionDenied, match="locked"):
        verification.verify_with_register(anna, cycle.id, ANNA_TYPED, "203.0.113.9")
    with pytest.raises(PermissionDenied, match="locked"):
        verification.verify_with_code(anna, cycle.id, "ABCD-EFGH-JKMN", "203.0.113.9")
    assert [lockout.user.id for lockout in verification.lockouts(cycle)] == [anna.id]
    with pytest.raises(PermissionDenied):
        verification.lift_lockout(make_user(Role.MODERATOR), cycle.id, anna.id)
    verification.lift_lockout(official, cycle.id, anna.id)
    assert verification.lockouts(cycle) == []
    assert audit_log("lift-verification-lockout") == [
        (official.id, "lift-verification-lockout", f"user:{anna.id}", {}, {})
    ]
    with pytest.raises(ConflictError, match="is not locked out"):
        verification.lift_lockout(official, cycle.id, anna.id)
    verification.verify_with_register(anna, cycle.id, ANNA_TYPED, HOME)


def test_the_lockout_is_per_cycle(world, make_user, make_cycle):
    _, cycle = world
    anna = make_user()
    other = make_cycle(Phase.PROPOSALS)
    wrong = RegisterDetails(document="NOPE", birth_date=date(1980, 4, 30), postcode="1234AB")
    for attempt in range(verification.ACCOUNT_FAILURE_LIMIT):
        with pytest.raises(ValidationError):
            verification.verify_with_register(anna, cycle.id, wrong, f"198.51.100.{attempt}")
    assert verification.is_locked(anna, cycle.id) and not verification.is_locked(anna, other.id)


def test_one_address_is_limited_across_accounts_for_an_hour(world, make_user):
    official, cycle = world
    load_register(official, cycle, ANNA)
    wrong = RegisterDetails(document="NOPE", birth_date=date(1980, 4, 30), postcode="1234AB")
    for _ in range(verification.ADDRESS_FAILURE_LIMIT // 4):
        user = make_user()
        for _ in range(4):
            with pytest.raises(ValidationError):
                verification.verify_with_register(user, cycle.id, wrong, HOME)
    fresh = make_user()
    with pytest.raises(PermissionDenied, match="from your network"):
        verification.verify_with_register(fresh, cycle.id, ANNA_TYPED, HOME)
    # The address is stored only as a keyed hash.
    assert HOME not in repr(db.session.execute(select(VerificationAttempt.address_hash)).all())
    verification.verify_with_register(fresh, cycle.id, ANNA_TYPED, "203.0.113.7")  # another network is fine
    # An hour later the address may try again.
    db.session.execute(update(VerificationAttempt).values(at=VerificationAttempt.at - timedelta(hours=1, minutes=1)))
    db.session.commit()
    with pytest.raises(ValidationError):
        verification.verify_with_register(make_user(), cycle.id, wrong, HOME)


# --- voting codes -------------------------------------------------------------------------------------------------


def test_generated_codes_are_stored_only_as_hashes_and_verify_one_account_once(world, make_user, audit_log):
    official, cycle = world
    south = cycle.districts[1]
    issued = verification.generate_codes(official, cycle.id, south.id, 3)
    assert [code.number for code in issued] == [1, 2, 3]
    assert all(len(code.code) == 14 and code.district == "South" for code in issued)
    dump = repr([db.session.execute(select(table)).all() for table in db.metadata.sorted_tables])
    assert not any(code.code in dump or code.code.replace("-", "") in dump for code in issued)
    assert audit_log("generate-voting-codes")[0][4] == {"count": 3, "district": "South", "numbers": "1-3"}

    resident = make_user()
    result = verification.verify_with_code(resident, cycle.id, issued[0].code.lower().replace("-", " "), HOME)
    stored = db.session.get(Verification, result.id)
    assert (stored.user_id, stored.district_id, stored.method) == (resident.id, south.id, "code")
    code = db.session.scalar(select(VotingCode).where(VotingCode.number == 1))
    assert code.used_by_id == resident.id

    with pytest.raises(ValidationError, match="already been used"):
        verification.verify_with_code(make_user(), cycle.id, issued[0].code, HOME)
    assert verification.generate_codes(official, cycle.id, south.id, 1)[0].number == 4


def test_one_account_verifying_for_two_districts_at_once_gets_exactly_one(app, engine_name, world, make_user):
    if engine_name == "sqlite":
        pytest.skip("SQLite has one writer at a time; the account lock under test is PostgreSQL's")
    import threading

    official, cycle = world
    north, south = cycle.districts
    rounds, outcomes = 8, []

    def verify_with(resident_id, code, barrier):
        with app.app_context():  # each thread its own session: a request of its own, as in the server
            resident = db.session.get(User, resident_id)
            barrier.wait()
            try:
                outcomes.append(verification.verify_with_code(resident, cycle.id, code, HOME).district_id)
            except ConflictError as refusal:
                outcomes.append(refusal.message)
            finally:
                db.session.remove()

    for _ in range(rounds):
        resident = make_user()
        codes = [verification.generate_codes(official, cycle.id, district.id, 1)[0].code for district in (north, south)]
        barrier = threading.Barrier(2)
        threads = [threading.Thread(target=verify_with, args=(resident.id, code, barrier)) for code in codes]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        stored = db.session.scalars(select(Verification.district_id).where(Verification.user_id == resident.id)).all()
        assert len(stored) == 1
    assert sum(isinstance(outcome, int) for outcome in outcomes) == rounds
    assert all("already verified for" in outcome for outcome in outcomes if isinstance(outcome, str))
    # The losing attempt changed nothing: its code is still unused and can verify someone else.
    assert db.session.scalar(select(func.count()).select_from(VotingCode).where(VotingCode.used_by_id.is_(None))) == rounds


def test_simultaneous_wrong_codes_cannot_exceed_the_account_limit(app, engine_name, world, make_user):
    if engine_name == "sqlite":
        pytest.skip("SQLite has one writer at a time; the account lock under test is PostgreSQL's")
    import threading

    _, cycle = world
    resident_id, attempts = make_user().id, verification.ACCOUNT_FAILURE_LIMIT * 2
    barrier, outcomes = threading.Barrier(attempts), []

    def guess(number):
        with app.app_context():  # each thread its own session: a request of its own, as in the server
            resident = db.session.get(User, resident_id)
            barrier.wait()
            try:
                verification.verify_with_code(resident, cycle.id, f"WRONG-CODE-{number:04d}", f"198.51.100.{number}")
            except (ValidationError, PermissionDenied) as refusal:
                outcomes.append(type(refusal).__name__)
            finally:
                db.session.remove()

    threads = [threading.Thread(target=guess, args=(number,)) for number in range(attempts)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    counted = db.session.scalar(select(func.count()).select_from(VerificationAttempt)
                                .where(VerificationAttempt.user_id == resident_id))
    assert counted == verification.ACCOUNT_FAILURE_LIMIT
    assert sorted(outcomes) == ["PermissionDenied"] * (attempts - counted) + ["ValidationError"] * counted


def test_a_voided_code_is_refused_and_counted(world, make_user, audit_log):
    official, cycle = world
    issued = verification.generate_codes(official, cycle.id, cycle.districts[0].id, 2)
    code_id = db.session.scalar(select(VotingCode.id).where(VotingCode.number == 1))
    verification.void_code(official, cycle.id, code_id)
    assert audit_log("void-voting-code")[0][4] == {"number": 1}
    resident = make_user()
    with pytest.raises(ValidationError, match="cancelled"):
        verification.verify_with_code(resident, cycle.id, issued[0].code, HOME)
    assert verification.account_failures(resident, cycle.id) == 1
    with pytest.raises(ConflictError, match="already void"):
        verification.void_code(official, cycle.id, code_id)


def test_a_used_code_cannot_be_voided(world, make_user):
    official, cycle = world
    issued = verification.generate_codes(official, cycle.id, cycle.districts[0].id, 1)
    verification.verify_with_code(make_user(), cycle.id, issued[0].code, HOME)
    code_id = db.session.scalar(select(VotingCode.id))
    with pytest.raises(ConflictError, match="already verified an account"):
        verification.void_code(official, cycle.id, code_id)


@pytest.mark.parametrize("typed", ["", "ABCD", "ABCD-EFGH-JKMN", "🙂" * 30])
def test_an_unknown_code_is_refused_and_counted(world, make_user, typed):
    official, cycle = world
    verification.generate_codes(official, cycle.id, cycle.districts[0].id, 1)
    resident = make_user()
    with pytest.raises(ValidationError, match="not valid"):
        verification.verify_with_code(resident, cycle.id, typed, HOME)
    assert verification.account_failures(resident, cycle.id) == 1


def test_a_code_of_another_cycle_is_not_valid_here(world, make_user, make_cycle):
    official, cycle = world
    other = make_cycle(Phase.PROPOSALS)
    issued = verification.generate_codes(official, other.id, other.districts[0].id, 1)
    with pytest.raises(ValidationError, match="not valid"):
        verification.verify_with_code(make_user(), cycle.id, issued[0].code, HOME)


@pytest.mark.parametrize(("count", "district", "error"), [
    (0, "own", ValidationError), (1001, "own", ValidationError), (5, "other", NotFound), (5, 999_999, NotFound),
])
def test_bad_code_requests_are_refused(world, make_cycle, snapshot, count, district, error):
    official, cycle = world
    other = make_cycle(Phase.PROPOSALS)
    district_id = {"own": cycle.districts[0].id, "other": other.districts[0].id}.get(district, district)
    before = snapshot()
    with pytest.raises(error):
        verification.generate_codes(official, cycle.id, district_id, count)
    assert snapshot() == before


def test_only_officials_generate_and_void_codes(world, make_user):
    official, cycle = world
    moderator = make_user(Role.MODERATOR)
    with pytest.raises(PermissionDenied):
        verification.generate_codes(moderator, cycle.id, cycle.districts[0].id, 1)
    verification.generate_codes(official, cycle.id, cycle.districts[0].id, 1)
    with pytest.raises(PermissionDenied):
        verification.void_code(moderator, cycle.id, db.session.scalar(select(VotingCode.id)))


# --- what a resident still needs ------------------------------------------------------------------------------------


def test_the_status_lists_what_is_missing_per_district(world, make_user, verify):
    _, cycle = world
    resident = make_user()
    north, south = verification.resident_status(resident, cycle)
    assert north.verified_how is None
    assert north.missing[0].startswith("Verification: type your details from the register")
    assert north.missing[-1].startswith("Voting is not open")
    verify(resident, cycle.districts[0])
    north, south = verification.resident_status(resident, cycle)
    assert north.verified_how == "in person by a moderator or an official"
    assert north.missing == ["Voting is not open."]
    assert south.missing[0].startswith("You are verified for another district")


def test_no_plain_details_reach_any_table(world, make_user, engine_name):
    """A whole-database dump after every kind of attempt holds none of the typed details."""
    official, cycle = world
    load_register(official, cycle, ANNA)
    wrong = RegisterDetails(document="ZZ777777", birth_date=date(1966, 6, 6), postcode="7777QQ")
    with pytest.raises(ValidationError):
        verification.verify_with_register(make_user(), cycle.id, wrong, HOME)
    verification.verify_with_register(make_user(), cycle.id, ANNA_TYPED, HOME)
    tables = [table.name for table in db.metadata.sorted_tables]
    dump = repr([db.session.execute(text(f'SELECT * FROM "{name}"')).all() for name in tables]).upper()
    for secret in ("AB123456", "ZZ777777", "1980-04-30", "1966-06-06", "1234AB", "7777QQ", HOME):
        assert secret not in dump
