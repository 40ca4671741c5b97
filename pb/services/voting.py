"""Verified residents casting and changing their secret ballot, one per district, and opening the ballot box."""

import hashlib
import hmac
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime

from flask import current_app
from sqlalchemy import func, insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import joinedload
from sqlalchemy.orm.exc import StaleDataError

from pb.domain import ballots as ballot_rules
from pb.domain import cycle as cycle_rules
from pb.domain import notifications, sealing, timetable
from pb.domain.cycle import Phase
from pb.domain.errors import ConflictError, NotFound, PermissionDenied, PhaseError
from pb.domain.messages import N_
from pb.extensions import db
from pb.models import Ballot, BallotChoice, Cycle, District, Participation, SealedBallot, User, Verification, utcnow
from pb.services import audit, ballot_designs, is_plausible_id, load, mail, use_case


def ballot_token(user_id: int, cycle_id: int, district_id: int) -> str:
    """The key under which a voter's ballot is stored: only the server, holding the secret, can link it back."""
    key = str(current_app.config["BALLOT_KEY"]).encode()
    message = f"ballot|{user_id}|{cycle_id}|{district_id}".encode()
    return hmac.new(key, message, hashlib.sha256).hexdigest()


RECEIPT_ALPHABET = "ABCDEFGHJKMNPQRSTVWXYZ23456789"  # no 0/O, 1/I/L, U: easy to read aloud and copy
RECEIPT_LENGTH = 12


def _receipt_for(token: str, version: int) -> str:
    """A receipt code derived from the ballot's token and version: a changed ballot gets a new one."""
    key = str(current_app.config["BALLOT_KEY"]).encode()
    digest = int.from_bytes(hmac.new(key, f"receipt|{token}|{version}".encode(), hashlib.sha256).digest(), "big")
    letters = []
    for _ in range(RECEIPT_LENGTH):
        digest, index = divmod(digest, len(RECEIPT_ALPHABET))
        letters.append(RECEIPT_ALPHABET[index])
    return "".join(letters)


def format_receipt(receipt: str) -> str:
    return "-".join(receipt[i : i + 4] for i in range(0, len(receipt), 4))


def normalise_receipt(text: str) -> str:
    return "".join(ch for ch in (text or "").upper() if ch.isalnum())[: RECEIPT_LENGTH + 4]


def _district_of(cycle: Cycle, district_id: int) -> District:
    district = load(District, district_id, "district")
    if district.cycle_id != cycle.id:
        raise NotFound("There is no such district in this cycle.")
    return district


def find_district(cycle_id: int, district_id: int) -> District | None:
    """A district of a cycle with its cycle loaded, in one query (both ballot requests need both); None if unknown."""
    if not (is_plausible_id(cycle_id) and is_plausible_id(district_id)):
        return None
    return db.session.scalar(
        select(District).options(joinedload(District.cycle))
        .where(District.id == district_id, District.cycle_id == cycle_id)
    )


def _district_with_cycle(cycle_id: int, district_id: int) -> District:
    """The district with its cycle; no query when the view has just read them in this transaction."""
    district = None
    if is_plausible_id(district_id):
        district = db.session.get(District, district_id, options=[joinedload(District.cycle)])
    if district is None or district.cycle_id != cycle_id:
        district = _district_of(load(Cycle, cycle_id, "cycle"), district_id)  # the NotFound that names what is missing
    return district


def _verification_in(user: User, district_id: int):
    """The query for a resident's verification in a district, read under a share lock on PostgreSQL.

    The lock makes a revocation (which locks the row for update, then checks that no ballot exists) and a use case
    relying on the verification (a ballot, a paper-voter mark) wait for each other: either the revocation sees the
    ballot, or the ballot sees that the verification is gone. SQLite runs one use case at a time and ignores it.
    """
    return (
        select(Verification.id)
        .where(Verification.user_id == user.id, Verification.district_id == district_id)
        .with_for_update(read=True)
    )


def is_verified(user: User, district_id: int) -> bool:
    return db.session.scalar(_verification_in(user, district_id)) is not None


@dataclass(frozen=True)
class Standing:
    """What decides whether a resident may vote online in a district."""

    is_verified: bool
    voted_on_paper: bool


def voter_standing(user: User, district_id: int) -> Standing:
    """Whether the resident is verified in the district (share-locking that verification) and voted there on paper.

    One query for a verified resident (every ballot): their verification row, locked, with the paper question.
    """
    on_paper = select(Participation.id).where(
        Participation.user_id == user.id, Participation.district_id == district_id, Participation.channel == "paper",
    ).exists()
    row = db.session.execute(
        select(Verification.id, on_paper)
        .where(Verification.user_id == user.id, Verification.district_id == district_id)
        .with_for_update(read=True, of=Verification)
    ).first()
    if row is not None:
        return Standing(is_verified=True, voted_on_paper=bool(row[1]))
    return Standing(is_verified=False, voted_on_paper=bool(db.session.scalar(select(on_paper))))


def verified_district_ids(user: User, cycle_id: int) -> set[int]:
    return set(
        db.session.scalars(
            select(Verification.district_id).where(Verification.user_id == user.id, Verification.cycle_id == cycle_id)
        )
    )


def check_ballot(cycle: Cycle, district: District, ballot: Mapping[int, int] | list[int]) -> tuple[dict[int, int], int]:
    """The ballot as project id -> value if it keeps the district's rules (a BallotError naming every problem if
    not), and how many projects the district's ballot has."""
    rules = ballot_designs.rules_for(cycle, district)
    projects = ballot_designs.ballot_projects(cycle.id, district.id,
                                              with_category_names=bool(rules.the_design.category_limits))
    checked = ballot_rules.check(ballot, projects.costs, rules, projects.categories, projects.category_names)
    return checked, len(projects.costs)


def refuse_second_district(resident: User, cycle_id: int, district: District | None, *, by_self: bool = False) -> None:
    """Refuse, naming it, when the resident already holds a district of this cycle: verified there, or voted there.

    Every way of verifying a resident or marking a paper voter asks this first; the unique constraint on
    verifications (user_id, cycle_id) backs it up when two requests pass it at the same moment.
    """
    held = db.session.scalar(
        select(Verification).where(Verification.user_id == resident.id, Verification.cycle_id == cycle_id).limit(1)
    )
    if held is not None:
        if by_self:
            raise ConflictError(N_("Your account is already verified for {district} in this cycle.",
                                   district=held.district.name))
        if district is None or held.district_id == district.id:
            raise ConflictError(N_("{name} is already verified for {district}.", name=resident.name,
                                   district=held.district.name))
        raise ConflictError(
            N_("{name} is already verified for {held} in this cycle, and a resident votes in one district per cycle, "
               "so they were not verified for {district}. If {held} is wrong and they have not voted there, revoke "
               "that verification first, with the reason.", name=resident.name, held=held.district.name,
               district=district.name)
        )
    # A vote in the same district is no second district (and cannot be repeated there): only another one counts.
    elsewhere = [] if district is None else [Participation.district_id != district.id]
    voted = db.session.scalar(
        select(Participation)
        .where(Participation.user_id == resident.id, Participation.cycle_id == cycle_id, *elsewhere).limit(1)
    )
    if voted is not None:
        other = db.session.get(District, voted.district_id)
        raise ConflictError(
            N_("{name} has already voted in {held} in this cycle, and a resident votes in one district per cycle; "
               "nothing was changed.", name=resident.name, held=other.name)
        )


def store_verification(verification: Verification, resident: User, *, by_self: bool = False) -> None:
    """Write a verification; if another request verified the resident at the same moment, refuse with the same words.

    On PostgreSQL the insert runs in a savepoint, so after the unique constraint refuses it the transaction can still
    read which district won and name it. SQLite runs one use case at a time, so there the constraint cannot fire.
    """
    is_postgresql = db.session.connection().dialect.name == "postgresql"
    try:
        if is_postgresql:
            with db.session.begin_nested():
                db.session.add(verification)
        else:
            db.session.add(verification)
            db.session.flush()
    except IntegrityError:
        if is_postgresql:
            district = db.session.get(District, verification.district_id)
            refuse_second_district(resident, verification.cycle_id, district, by_self=by_self)
        raise ConflictError(
            N_("{name} was verified at the same moment elsewhere; a resident votes in one district per cycle. "
               "Reload the page to see where.", name=resident.name)
        ) from None


def _one_verification_at_a_time(resident: User) -> None:
    """Make a moderator's verification of a resident wait for any other verification of them (PostgreSQL).

    Self-verification locks the resident's row first (see verification._one_attempt_at_a_time); taking the same row
    first here keeps the two in one order, so the second sees the first's district instead of the two deadlocking
    on the unique constraint. FOR NO KEY UPDATE still lets rows that merely refer to the resident be written.
    """
    if db.session.connection().dialect.name == "postgresql":
        db.session.execute(select(User.id).where(User.id == resident.id).with_for_update(key_share=True))


@use_case
def verify_resident(actor: User, user_id: int, district_id: int) -> Verification:
    """A moderator or official confirms, after checking documents, that a resident may vote in a district."""
    if not actor.is_moderator:
        raise PermissionDenied("Only moderators and officials can verify residents.")
    district = load(District, district_id, "district")
    cycle_rules.require_phase("verify-resident", district.cycle.phase)
    resident = load(User, user_id, "user")
    if resident.id == actor.id:
        raise PermissionDenied("You cannot verify yourself; ask another moderator or official.")
    if not resident.is_confirmed or resident.deleted_at is not None:
        raise PermissionDenied(N_(
            "{name} has not confirmed their email address yet, so they cannot be verified. Ask them to follow the link "
            "pb emailed them (they can have it sent again from any page once logged in).", name=resident.name))
    _one_verification_at_a_time(resident)
    refuse_second_district(resident, district.cycle_id, district)
    verification = Verification(
        user_id=resident.id, cycle_id=district.cycle_id, district_id=district.id,
        verified_by_id=actor.id, method="in-person",
    )
    store_verification(verification, resident)
    audit.record(
        actor, "verify-resident", f"user:{resident.id}", cycle_id=district.cycle_id,
        after={"district": district.name, "method": "in-person"},
    )
    return verification


CHANGED_MEANWHILE = N_(
    "Your ballot was already changed in another window or at the same moment, so this submission was not saved. "
    "Reload the page to see the ballot that is stored, then change it again if you wish."
)


def _envelope_key() -> bytes:
    return sealing.envelope_key(current_app.config["BALLOT_KEY"])


def _token_lock_key(token: str) -> int:
    return int(token[:15], 16)  # 60 bits of the keyed hash: a lock key names no one either


def lock_voter(token: str) -> None:
    """Serialise everything that decides whether one voter voted in a district (online ballot, paper mark).

    On PostgreSQL a transaction-scoped advisory lock on the voter's token: it lives in memory only, so unlike a row
    lock (which writes the transaction id into the locked row) it leaves no trace that links the voter to a ballot.
    SQLite needs nothing: BEGIN IMMEDIATE already lets one writer in at a time.
    """
    if db.session.connection().dialect.name == "postgresql":
        db.session.execute(select(func.pg_advisory_xact_lock(_token_lock_key(token))))


def _phase_while_storing(cycle: Cycle, token: str) -> Phase:
    """The cycle's phase, read so that the ballot box cannot be opened while this ballot is being stored.

    PostgreSQL: FOR KEY SHARE on the cycle row lasts until this transaction ends, and closing the vote locks the row
    FOR UPDATE before it opens the box, so each waits for the other: no envelope is stored after the box was opened.
    The voter's advisory lock is taken in the same round trip. SQLite read the cycle after BEGIN IMMEDIATE already.
    """
    if db.session.connection().dialect.name != "postgresql":
        return cycle.phase
    phase = db.session.scalar(
        select(Cycle.phase, func.pg_advisory_xact_lock(_token_lock_key(token)))
        .where(Cycle.id == cycle.id).with_for_update(read=True, key_share=True)
    )
    return phase


def require_before_close(cycle: Cycle, now: datetime | None = None) -> None:
    """Refuse a ballot from the published closing moment on, to the second, whether or not the worker closed voting."""
    refusal = timetable.closed_refusal(cycle.voting_close_at, cycle.timezone, now or utcnow())
    if refusal is not None:
        raise PhaseError(refusal)


@use_case
def cast_ballot(
    actor: User, cycle_id: int, district_id: int, ballot: Mapping[int, int] | list[int], *,
    expected_version: int | None = None,
    now: datetime | None = None,
) -> SealedBallot:
    """Seal the voter's ballot for a district, replacing any earlier one; an invalid ballot changes nothing.

    `ballot` is project id -> value (1 for a choice, the points given, or the rank), or a plain list of the chosen
    project ids on a knapsack or approval ballot.

    The ballot row names no one: it holds only the token (a keyed hash of the voter), a version and the sealed
    choices; the one row naming the voter is the confirmation email in the outbox, with no choice and no receipt.
    expected_version is the version of the ballot the voter was looking at (0: none yet). When it is given and the
    stored ballot has moved on, nothing is stored and a ConflictError says so, so a ballot is never replaced by a
    page that did not show it.
    From the published closing moment on (`now`: the clock, UTC; given by tests and the demo's replayed
    history), no ballot is accepted.
    """
    district = _district_with_cycle(cycle_id, district_id)
    cycle = district.cycle
    token = ballot_token(actor.id, cycle.id, district.id)
    cycle_rules.require_phase("vote", _phase_while_storing(cycle, token))
    require_before_close(cycle, now)
    standing = voter_standing(actor, district.id)
    if standing.voted_on_paper:
        raise PermissionDenied(
            N_("You have already voted on paper at a polling station in {district}; you cannot also vote online.",
               district=district.name)
        )
    if not standing.is_verified:
        raise PermissionDenied(
            N_("You are not verified to vote in {district} yet. A moderator or an official can verify you.",
               district=district.name)
        )
    choices, project_count = check_ballot(cycle, district, ballot)
    sealed = _sealed(token)
    if expected_version is not None and expected_version != (sealed.version if sealed else 0):
        raise ConflictError(CHANGED_MEANWHILE)
    slots = sealing.slots_for(project_count)
    try:
        if sealed is None:
            # Dated by the clock given (the demo replays last year's vote), so turnout per day shows when it was.
            sealed = SealedBallot(cycle_id=cycle.id, district_id=district.id, token=token, version=1,
                                  sealed_on=(now or utcnow()).date())
            db.session.add(sealed)
        else:
            sealed.version += 1  # the receipt follows the version: the old one stops matching
        sealed.envelope = sealing.seal(_envelope_key(), token, sealed.version, choices, slots)
        db.session.flush()
    except (IntegrityError, StaleDataError):
        # Another submission for the same voter stored its ballot first (same token, or a version that moved on
        # while this one was checked): it stands, and this one changes nothing.
        raise ConflictError(CHANGED_MEANWHILE) from None
    # The voter is told a ballot was saved, as a security message (it is how someone learns that another person
    # voted with their account, so it cannot be turned off). It carries no choices and no receipt: the mail provider
    # would read them, and a receipt names a counted ballot. The outbox row names the voter in this transaction; what
    # that does and does not reveal is in docs/threat-model.md ("Ballot secrecy").
    mail.notify(actor, notifications.SECURITY, "ballot_saved", cycle=cycle, district=district,
                saved_at=now or utcnow(), is_change=sealed.version > 1)
    return sealed


def _sealed(token: str) -> SealedBallot | None:
    return db.session.scalar(select(SealedBallot).where(SealedBallot.token == token))


@dataclass(frozen=True)
class OwnBallot:
    """A voter's own stored ballot as only they (and the server) see it: choices, receipt code and version.

    values holds each chosen project's value: 1, the points given, or the rank.
    """

    choices: frozenset[int]
    receipt: str
    version: int
    values: dict[int, int]


def _own(sealed: SealedBallot) -> OwnBallot:
    values = sealing.unseal_values(_envelope_key(), sealed.token, sealed.version, sealed.envelope)
    return OwnBallot(frozenset(values), _receipt_for(sealed.token, sealed.version), sealed.version, values)


def stored_ballot(user: User, cycle_id: int, district_id: int) -> OwnBallot | None:
    """The voter's own stored ballot in a district, opened with the ballot key (one query: the page needs it all)."""
    sealed = _sealed(ballot_token(user.id, cycle_id, district_id))
    return None if sealed is None else _own(sealed)


def voted_district_ids(user: User, cycle: Cycle) -> set[int]:
    """The districts of a cycle in which the voter has a stored online ballot, in one query."""
    tokens = [ballot_token(user.id, cycle.id, district.id) for district in cycle.districts]
    if not tokens:
        return set()
    return set(db.session.scalars(select(SealedBallot.district_id).where(SealedBallot.token.in_(tokens))))


def has_voted_online(user: User, district: District) -> bool:
    token = ballot_token(user.id, district.cycle_id, district.id)
    return db.session.scalar(select(SealedBallot.id).where(SealedBallot.token == token)) is not None


def stored_version(user: User, cycle_id: int, district_id: int) -> int:
    """The version of the voter's stored ballot in a district, 0 before they vote; the ballot form sends it back."""
    version = db.session.scalar(
        select(SealedBallot.version).where(SealedBallot.token == ballot_token(user.id, cycle_id, district_id))
    )
    return version or 0


def current_choices(user: User, cycle_id: int, district_id: int) -> set[int] | None:
    """The voter's own stored choices, or None if they have not voted online in this district."""
    own = stored_ballot(user, cycle_id, district_id)
    return None if own is None else set(own.choices)


def current_receipt(user: User, cycle_id: int, district_id: int) -> str | None:
    """The voter's own receipt code for their current ballot in a district, if they voted there online."""
    own = stored_ballot(user, cycle_id, district_id)
    return None if own is None else own.receipt


def fresh_ballot_ids(count: int) -> list[int]:
    """Distinct random ids for new ballots, none already in use: a ballot's id tells nothing of when it was made."""
    taken = set(db.session.scalars(select(Ballot.id)))
    chosen: list[int] = []
    while len(chosen) < count:
        candidate = secrets.randbelow(2**31 - 2) + 1  # the column is a 32-bit integer on PostgreSQL
        if candidate not in taken:
            taken.add(candidate)
            chosen.append(candidate)
    return chosen


def open_ballot_box(cycle: Cycle) -> int:
    """Open every sealed ballot of a cycle into ordinary, anonymous ballots, in the transaction that closes the vote.

    The opened ballots are shuffled with the system's random source and written together under random ids, so they
    share one transaction id and neither their ids nor their places on disk follow the order people voted in. They
    carry the receipt (derived from token and version, as the voter was shown) but no token, no version and no time.
    Refuses, changing nothing, if any envelope does not open. Returns the number of ballots opened.
    """
    key = _envelope_key()
    opened = []
    with_values = {district.id: ballot_designs.district_design(district).has_values for district in cycle.districts}
    for sealed in db.session.scalars(select(SealedBallot).where(SealedBallot.cycle_id == cycle.id)):
        try:
            choices = sealing.unseal_values(key, sealed.token, sealed.version, sealed.envelope)
        except sealing.SealError:
            raise ConflictError(
                "Voting was not closed: a sealed ballot does not open with this server's ballot key (PB_BALLOT_KEY "
                "changed during the vote, or the stored ballots were altered). Nothing was changed; ask the system "
                "administrator to restore the ballot key used during the vote."
            ) from None
        opened.append((sealed.district_id, _receipt_for(sealed.token, sealed.version), choices))
    secrets.SystemRandom().shuffle(opened)
    ids = fresh_ballot_ids(len(opened))
    if opened:
        db.session.execute(insert(Ballot), [
            {"id": ballot_id, "cycle_id": cycle.id, "district_id": district_id, "receipt": receipt}
            for ballot_id, (district_id, receipt, _) in zip(ids, opened, strict=True)
        ])
        # Points and ranks are kept; a plain choice is a row with no value, as before ballot designs.
        rows = [{"ballot_id": ballot_id, "project_id": project_id,
                 "value": value if with_values[district_id] else None}
                for ballot_id, (district_id, _, choices) in zip(ids, opened, strict=True)
                for project_id, value in choices.items()]
        if rows:
            db.session.execute(insert(BallotChoice), rows)
    return len(opened)


def look_up_receipt(cycle: Cycle, code: str) -> Ballot:
    """The counted ballot behind a receipt, once results are public; NotFound for an unknown or replaced one."""
    cycle_rules.require_phase("see-results", cycle.phase)
    receipt = normalise_receipt(code)
    ballot = None
    if len(receipt) == RECEIPT_LENGTH:
        ballot = db.session.scalar(select(Ballot).where(Ballot.cycle_id == cycle.id, Ballot.receipt == receipt))
    if ballot is None:
        raise NotFound(
            "No counted ballot has this receipt. Check the code; a receipt stops counting when its ballot is changed."
        )
    return ballot


def online_counts(cycle: Cycle) -> dict[int, int]:
    """Online voters per district id: the sealed ballots, one per voter who was told their ballot is saved."""
    return dict(db.session.execute(
        select(SealedBallot.district_id, func.count()).where(SealedBallot.cycle_id == cycle.id)
        .group_by(SealedBallot.district_id)
    ).all())


def turnout(cycle: Cycle) -> dict[int, int]:
    """Number of voters per district id (never the choices)."""
    return {district_id: sum(channels.values()) for district_id, channels in turnout_by_channel(cycle).items()}


CHANNELS = ("online", "paper")


def turnout_by_channel(cycle: Cycle) -> dict[int, dict[str, int]]:
    """Number of voters per district id and channel: online, the sealed ballots; paper, the residents marked."""
    online = online_counts(cycle)
    paper = dict(db.session.execute(
        select(Participation.district_id, func.count())
        .where(Participation.cycle_id == cycle.id, Participation.channel == "paper")
        .group_by(Participation.district_id)
    ).all())
    return {district.id: {"online": online.get(district.id, 0), "paper": paper.get(district.id, 0)}
            for district in cycle.districts}


def voters_per_day(cycle: Cycle) -> list[tuple[date, int, str, int]]:
    """(day, district id, channel, voters): online by the day of the first ballot, paper by the day marked."""
    online = db.session.execute(
        select(SealedBallot.sealed_on, SealedBallot.district_id, func.count()).where(SealedBallot.cycle_id == cycle.id)
        .group_by(SealedBallot.sealed_on, SealedBallot.district_id)
    ).all()
    paper = db.session.execute(
        select(Participation.voted_on, Participation.district_id, func.count())
        .where(Participation.cycle_id == cycle.id, Participation.channel == "paper")
        .group_by(Participation.voted_on, Participation.district_id)
    ).all()
    rows = [(day, district_id, "online", count) for day, district_id, count in online]
    rows += [(day, district_id, "paper", count) for day, district_id, count in paper]
    return sorted(rows)


def verified_counts(cycle: Cycle) -> dict[int, int]:
    rows = db.session.execute(
        select(Verification.district_id, func.count()).where(Verification.cycle_id == cycle.id)
        .group_by(Verification.district_id)
    ).all()
    counts = dict(rows)
    return {district.id: counts.get(district.id, 0) for district in cycle.districts}
