"""Verified residents casting and changing their secret ballot, one per district."""

import hashlib
import hmac
from dataclasses import dataclass

from flask import current_app
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import joinedload
from sqlalchemy.orm.exc import StaleDataError

from pb.domain import ballots as ballot_rules
from pb.domain import cycle as cycle_rules
from pb.domain.ballots import BallotRules
from pb.domain.errors import ConflictError, NotFound, PermissionDenied
from pb.domain.messages import N_
from pb.extensions import db
from pb.models import Ballot, BallotChoice, Cycle, District, Participation, User, Verification
from pb.services import audit, is_plausible_id, load, use_case
from pb.services.proposals import project_costs


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


def rules_for(cycle: Cycle, district: District) -> BallotRules:
    return BallotRules(
        budget=district.budget, currency=cycle.currency,
        min_projects=cycle.min_projects, max_projects=cycle.max_projects,
    )


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


@use_case
def cast_ballot(
    actor: User, cycle_id: int, district_id: int, project_ids: list[int], *, expected_version: int | None = None
) -> Ballot:
    """Store the voter's ballot for a district, replacing any earlier one; an invalid ballot changes nothing.

    expected_version is the version of the ballot the voter was looking at (0: none yet). When it is given and the
    stored ballot has moved on, nothing is stored and a ConflictError says so, so a ballot is never replaced by a
    page that did not show it.
    """
    district = _district_with_cycle(cycle_id, district_id)
    cycle = district.cycle
    cycle_rules.require_phase("vote", cycle.phase)
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
    costs = project_costs(cycle.id, district.id)
    choices = ballot_rules.check(project_ids, costs, rules_for(cycle, district))
    token = ballot_token(actor.id, cycle.id, district.id)
    ballot = _ballot_with_choices(token)  # the choices come along: they are about to be replaced
    if expected_version is not None and expected_version != (ballot.version if ballot else 0):
        raise ConflictError(CHANGED_MEANWHILE)
    try:
        if ballot is None:
            ballot = Ballot(cycle_id=cycle.id, district_id=district.id, token=token, version=1)
            db.session.add(ballot)
            db.session.add(Participation(user_id=actor.id, cycle_id=cycle.id, district_id=district.id))
        else:
            ballot.version += 1
        ballot.receipt = _receipt_for(token, ballot.version)  # the old receipt stops matching any ballot
        ballot.choices = [BallotChoice(project_id=project_id) for project_id in sorted(choices)]
        db.session.flush()
    except (IntegrityError, StaleDataError):
        # Another submission for the same voter stored its ballot first (same token, same participation, or a
        # version that moved on while this one was checked): it stands, and this one changes nothing.
        raise ConflictError(CHANGED_MEANWHILE) from None
    return ballot


def _ballot_with_choices(token: str) -> Ballot | None:
    return db.session.execute(
        select(Ballot).options(joinedload(Ballot.choices)).where(Ballot.token == token)
    ).unique().scalar_one_or_none()


def stored_ballot(user: User, cycle_id: int, district_id: int) -> Ballot | None:
    """The voter's own stored ballot in a district with its choices, read in one query (the ballot page needs all)."""
    return _ballot_with_choices(ballot_token(user.id, cycle_id, district_id))


def voted_district_ids(user: User, cycle: Cycle) -> set[int]:
    """The districts of a cycle in which the voter has a stored ballot, in one query."""
    tokens = [ballot_token(user.id, cycle.id, district.id) for district in cycle.districts]
    return set(db.session.scalars(select(Ballot.district_id).where(Ballot.token.in_(tokens)))) if tokens else set()


def stored_version(user: User, cycle_id: int, district_id: int) -> int:
    """The version of the voter's stored ballot in a district, 0 before they vote; the ballot form sends it back."""
    version = db.session.scalar(
        select(Ballot.version).where(Ballot.token == ballot_token(user.id, cycle_id, district_id))
    )
    return version or 0


def current_choices(user: User, cycle_id: int, district_id: int) -> set[int] | None:
    """The voter's own stored choices, or None if they have not voted in this district."""
    ballot = db.session.scalar(select(Ballot).where(Ballot.token == ballot_token(user.id, cycle_id, district_id)))
    return None if ballot is None else {choice.project_id for choice in ballot.choices}


def current_receipt(user: User, cycle_id: int, district_id: int) -> str | None:
    """The voter's own receipt code for their current ballot in a district, if they voted there."""
    return db.session.scalar(
        select(Ballot.receipt).where(Ballot.token == ballot_token(user.id, cycle_id, district_id))
    )


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


def turnout(cycle: Cycle) -> dict[int, int]:
    """Number of voters per district id (never the choices)."""
    rows = db.session.execute(
        select(Participation.district_id, func.count()).where(Participation.cycle_id == cycle.id)
        .group_by(Participation.district_id)
    ).all()
    counts = dict(rows)
    return {district.id: counts.get(district.id, 0) for district in cycle.districts}


CHANNELS = ("online", "paper")


def turnout_by_channel(cycle: Cycle) -> dict[int, dict[str, int]]:
    """Number of voters per district id and channel ("online", "paper"); paper voters are the residents marked."""
    rows = db.session.execute(
        select(Participation.district_id, Participation.channel, func.count())
        .where(Participation.cycle_id == cycle.id)
        .group_by(Participation.district_id, Participation.channel)
    ).all()
    counts = {(district_id, channel): count for district_id, channel, count in rows}
    return {district.id: {channel: counts.get((district.id, channel), 0) for channel in CHANNELS}
            for district in cycle.districts}


def verified_counts(cycle: Cycle) -> dict[int, int]:
    rows = db.session.execute(
        select(Verification.district_id, func.count()).where(Verification.cycle_id == cycle.id)
        .group_by(Verification.district_id)
    ).all()
    counts = dict(rows)
    return {district.id: counts.get(district.id, 0) for district in cycle.districts}
