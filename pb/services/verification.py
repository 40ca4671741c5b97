"""Residents verifying themselves: the hashed eligibility register, one-time voting codes and the attempt limits.

Nothing typed by a resident or read from a register file is stored or logged in plain text: a register line is kept
as HMAC-SHA256(REGISTER_KEY, "register|DOCUMENT|YYYY-MM-DD|POSTCODE") over the normalised details, a voting code as
HMAC-SHA256(REGISTER_KEY, "code|CODE"), and the address behind a failed attempt as a keyed hash as well.
"""

import csv
import hashlib
import hmac
import io
import json
import re
import secrets
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from flask import current_app
from flask_babel import gettext
from sqlalchemy import delete, func, select, text, update
from sqlalchemy.exc import IntegrityError

from pb.domain import cycle as cycle_rules
from pb.domain import timetable
from pb.domain.errors import ConflictError, NotFound, PermissionDenied, PhaseError, ValidationError
from pb.domain.messages import N_
from pb.extensions import db
from pb.models import (
    Cycle,
    District,
    Participation,
    RegisterEntry,
    RegisterUpload,
    User,
    Verification,
    VerificationAttempt,
    VotingCode,
    VotingCodeBatch,
    utcnow,
)
from pb.services import accounts, audit, branding, load, printing, use_case, voting
from pb.services.exports import spreadsheet_cell
from pb.services.voting import refuse_second_district, store_verification

MAX_REGISTER_BYTES = 5 * 1024 * 1024
MAX_REGISTER_LINES = 200_000
MAX_REPORTED_ERRORS = 1000
ACCOUNT_FAILURE_LIMIT = 5  # failed attempts per account and cycle before an official must lift the lock
ADDRESS_FAILURE_LIMIT = 20  # failed attempts per address and hour, across accounts
ADDRESS_WINDOW = timedelta(hours=1)
MAX_CODES_PER_BATCH = 1000
CODE_ALPHABET = "ABCDEFGHJKMNPQRSTVWXYZ23456789"  # no 0/O, 1/I/L, U: easy to read from a letter and type
CODE_LENGTH = 12

NO_MATCH = N_("These details do not match the register.")
FIELDS = ("document", "birth_date", "postcode", "district")
FIELD_LABELS = {
    "document": "document number", "birth_date": "date of birth", "postcode": "postcode", "district": "district",
}
# Header words that identify a column when the official leaves the mapping to us; matched on lowercase letters.
_HEADER_HINTS = {
    "document": ("document", "doc", "idnumber", "id", "passport", "ausweis", "dni", "nif", "pesel", "bsn"),
    "birth_date": ("dateofbirth", "birthdate", "birth", "dob", "born", "geburtsdatum", "geboortedatum"),
    "postcode": ("postcode", "postalcode", "zip", "zipcode", "plz", "postcode"),
    "district": ("district", "ward", "area", "neighbourhood", "neighborhood", "bezirk", "wijk"),
}
_DATE_FORMATS = ("%Y-%m-%d", "%d.%m.%Y", "%d/%m/%Y", "%d-%m-%Y", "%Y/%m/%d", "%Y%m%d")


def _key() -> bytes:
    return str(current_app.config["REGISTER_KEY"]).encode()


def _keyed_hash(kind: str, text: str) -> str:
    return hmac.new(_key(), f"{kind}|{text}".encode(), hashlib.sha256).hexdigest()


# --- normalising what people type ---------------------------------------------------------------------------------


def normalise_document(text: str) -> str:
    return re.sub(r"[\s\-\u2010-\u2015]", "", text or "").upper()


def normalise_postcode(text: str) -> str:
    return re.sub(r"\s", "", text or "").upper()


def parse_birth_date(text: str) -> date | None:
    """A date of birth written as 1980-04-30, 30.04.1980, 30/04/1980 or 30-04-1980; None when it is none of these."""
    value = (text or "").strip()
    for pattern in _DATE_FORMATS:
        try:
            parsed = datetime.strptime(value, pattern).date()
        except ValueError:
            continue
        return parsed if date(1900, 1, 1) <= parsed <= date.today() else None
    return None


def register_hash(document: str, birth_date: date, postcode: str) -> str:
    """The keyed hash under which a register line is stored and a resident's typed details are looked up."""
    return _keyed_hash("register", f"{normalise_document(document)}|{birth_date.isoformat()}|{normalise_postcode(postcode)}")


def _address_hash(address: str | None) -> str:
    return _keyed_hash("address", address or "unknown")


# --- reading a register file -------------------------------------------------------------------------------------


@dataclass
class RegisterCheck:
    """What a register file holds, before anything is stored: good lines as hashes, and every bad line with why."""

    headers: list[str]
    mapping: dict[str, str]
    line_count: int = 0
    entries: list[tuple[str, int]] = field(default_factory=list)  # (entry hash, district id)
    errors: list[tuple[int, str]] = field(default_factory=list)
    error_count: int = 0
    # The first good lines, normalised, shown once in the preview so the official can check the mapping; never stored.
    sample: list[dict[str, str]] = field(default_factory=list)

    def add_error(self, line: int, message: str) -> None:
        self.error_count += 1
        if len(self.errors) < MAX_REPORTED_ERRORS:
            self.errors.append((line, message))


def decode_register(data: bytes) -> str:
    """The text of an uploaded file: UTF-8 (with or without BOM), UTF-16 with BOM, or Windows-1252 as Excel writes."""
    if data.startswith((b"PK\x03\x04", b"\xd0\xcf\x11\xe0")):  # .xlsx (a zip) or the older .xls
        raise ValidationError(
            "This is an Excel workbook, not a CSV file. In Excel choose “Save as” → “CSV UTF-8” and upload that file."
        )
    try:
        if data.startswith((b"\xff\xfe", b"\xfe\xff")):
            text = data.decode("utf-16")
        elif data.startswith(b"\xef\xbb\xbf"):
            text = data[3:].decode("utf-8")
        else:
            try:
                text = data.decode("utf-8")
            except UnicodeDecodeError:
                text = data.decode("cp1252")
    except UnicodeDecodeError:
        raise ValidationError("The file is not a text file; upload the register as CSV.") from None
    if "\x00" in text:
        raise ValidationError("The file is not a text file; upload the register as CSV.")
    return text.lstrip("\ufeff")


def _separator(text: str) -> str:
    first = next((line for line in text.splitlines() if line.strip()), "")
    counts = {separator: first.count(separator) for separator in (";", ",", "\t")}
    best = max(counts, key=lambda separator: counts[separator])
    if counts[best] == 0:
        raise ValidationError(
            "The file has only one column. A register needs columns for the document number, date of birth, "
            "postcode and district, separated by commas or semicolons."
        )
    return best


def _letters(text: str) -> str:
    return re.sub(r"[^a-z]", "", text.lower())


def _resolve_mapping(headers: list[str], chosen: dict[str, str | None]) -> dict[str, int]:
    """Which column index holds each field: the official's choice, else a guess from the header names."""
    by_name = {header.strip().lower(): index for index, header in enumerate(headers)}
    columns: dict[str, int] = {}
    for name in FIELDS:
        wanted = (chosen.get(name) or "").strip()
        if wanted:
            if wanted.lower() not in by_name:
                raise ValidationError(
                    N_("The file has no column “{wanted}” for the {detail}. Its columns are: {columns}.",
                       wanted=wanted[:60], detail=FIELD_LABELS[name], columns=", ".join(headers))
                )
            columns[name] = by_name[wanted.lower()]
            continue
        free = [index for index in range(len(headers)) if index not in columns.values()]
        found = [i for i in free if _letters(headers[i]) in _HEADER_HINTS[name]] or [
            i for i in free if any(len(hint) >= 4 and hint in _letters(headers[i]) for hint in _HEADER_HINTS[name])
        ]
        if found:
            columns[name] = found[0]
        else:
            raise ValidationError(
                N_("Choose which column holds the {detail}. The file's columns are: {columns}.",
                   detail=FIELD_LABELS[name], columns=", ".join(headers))
            )
    if len(set(columns.values())) < len(columns):
        raise ValidationError("Each column can hold only one of the four details; choose a different column for each.")
    return columns


def check_register_file(cycle: Cycle, data: bytes, chosen: dict[str, str | None]) -> RegisterCheck:
    """Read a register file into hashes and a line-by-line error report; stores nothing."""
    if not data.strip():
        raise ValidationError("The file is empty.")
    if len(data) > MAX_REGISTER_BYTES:
        raise ValidationError(N_("The file is larger than {megabytes} MB; split it into parts.",
                                 megabytes=MAX_REGISTER_BYTES // (1024 * 1024)))
    text = decode_register(data)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=_separator(text))
    try:
        headers = [header.strip() for header in next(reader)]
        columns = _resolve_mapping(headers, chosen)
        districts = {district.name.strip().lower(): district for district in cycle.districts}
        check = RegisterCheck(headers=headers, mapping={name: headers[index] for name, index in columns.items()})
        first_line_of: dict[str, int] = {}
        for row in reader:
            line = reader.line_num
            if not any(cell.strip() for cell in row):
                continue
            check.line_count += 1
            if check.line_count > MAX_REGISTER_LINES:
                raise ValidationError(N_("The file has more than {most} lines; split it into parts.", most=MAX_REGISTER_LINES))
            cells = {name: (row[index].strip() if index < len(row) else "") for name, index in columns.items()}
            problems = [f"the {FIELD_LABELS[name]} is empty" for name in FIELDS if not cells[name]]
            birth_date = parse_birth_date(cells["birth_date"]) if cells["birth_date"] else None
            if cells["birth_date"] and birth_date is None:
                problems.append("the date of birth is not a date (write it as 1980-04-30 or 30.04.1980)")
            district = districts.get(cells["district"].lower()) if cells["district"] else None
            if cells["district"] and district is None:
                problems.append(f"“{cells['district'][:60]}” is not a district of this cycle")
            if problems:
                message = "; ".join(problems)
                check.add_error(line, message[0].upper() + message[1:] + ".")
                continue
            entry_hash = register_hash(cells["document"], birth_date, cells["postcode"])
            if entry_hash in first_line_of:
                check.add_error(line, f"Duplicate: the same person as on line {first_line_of[entry_hash]}.")
                continue
            first_line_of[entry_hash] = line
            check.entries.append((entry_hash, district.id))
            if len(check.sample) < 5:
                check.sample.append({
                    "line": str(line), "document": normalise_document(cells["document"]),
                    "birth_date": birth_date.isoformat(), "postcode": normalise_postcode(cells["postcode"]),
                    "district": district.name,
                })
    except csv.Error as error:
        raise ValidationError(N_("The file could not be read as CSV near line {line}: {error}.", line=reader.line_num,
                                 error=str(error))) from None
    except StopIteration:
        raise ValidationError("The file is empty.") from None
    if check.line_count == 0:
        raise ValidationError("The file has a header line but no residents.")
    return check


# --- the register: officials ---------------------------------------------------------------------------------------


def _official_cycle(actor: User, cycle_id: int) -> Cycle:
    if not actor.is_official:
        raise PermissionDenied("Only officials can manage the register and voting codes.")
    cycle = load(Cycle, cycle_id, "cycle")
    if not (cycle_rules.is_allowed("edit-setup", cycle.phase) or cycle_rules.is_allowed("verify-resident", cycle.phase)):
        raise PhaseError("The register and voting codes can only be changed until voting closes.")
    return cycle


def _district_of(cycle: Cycle, district_id: int) -> District:
    district = load(District, district_id, "district")
    if district.cycle_id != cycle.id:
        raise NotFound("There is no such district in this cycle.")
    return district


@use_case
def stage_register(
    actor: User, cycle_id: int, data: bytes, filename: str, chosen: dict[str, str | None]
) -> tuple[RegisterUpload, RegisterCheck]:
    """Check a register file and keep its hashes waiting for confirmation; the register itself is not touched."""
    cycle = _official_cycle(actor, cycle_id)
    check = check_register_file(cycle, data, chosen)
    db.session.execute(delete(RegisterUpload).where(RegisterUpload.cycle_id == cycle.id))
    upload = RegisterUpload(
        cycle_id=cycle.id, uploaded_by_id=actor.id, filename=(filename or "")[:200], headers=json.dumps(check.headers),
        mapping=json.dumps(check.mapping), line_count=check.line_count, errors=json.dumps(check.errors),
        entries=json.dumps(check.entries),
    )
    db.session.add(upload)
    db.session.flush()
    audit.record(
        actor, "check-register-file", f"register-upload:{upload.id}", cycle_id=cycle.id,
        after={"lines": check.line_count, "good": len(check.entries), "errors": check.error_count},
    )
    return upload, check


def pending_upload(cycle: Cycle) -> RegisterUpload | None:
    return db.session.scalar(select(RegisterUpload).where(RegisterUpload.cycle_id == cycle.id))


def _upload_of(cycle: Cycle, upload_id: int) -> RegisterUpload:
    upload = db.session.get(RegisterUpload, upload_id) if isinstance(upload_id, int) and 0 < upload_id < 2**31 else None
    if upload is None or upload.cycle_id != cycle.id:
        raise NotFound("This upload is no longer waiting; upload the file again.")
    return upload


@dataclass(frozen=True)
class RegisterChange:
    added: int
    already_there: int


@use_case
def confirm_register(actor: User, cycle_id: int, upload_id: int) -> RegisterChange:
    """Add a checked file's good lines to the register; lines already in it keep their state (used or not)."""
    cycle = _official_cycle(actor, cycle_id)
    upload = _upload_of(cycle, upload_id)
    known = set(db.session.scalars(select(RegisterEntry.entry_hash).where(RegisterEntry.cycle_id == cycle.id)))
    district_ids = {district.id for district in cycle.districts}
    added = Counter()
    already = 0
    for entry_hash, district_id in json.loads(upload.entries):
        if entry_hash in known:
            already += 1
            continue
        if district_id not in district_ids:
            raise ConflictError("A district of this upload was removed since; upload the file again.")
        db.session.add(RegisterEntry(cycle_id=cycle.id, district_id=district_id, entry_hash=entry_hash))
        added[district_id] += 1
    db.session.delete(upload)
    try:
        db.session.flush()
    except IntegrityError:
        raise ConflictError("The register was changed at the same moment elsewhere; upload the file again.") from None
    names = {district.id: district.name for district in cycle.districts}
    audit.record(
        actor, "confirm-register", f"register-upload:{upload.id}", cycle_id=cycle.id,
        after={"added": sum(added.values()), "already_there": already,
               "per_district": {names[district_id]: count for district_id, count in sorted(added.items())}},
    )
    return RegisterChange(added=sum(added.values()), already_there=already)


@use_case
def discard_upload(actor: User, cycle_id: int, upload_id: int) -> None:
    """Throw away a checked file that is waiting for confirmation."""
    cycle = _official_cycle(actor, cycle_id)
    upload = _upload_of(cycle, upload_id)
    db.session.delete(upload)
    audit.record(actor, "discard-register-file", f"register-upload:{upload.id}", cycle_id=cycle.id)


def register_counts(cycle: Cycle) -> dict[int, tuple[int, int]]:
    """Per district id: (entries in the register, entries that have verified an account)."""
    rows = db.session.execute(
        select(RegisterEntry.district_id, func.count(), func.count(RegisterEntry.used_by_id))
        .where(RegisterEntry.cycle_id == cycle.id).group_by(RegisterEntry.district_id)
    ).all()
    counts = {row[0]: (row[1], row[2]) for row in rows}
    return {district.id: counts.get(district.id, (0, 0)) for district in cycle.districts}


# --- attempts and lockouts -----------------------------------------------------------------------------------------


def account_failures(user: User, cycle_id: int) -> int:
    return db.session.scalar(
        select(func.count()).select_from(VerificationAttempt).where(
            VerificationAttempt.user_id == user.id, VerificationAttempt.cycle_id == cycle_id,
            VerificationAttempt.is_lifted.is_(False),
        )
    )


def is_locked(user: User, cycle_id: int) -> bool:
    return account_failures(user, cycle_id) >= ACCOUNT_FAILURE_LIMIT


def _address_failures(address_hash: str) -> int:
    return db.session.scalar(
        select(func.count()).select_from(VerificationAttempt).where(
            VerificationAttempt.address_hash == address_hash, VerificationAttempt.at >= utcnow() - ADDRESS_WINDOW,
        )
    )


LOCKED = N_(
    "Too many attempts did not match, so verifying yourself is locked for your account in this cycle. "
    "An official can lift the lock, or a moderator can verify you in person."
)
BUSY_ADDRESS = N_("Too many attempts came from your network in the last hour. Try again later.")


def _one_attempt_at_a_time(actor: User, address_hash: str) -> None:
    """Make simultaneous attempts by one account, or from one address, wait for each other.

    Each attempt reads before it writes: "not verified for any district yet", "fewer than 5 failures". Two attempts
    at once (two tabs verifying for two districts, a script firing wrong guesses in parallel) would both pass those
    checks. On PostgreSQL the account's row lock and a lock on the address's hash serialise them; on SQLite the use
    case already holds the database's single write lock.
    """
    if db.session.connection().dialect.name != "postgresql":
        return
    db.session.execute(select(User.id).where(User.id == actor.id).with_for_update())
    db.session.execute(text("SELECT pg_advisory_xact_lock(hashtextextended(:key, 0))"), {"key": f"pb-verify|{address_hash}"})


def _attempt(
    actor: User, cycle_id: int, address: str | None, method: str,
    find: Callable[[Cycle], tuple[District | None, str]],
) -> tuple[Verification | None, str]:
    """The shared shape of a self-verification: limits, then `find`, then a verification or a counted failure."""
    accounts.require_confirmed(actor)
    cycle = load(Cycle, cycle_id, "cycle")
    cycle_rules.require_phase("verify-resident", cycle.phase)
    address_hash = _address_hash(address)
    _one_attempt_at_a_time(actor, address_hash)
    refuse_second_district(actor, cycle.id, None, by_self=True)
    if is_locked(actor, cycle.id):
        raise PermissionDenied(LOCKED)
    if _address_failures(address_hash) >= ADDRESS_FAILURE_LIMIT:
        raise PermissionDenied(BUSY_ADDRESS)
    district, failure = find(cycle)
    if district is None:
        db.session.add(VerificationAttempt(user_id=actor.id, cycle_id=cycle.id, address_hash=address_hash, method=method))
        db.session.flush()
        is_now_locked = is_locked(actor, cycle.id)
        audit.record(
            actor, "verification-failed", f"user:{actor.id}", cycle_id=cycle.id,
            after={"method": method, "locked": is_now_locked},
        )
        return None, failure
    verification = Verification(
        user_id=actor.id, cycle_id=cycle.id, district_id=district.id, verified_by_id=actor.id, method=method,
    )
    store_verification(verification, actor, by_self=True)
    audit.record(
        actor, "verify-resident", f"user:{actor.id}", cycle_id=cycle.id,
        after={"district": district.name, "method": method},
    )
    return verification, ""


@dataclass(frozen=True)
class RegisterDetails:
    """What a resident types to find themselves in the register; held in memory only."""

    document: str
    birth_date: date
    postcode: str


@use_case
def _try_register(actor: User, cycle_id: int, details: RegisterDetails, address: str | None):
    def find(cycle: Cycle) -> tuple[District | None, str]:
        if not normalise_document(details.document) or not normalise_postcode(details.postcode):
            return None, NO_MATCH
        entry = db.session.scalar(select(RegisterEntry).where(
            RegisterEntry.cycle_id == cycle.id,
            RegisterEntry.entry_hash == register_hash(details.document, details.birth_date, details.postcode),
        ))
        if entry is None or entry.used_by_id is not None:
            return None, NO_MATCH
        # The update claims the entry only if no one else did in the meantime: one entry, one account, ever.
        claimed = db.session.execute(
            update(RegisterEntry).where(RegisterEntry.id == entry.id, RegisterEntry.used_by_id.is_(None))
            .values(used_by_id=actor.id, used_at=utcnow())
        ).rowcount
        if claimed != 1:
            raise ConflictError("These details were used at the same moment elsewhere; reload the page.")
        return entry.district, ""

    return _attempt(actor, cycle_id, address, "register", find)


def verify_with_register(actor: User, cycle_id: int, details: RegisterDetails, address: str | None) -> Verification:
    """A resident verifies themself with the register; a failed attempt is stored (and counted) before the refusal."""
    verification, failure = _try_register(actor, cycle_id, details, address)
    if verification is None:
        raise ValidationError(failure)
    return verification


# --- voting codes --------------------------------------------------------------------------------------------------


def normalise_code(text: str) -> str:
    return "".join(ch for ch in (text or "").upper() if ch.isalnum())[: CODE_LENGTH + 8]


def format_code(code: str) -> str:
    return "-".join(code[i : i + 4] for i in range(0, len(code), 4))


def code_hash(code: str) -> str:
    return _keyed_hash("code", normalise_code(code))


@dataclass(frozen=True)
class IssuedCode:
    """A code as printed on the sheet and the letters: the number to find it again, and the secret itself."""

    number: int
    code: str
    district: str


# --- voting code batches: printable again until forgotten -----------------------------------------------------------
#
# Only a code's keyed hash is stored, so the plain code exists once, when it is made. A city needs it more than once:
# the sheet, the mail-merge CSV for the printer and the PDF of letters, and a reload must never make new codes. So a
# batch keeps a random seed, and its codes are *derived* from it: code = HMAC-SHA256(REGISTER_KEY, "code-batch|seed|
# number"), written in CODE_ALPHABET. Like encryption with the app's key: the database alone (a dump, a backup) does
# not give the codes, the key and the seed together do. The seed lives only as long as the batch is needed: an
# official forgets it once the letters are out (the codes keep working; only their printable forms are gone), and
# after voting closes a batch is no longer shown at all, when its codes can verify no one anyway.


def batch_code(seed: str, number: int) -> str:
    """The code with this number in the batch with this seed (CODE_LENGTH characters of CODE_ALPHABET)."""
    value = int.from_bytes(hmac.new(_key(), f"code-batch|{seed}|{number}".encode(), hashlib.sha256).digest(), "big")
    characters = []
    for _ in range(CODE_LENGTH):  # 256 bits of HMAC, 59 used: the leftover makes the bias negligible
        value, index = divmod(value, len(CODE_ALPHABET))
        characters.append(CODE_ALPHABET[index])
    return "".join(characters)


def _new_batch(actor: User, cycle_id: int, district_id: int, count: int) -> VotingCodeBatch:
    cycle = _official_cycle(actor, cycle_id)
    district = _district_of(cycle, district_id)
    if not isinstance(count, int) or not 1 <= count <= MAX_CODES_PER_BATCH:
        raise ValidationError(N_("Generate 1 to {most} codes at a time.", most=MAX_CODES_PER_BATCH))
    last = db.session.scalar(select(func.max(VotingCode.number)).where(VotingCode.cycle_id == cycle.id)) or 0
    batch = VotingCodeBatch(cycle_id=cycle.id, district_id=district.id, first_number=last + 1, count=count,
                            seed=secrets.token_hex(32), created_by_id=actor.id)
    db.session.add(batch)
    db.session.flush()
    for number in range(batch.first_number, batch.last_number + 1):
        db.session.add(VotingCode(
            cycle_id=cycle.id, district_id=district.id, number=number, batch_id=batch.id,
            code_hash=code_hash(batch_code(batch.seed, number)), created_by_id=actor.id,
        ))
    try:
        db.session.flush()
    except IntegrityError:
        raise ConflictError("Codes were generated at the same moment elsewhere; try again.") from None
    audit.record(
        actor, "generate-voting-codes", f"district:{district.id}", cycle_id=cycle.id,
        after={"district": district.name, "count": count, "numbers": f"{batch.first_number}-{batch.last_number}"},
    )
    return batch


def _issued(batch: VotingCodeBatch) -> list[IssuedCode]:
    return [
        IssuedCode(number=number, code=format_code(batch_code(batch.seed, number)), district=batch.district.name)
        for number in range(batch.first_number, batch.last_number + 1)
    ]


@use_case
def generate_code_batch(actor: User, cycle_id: int, district_id: int, count: int) -> VotingCodeBatch:
    """Make a batch of `count` one-time codes for a district; its sheet, CSV and letters show the same codes."""
    return _new_batch(actor, cycle_id, district_id, count)


@use_case
def generate_codes(actor: User, cycle_id: int, district_id: int, count: int) -> list[IssuedCode]:
    """Make a batch of codes and return them (for the CLI and tests; the web shows the batch's sheet instead)."""
    return _issued(_new_batch(actor, cycle_id, district_id, count))


def _printable_batch(actor: User, cycle_id: int, batch_id: int) -> tuple[Cycle, VotingCodeBatch]:
    cycle = _official_cycle(actor, cycle_id)
    batch = load(VotingCodeBatch, batch_id, "batch of voting codes")
    if batch.cycle_id != cycle.id:
        raise NotFound("There is no such batch of voting codes in this cycle.")
    if batch.seed is None:
        raise ConflictError(N_(
            "The codes numbered {first} to {last} were forgotten after printing, so they cannot be shown again. "
            "Void any that were lost and generate new ones.", first=batch.first_number, last=batch.last_number,
        ))
    return cycle, batch


@dataclass(frozen=True)
class CodeBatchSheet:
    """A batch as its sheet shows it: the codes, and which of them were used or voided since."""

    cycle: Cycle
    batch: VotingCodeBatch
    codes: list[IssuedCode]
    states: dict[int, str]  # number -> "used" / "void" for the codes that can no longer verify anyone


def code_batch_sheet(actor: User, cycle_id: int, batch_id: int) -> CodeBatchSheet:
    """The batch's codes, the same on every reload; reading them writes nothing (the downloads are logged)."""
    cycle, batch = _printable_batch(actor, cycle_id, batch_id)
    states = {
        code.number: "void" if code.voided_at else "used"
        for code in db.session.scalars(select(VotingCode).where(
            VotingCode.batch_id == batch.id, (VotingCode.used_by_id.is_not(None)) | (VotingCode.voided_at.is_not(None))
        ))
    }
    return CodeBatchSheet(cycle=cycle, batch=batch, codes=_issued(batch), states=states)


MAIL_MERGE_COLUMNS = ("number", "code", "district", "cycle", "address", "valid_until", "city", "contact")


@use_case
def code_batch_csv(actor: User, cycle_id: int, batch_id: int, verify_url: str) -> str:
    """The batch as a mail-merge CSV (one row per code that can still verify someone), logged in the audit log.

    One row holds everything a letter prints: the letter's number (to void it if lost), the code, the district, the
    cycle, the address where it is typed, the moment voting closes and the city's name and contact line.
    """
    sheet = code_batch_sheet(actor, cycle_id, batch_id)
    cycle, identity = sheet.cycle, branding.current()
    closes = timetable.shown(cycle.voting_close_at, cycle.timezone) if cycle.voting_close_at else ""
    contact = " · ".join(part for part in (identity.contact_address, identity.contact_phone, identity.contact_email) if part)
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(MAIL_MERGE_COLUMNS)
    for issued in sheet.codes:
        if issued.number in sheet.states:
            continue
        writer.writerow([
            issued.number, issued.code, spreadsheet_cell(issued.district), spreadsheet_cell(cycle.name), verify_url,
            str(closes), spreadsheet_cell(identity.name), spreadsheet_cell(contact),
        ])
    _record_download(actor, sheet, "csv")
    return "\ufeff" + buffer.getvalue()  # a byte-order mark, so Excel and LibreOffice read UTF-8


# One PDF holds at most this many letters: WeasyPrint lays out about 30 letters a second on the 2-core reference
# machine (bench/printing.py), so a whole batch of 1,000 in one file would outlast gunicorn's 30 s worker timeout.
LETTERS_PER_PDF = 200


@dataclass(frozen=True)
class LetterPart:
    """One PDF of a batch's letters: its place among the parts and the code numbers it covers."""

    part: int
    first: int
    last: int
    count: int


def _usable(sheet: CodeBatchSheet) -> list[IssuedCode]:
    return [issued for issued in sheet.codes if issued.number not in sheet.states]


def letter_parts(sheet: CodeBatchSheet) -> list[LetterPart]:
    """The batch's letters split into PDFs of at most LETTERS_PER_PDF codes that can still verify someone."""
    usable = _usable(sheet)
    chunks = [usable[start:start + LETTERS_PER_PDF] for start in range(0, len(usable), LETTERS_PER_PDF)]
    return [LetterPart(index, chunk[0].number, chunk[-1].number, len(chunk)) for index, chunk in enumerate(chunks, 1)]


@use_case
def code_batch_letters(actor: User, cycle_id: int, batch_id: int, verify_url: str, part: int = 1) -> bytes:
    """One part of the batch's letters as a PDF, one A4 page per code that can still verify someone, logged in the
    audit log with the numbers it holds."""
    sheet = code_batch_sheet(actor, cycle_id, batch_id)
    parts = letter_parts(sheet)
    if not parts:
        raise ValidationError(N_("Every code of this batch is used or voided: there is no letter to print."))
    if not isinstance(part, int) or not 1 <= part <= len(parts):
        raise ValidationError(N_("Choose one of the {count} parts of the letters.", count=len(parts)))
    chosen = parts[part - 1]
    codes = [issued for issued in _usable(sheet) if chosen.first <= issued.number <= chosen.last]
    head = printing.letterhead()
    body = printing.document(
        "reports/voting_letters.html", head, printing.made_on(sheet.cycle.timezone),
        gettext("Your voting code: %(name)s", name=sheet.cycle.name), cycle=sheet.cycle,
        codes=codes, verify_url=verify_url,
    )
    _record_download(actor, sheet, "pdf", numbers=f"{chosen.first}-{chosen.last}", count=chosen.count)
    return body


def _record_download(actor: User, sheet: CodeBatchSheet, kind: str, *, numbers: str | None = None,
                     count: int | None = None) -> None:
    audit.record(
        actor, "download-voting-codes", f"voting-code-batch:{sheet.batch.id}", cycle_id=sheet.cycle.id,
        after={"format": kind, "district": sheet.batch.district.name,
               "numbers": numbers or f"{sheet.batch.first_number}-{sheet.batch.last_number}",
               "count": len(sheet.codes) - len(sheet.states) if count is None else count},
    )


@use_case
def forget_code_batch(actor: User, cycle_id: int, batch_id: int) -> VotingCodeBatch:
    """Drop a batch's seed once its letters are out: the codes keep working, but cannot be shown or printed again."""
    _, batch = _printable_batch(actor, cycle_id, batch_id)
    batch.seed = None
    batch.forgotten_at = utcnow()
    audit.record(actor, "forget-voting-codes", f"voting-code-batch:{batch.id}", cycle_id=batch.cycle_id,
                 after={"numbers": f"{batch.first_number}-{batch.last_number}"})
    return batch


def code_batches(cycle: Cycle) -> list[VotingCodeBatch]:
    """The cycle's batches, newest first, for the codes page."""
    return list(db.session.scalars(
        select(VotingCodeBatch).where(VotingCodeBatch.cycle_id == cycle.id).order_by(VotingCodeBatch.id.desc())
    ))


def list_codes(cycle: Cycle) -> list[VotingCode]:
    return list(db.session.scalars(select(VotingCode).where(VotingCode.cycle_id == cycle.id).order_by(VotingCode.number)))


@use_case
def void_code(actor: User, cycle_id: int, code_id: int) -> VotingCode:
    """Cancel a code that was lost or sent to the wrong household; a used code stays used."""
    cycle = _official_cycle(actor, cycle_id)
    code = load(VotingCode, code_id, "voting code")
    if code.cycle_id != cycle.id:
        raise NotFound("There is no such voting code in this cycle.")
    if code.voided_at is not None:
        raise ConflictError(N_("Code number {number} is already void.", number=code.number))
    if code.used_by_id is not None:
        raise ConflictError(N_("Code number {number} has already verified an account; voiding it would change nothing.",
                              number=code.number))
    code.voided_at = utcnow()
    code.voided_by_id = actor.id
    audit.record(actor, "void-voting-code", f"voting-code:{code.id}", cycle_id=cycle.id, after={"number": code.number})
    return code


@use_case
def _try_code(actor: User, cycle_id: int, typed: str, address: str | None):
    def find(cycle: Cycle) -> tuple[District | None, str]:
        code = normalise_code(typed)
        found = db.session.scalar(select(VotingCode).where(VotingCode.code_hash == code_hash(code))) if code else None
        if found is None or found.cycle_id != cycle.id:
            return None, "This code is not valid. Check it and try again."
        if found.voided_at is not None:
            return None, "This code has been cancelled. Ask the city for a new one."
        if found.used_by_id is not None:
            return None, "This code has already been used."
        claimed = db.session.execute(
            update(VotingCode).where(
                VotingCode.id == found.id, VotingCode.used_by_id.is_(None), VotingCode.voided_at.is_(None)
            ).values(used_by_id=actor.id, used_at=utcnow())
        ).rowcount
        if claimed != 1:
            raise ConflictError("This code was used or cancelled at the same moment; reload the page.")
        return found.district, ""

    return _attempt(actor, cycle_id, address, "code", find)


def verify_with_code(actor: User, cycle_id: int, typed: str, address: str | None) -> Verification:
    """A resident verifies themself with a one-time code; a failed attempt is stored (and counted) before the refusal."""
    verification, failure = _try_code(actor, cycle_id, typed, address)
    if verification is None:
        raise ValidationError(failure)
    return verification


# --- lockouts and what a resident still needs ----------------------------------------------------------------------


@dataclass(frozen=True)
class Lockout:
    user: User
    failures: int
    last_at: datetime


def lockouts(cycle: Cycle) -> list[Lockout]:
    rows = db.session.execute(
        select(VerificationAttempt.user_id, func.count(), func.max(VerificationAttempt.at))
        .where(VerificationAttempt.cycle_id == cycle.id, VerificationAttempt.is_lifted.is_(False))
        .group_by(VerificationAttempt.user_id).having(func.count() >= ACCOUNT_FAILURE_LIMIT)
        .order_by(func.max(VerificationAttempt.at).desc())
    ).all()
    return [Lockout(user=db.session.get(User, user_id), failures=count, last_at=last) for user_id, count, last in rows]


@use_case
def lift_lockout(actor: User, cycle_id: int, user_id: int) -> User:
    """An official lets a locked-out resident try again (the address limit still applies)."""
    if not actor.is_official:
        raise PermissionDenied("Only officials can lift a lockout.")
    cycle = load(Cycle, cycle_id, "cycle")
    resident = load(User, user_id, "user")
    if not is_locked(resident, cycle.id):
        raise ConflictError(N_("{name} is not locked out in this cycle.", name=resident.name))
    db.session.execute(
        update(VerificationAttempt).where(
            VerificationAttempt.user_id == resident.id, VerificationAttempt.cycle_id == cycle.id,
        ).values(is_lifted=True)
    )
    audit.record(actor, "lift-verification-lockout", f"user:{resident.id}", cycle_id=cycle.id)
    return resident


MAX_REVOKE_REASON_LENGTH = 500


def revocation_blocker(resident: User, district: District) -> str | None:
    """Why a resident's verification in a district can no longer be revoked (they voted there), or None if it can.

    An online ballot is asked of the voting service (however it stores ballots); a paper voter is a resident an
    official marked at a polling station, whose anonymous sheet is in the box and cannot be taken out again.
    """
    channel = db.session.scalar(
        select(Participation.channel).where(Participation.user_id == resident.id, Participation.district_id == district.id)
    )
    if channel == "paper":
        return N_(
            "{name} is marked as having voted on paper in {district}, so this verification stands: a paper ballot in "
            "the box cannot be taken out. If the mark itself was a mistake (they took no paper ballot), an official "
            "first takes back the mark on the paper voters page, with a reason. Nothing was changed.",
            name=resident.name, district=district.name,
        )
    if channel is not None or voting.stored_version(resident, district.cycle_id, district.id) > 0:
        return N_(
            "{name} has already voted online in {district}, so this verification stands: their ballot is counted "
            "and cannot be withdrawn by revoking. If they were verified for the wrong district, tell the election "
            "officer, who records it for the count. Nothing was changed.", name=resident.name, district=district.name,
        )
    return None


@use_case
def revoke_verification(actor: User, cycle_id: int, user_id: int, reason: str) -> District:
    """A moderator or official takes back a resident's verification (a wrong district, a mistake) before they vote.

    The reason goes into the audit log with what was revoked. A register line or voting code that verified the
    resident stays used: after revoking, verify them in person for the right district.
    """
    if not actor.is_moderator:
        raise PermissionDenied("Only moderators and officials can revoke a verification.")
    cycle = load(Cycle, cycle_id, "cycle")
    cycle_rules.require_phase("verify-resident", cycle.phase)
    resident = load(User, user_id, "user")
    if resident.id == actor.id:
        raise PermissionDenied("You cannot revoke your own verification; ask another moderator or official.")
    reason = " ".join((reason or "").split())
    if not reason:
        raise ValidationError("Say why the verification is revoked; the reason is kept in the audit log. Nothing was changed.")
    if len(reason) > MAX_REVOKE_REASON_LENGTH:
        raise ValidationError(N_("Keep the reason under {most} characters. Nothing was changed.",
                                 most=MAX_REVOKE_REASON_LENGTH))
    # Locked for update: a ballot or paper-voter mark relying on this verification (which share-locks it) either
    # finished first, and is seen below, or waits and then finds the verification gone.
    verification = db.session.scalar(
        select(Verification).where(Verification.user_id == resident.id, Verification.cycle_id == cycle.id)
        .with_for_update().execution_options(populate_existing=True)
    )
    if verification is None:
        raise ConflictError(N_("{name} is not verified in this cycle; nothing was changed.", name=resident.name))
    district = verification.district
    blocker = revocation_blocker(resident, district)
    if blocker is not None:
        raise ConflictError(blocker)
    before = {"district": district.name, "method": verification.method, "verified_by": verification.verified_by_id}
    db.session.delete(verification)
    audit.record(actor, "revoke-verification", f"user:{resident.id}", cycle_id=cycle.id, before=before,
                 after={"reason": reason})
    return district


def revocation_blockers(user: User, cycle: Cycle) -> dict[int, str | None]:
    """Per district id where the resident is verified: why revoking is refused, or None when it is possible."""
    return {
        verification.district_id: revocation_blocker(user, verification.district)
        for verification in db.session.scalars(
            select(Verification).where(Verification.user_id == user.id, Verification.cycle_id == cycle.id)
        )
    }


METHOD_LABELS = {
    "in-person": N_("in person by a moderator or an official"),
    "register": N_("with the eligibility register"),
    "code": N_("with a voting code"),
}


@dataclass(frozen=True)
class DistrictStatus:
    """One district as a resident sees it: how they are verified there, and what still stands before their vote."""

    district: District
    verified_how: str | None
    missing: list[str]


def resident_status(user: User, cycle: Cycle) -> list[DistrictStatus]:
    verifications = {
        v.district_id: v for v in db.session.scalars(
            select(Verification).where(Verification.user_id == user.id, Verification.cycle_id == cycle.id)
        )
    }
    locked = is_locked(user, cycle.id)
    can_verify = cycle_rules.is_allowed("verify-resident", cycle.phase)
    statuses = []
    for district in cycle.districts:
        missing = []
        verification = verifications.get(district.id)
        if verification is None:
            if verifications:
                missing.append(N_("You are verified for another district; an account verifies itself for one district."))
            elif not can_verify:
                missing.append(N_("Verification: residents can verify themselves from the opening of proposals "
                                  "until voting closes."))
            elif locked:
                missing.append(N_("Verification: your attempts are locked; an official can lift the lock, "
                                  "or a moderator can verify you in person."))
            else:
                missing.append(N_("Verification: type your details from the register, enter a voting code, "
                                  "or ask a moderator to verify you in person."))
        if not cycle_rules.is_allowed("vote", cycle.phase):
            missing.append(N_("Voting is not open (planned for {day}).", day=timetable.shown(cycle.voting_open_at, cycle.timezone))
                           if cycle.voting_open_at else N_("Voting is not open."))
        statuses.append(DistrictStatus(
            district=district,
            verified_how=METHOD_LABELS.get(verification.method, verification.method) if verification else None,
            missing=missing,
        ))
    return statuses
