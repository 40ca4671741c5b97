"""Paper ballots from polling stations: marking paper voters, and double entry of sheets until two officials agree.

A sheet is identified by its district, polling station and number. Each official types it in at most once
(the database refuses a second entry by the same official); a sheet counts once two entries by different
officials are identical, and is then turned into an anonymous ballot. Until then it is "pending" (one entry)
or "disagreed" (entries differ). A disagreement is resolved either by one of the two officials correcting
their own entry, or by a third official entering the sheet: whichever makes two entries equal. An agreed
sheet is final. Entries are blind: the list of sheets waiting for a second entry shows no choices, so the
second official reads the paper, not the first official's typing; only disagreements show both entries.

A sheet holds a ballot of the district's design, checked by the same rules as an online ballot. An entry's choices
are stored as canonical JSON text, so two entries agree exactly when their texts are equal: the sorted list of
project ids on a knapsack or approval sheet (the form entries have always had), and the sorted list of
[project id, value] pairs on a cumulative sheet (the points) or a ranking sheet (the rank, 1 = first). A spoilt
sheet has no choices ("[]").
"""

import json
import secrets
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field

from sqlalchemy import delete, func, select
from sqlalchemy.exc import IntegrityError

from pb.domain import cycle as cycle_rules
from pb.domain.cycle import Phase
from pb.domain.errors import BallotError, ConflictError, PermissionDenied, ValidationError
from pb.domain.messages import N_, Nn_
from pb.extensions import db
from pb.models import Ballot, BallotChoice, Cycle, District, PaperEntry, PaperSheet, Participation, TallyRun, User
from pb.services import alerts, audit, ballot_designs, load, roles, use_case
from pb.services.voting import (
    RECEIPT_ALPHABET,
    RECEIPT_LENGTH,
    ballot_token,
    check_ballot,
    fresh_ballot_ids,
    has_voted_online,
    is_verified,
    lock_voter,
    voted_district_ids,
)

PENDING, DISAGREED, AGREED, SPOILT = "pending", "disagreed", "agreed", "spoilt"
UNRESOLVED = (PENDING, DISAGREED)
MAX_SHEET_NUMBER = 1_000_000


def normalise_station(name: str) -> str:
    return " ".join((name or "").split())


def _sheet_name(station: str, number: int, *, is_first_word: bool = False) -> str:
    if is_first_word:
        return N_("Sheet {number} from {station}", number=number, station=station)
    return N_("sheet {number} from {station}", number=number, station=station)


def _require_official(actor: User) -> None:
    if not actor.is_official:
        raise PermissionDenied("Only officials can enter paper ballots and paper voters.")


def _open_district(district_id: int) -> District:
    district = load(District, district_id, "district")
    cycle_rules.require_phase("enter-paper-ballot", district.cycle.phase)
    return district


def _checked_sheet_key(polling_station: str, number: int | None) -> tuple[str, int]:
    station = normalise_station(polling_station)
    if not station or len(station) > 60:
        raise ValidationError("Enter the polling station's name (up to 60 characters).")
    if not isinstance(number, int) or not 1 <= number <= MAX_SHEET_NUMBER:
        raise ValidationError(N_("Enter the sheet number, from 1 to {most:,}.", most=MAX_SHEET_NUMBER))
    return station, number


def stored_choices(ballot: Mapping[int, int], *, has_values: bool) -> str:
    """A checked ballot as an entry's canonical text: sorted ids, or sorted [id, value] pairs for points and ranks."""
    if has_values:
        return json.dumps(sorted([project_id, value] for project_id, value in ballot.items()))
    return json.dumps(sorted(ballot))


def _checked_choices(district: District, station: str, number: int, ballot: Mapping[int, int] | list[int],
                     is_spoilt: bool) -> str:
    """The entry's choices as stored text; a spoilt sheet has none, any other must pass the online ballot's rules."""
    if is_spoilt:
        return "[]"
    try:
        checked, _ = check_ballot(district.cycle, district, ballot)
    except BallotError as error:
        raise BallotError(
            N_("{sheet} was not saved: {problems} If the paper itself breaks the rules, record the sheet as spoilt.",
               sheet=_sheet_name(station, number, is_first_word=True), problems=tuple(error.problems)),
            problems=error.problems,
        ) from None
    return stored_choices(checked, has_values=ballot_designs.district_design(district).has_values)


def _locked_sheet(district: District, station: str, number: int) -> PaperSheet | None:
    # The row lock makes a concurrent entry for the same sheet wait, so two agreements cannot make two ballots.
    return db.session.scalar(
        select(PaperSheet)
        .where(PaperSheet.district_id == district.id, func.lower(PaperSheet.polling_station) == station.lower(),
               PaperSheet.number == number)
        .with_for_update()
        .execution_options(populate_existing=True)
    )


def _refuse_if_final(sheet: PaperSheet) -> None:
    if sheet.status in (AGREED, SPOILT):
        raise ConflictError(
            N_("{sheet} in {district} is already agreed as spoilt; it cannot be entered or changed again.",
               sheet=_sheet_name(sheet.polling_station, sheet.number, is_first_word=True), district=sheet.district.name)
            if sheet.status == SPOILT else
            N_("{sheet} in {district} is already agreed and counted; it cannot be entered or changed again.",
               sheet=_sheet_name(sheet.polling_station, sheet.number, is_first_word=True), district=sheet.district.name)
        )


def _random_receipt() -> str:
    return "".join(secrets.choice(RECEIPT_ALPHABET) for _ in range(RECEIPT_LENGTH))


def _settle(sheet: PaperSheet) -> None:
    """Set the sheet's status from its entries; on agreement, turn it into an anonymous ballot."""
    versions = Counter((entry.is_spoilt, entry.choices) for entry in sheet.entries)
    agreed = [version for version, count in versions.items() if count >= 2]
    if not agreed:
        sheet.status = PENDING if len(sheet.entries) < 2 else DISAGREED
        return
    is_spoilt, choices = agreed[0]
    if is_spoilt:
        sheet.status = SPOILT
        return
    sheet.status = AGREED
    # A random id and receipt: nothing derives the ballot from a person, as nobody voted it through an account.
    sheet.ballot = Ballot(
        id=fresh_ballot_ids(1)[0], cycle_id=sheet.cycle_id, district_id=sheet.district_id, receipt=_random_receipt(),
        choices=[BallotChoice(project_id=project_id, value=value)
                 for project_id, value in _parsed_choices(choices).items()],
    )


def _discard_count_during_tallying(district: District) -> bool:
    """A sheet changing after the count makes that count stale: drop it, so the cycle cannot publish it."""
    if district.cycle.phase is not Phase.TALLYING:
        return False
    return db.session.execute(delete(TallyRun).where(TallyRun.district_id == district.id)).rowcount > 0


def _record_entry(actor: User, action: str, sheet: PaperSheet, district: District, before: dict | None,
                  entry: PaperEntry) -> None:
    try:
        db.session.flush()
    except IntegrityError:
        raise ConflictError(
            N_("Someone entered {sheet} at the same moment; reload the page and check the list of sheets.",
               sheet=_sheet_name(sheet.polling_station, sheet.number))
        ) from None
    discarded = _discard_count_during_tallying(district)
    audit.record(
        actor, action, f"paper-sheet:{sheet.id}", cycle_id=district.cycle_id, before=before,
        after={"district": district.name, "polling_station": sheet.polling_station, "number": sheet.number,
               "choices": json.loads(entry.choices), "spoilt": entry.is_spoilt, "status": sheet.status,
               "ballot": sheet.ballot_id, "count_discarded": discarded},
    )


def _alert_if_newly_disagreed(actor: User, sheet: PaperSheet, district: District, before: str | None) -> None:
    """Email the officials when a sheet's entries start to disagree (one email per sheet, at that moment only).

    Who: every enabled official except the one whose entry caused it, who is told on the page at once. The official
    who made the other entry must hear it (one of the two can correct their entry), and so may any other official
    (a third, independent entry also settles it). A sheet still in disagreement after a third entry or a correction
    sends nothing more: the officials already know, and the overview lists it. A burst of disagreeing sheets means
    one email per sheet, which is what officials act on (one sheet at a time, from the paper).
    """
    if sheet.status != DISAGREED or before == DISAGREED:
        return
    alerts.tell_officials(
        "paper_disagreement", excluding=[actor.id], sheet=sheet, district=district, cycle=district.cycle,
        entrant_ids=[entry.entered_by_id for entry in sheet.entries],
    )


@use_case
def enter_sheet(
    actor: User, district_id: int, polling_station: str, number: int | None,
    ballot: Mapping[int, int] | list[int], *, is_spoilt: bool = False,
) -> PaperSheet:
    """An official types in a paper sheet; it counts once another official's entry is the same."""
    _require_official(actor)
    district = _open_district(district_id)
    station, number = _checked_sheet_key(polling_station, number)
    choices = _checked_choices(district, station, number, ballot, is_spoilt)
    sheet = _locked_sheet(district, station, number)
    before = None if sheet is None else sheet.status
    if sheet is None:
        sheet = PaperSheet(cycle_id=district.cycle_id, district_id=district.id, polling_station=station, number=number)
        db.session.add(sheet)
    else:
        _refuse_if_final(sheet)
        if any(entry.entered_by_id == actor.id for entry in sheet.entries):
            raise ConflictError(
                N_("You have already entered {sheet} in {district}. The second entry must come from a different "
                   "official; to fix your own entry, correct it instead.",
                   sheet=_sheet_name(sheet.polling_station, number), district=district.name)
            )
        roles.require_independent(actor, [entry.entered_by_id for entry in sheet.entries],
                                  N_("Entering a paper sheet twice"))
    entry = PaperEntry(entered_by_id=actor.id, choices=choices, is_spoilt=is_spoilt)
    sheet.entries.append(entry)
    _settle(sheet)
    _record_entry(actor, "enter-paper-sheet", sheet, district, None, entry)
    _alert_if_newly_disagreed(actor, sheet, district, before)
    return sheet


@use_case
def correct_entry(
    actor: User, district_id: int, polling_station: str, number: int | None,
    ballot: Mapping[int, int] | list[int], *, is_spoilt: bool = False,
) -> PaperSheet:
    """An official replaces their own entry of a sheet that is not agreed yet, e.g. to resolve a disagreement."""
    _require_official(actor)
    district = _open_district(district_id)
    station, number = _checked_sheet_key(polling_station, number)
    choices = _checked_choices(district, station, number, ballot, is_spoilt)
    sheet = _locked_sheet(district, station, number)
    entry = None if sheet is None else next((e for e in sheet.entries if e.entered_by_id == actor.id), None)
    if entry is None:
        raise ConflictError(
            N_("You have not entered {sheet} in {district}, so there is no entry of yours to correct; enter the sheet "
               "instead.", sheet=_sheet_name(station, number), district=district.name)
        )
    _refuse_if_final(sheet)
    roles.require_independent(actor, [other.entered_by_id for other in sheet.entries],
                              N_("Entering a paper sheet twice"))
    before = {"choices": json.loads(entry.choices), "spoilt": entry.is_spoilt, "status": sheet.status}
    entry.choices, entry.is_spoilt = choices, is_spoilt
    _settle(sheet)
    _record_entry(actor, "correct-paper-sheet", sheet, district, before, entry)
    _alert_if_newly_disagreed(actor, sheet, district, before["status"])
    return sheet


@use_case
def record_paper_voter(actor: User, user_id: int, district_id: int) -> Participation:
    """An official marks a resident as having voted on paper at a polling station; they can no longer vote online."""
    _require_official(actor)
    district = _open_district(district_id)
    resident = load(User, user_id, "user")
    # Waits for an online ballot of this resident being stored right now, so it is seen below.
    lock_voter(ballot_token(resident.id, district.cycle_id, district.id))
    elsewhere = db.session.scalar(
        select(Participation).where(Participation.user_id == resident.id, Participation.cycle_id == district.cycle_id,
                                    Participation.district_id != district.id).limit(1)
    )
    if elsewhere is not None:
        raise ConflictError(
            N_("{name} has already voted in {other} in this cycle, and a resident votes in one district per cycle; "
               "they cannot also be marked in {district}. Nothing was recorded.", name=resident.name,
               other=db.session.get(District, elsewhere.district_id).name, district=district.name)
        )
    voted = db.session.scalar(
        select(Participation).where(Participation.user_id == resident.id, Participation.district_id == district.id)
    )
    if voted is not None:
        raise ConflictError(N_("{name} is already recorded as having voted on paper in {district}.", name=resident.name,
                              district=district.name))
    if has_voted_online(resident, district):
        raise ConflictError(
            N_("{name} has already voted online in {district}; they cannot also vote on paper. Nothing was recorded.",
               name=resident.name, district=district.name)
        )
    if not is_verified(resident, district.id):
        raise PermissionDenied(
            N_("{name} is not verified to vote in {district}; verify them first, after checking their documents. "
               "Nothing was recorded.", name=resident.name, district=district.name)
        )
    participation = Participation(user_id=resident.id, cycle_id=district.cycle_id, district_id=district.id,
                                  channel="paper")
    db.session.add(participation)
    try:
        db.session.flush()
    except IntegrityError:
        # uq_participation: another official marked the same resident at this very moment.
        raise ConflictError(N_("{name} voted at this very moment; reload the page and check.", name=resident.name)) from None
    audit.record(actor, "record-paper-voter", f"user:{resident.id}", cycle_id=district.cycle_id,
                 after={"district": district.name, "channel": "paper"})
    return participation


MAX_REASON_LENGTH = 500


@use_case
def undo_paper_voter(actor: User, user_id: int, district_id: int, reason: str) -> None:
    """An official takes back a paper-voter mark made by mistake; the resident may then vote online or on paper.

    A mark holds no choices (the sheet in the box is anonymous), so taking it back changes only turnout and who may
    still vote. The reason and who took it back go into the audit log.
    """
    _require_official(actor)
    district = _open_district(district_id)
    resident = load(User, user_id, "user")
    reason = " ".join((reason or "").split())
    if not reason:
        raise ValidationError("Say why the mark is taken back; the reason is kept in the audit log. Nothing was changed.")
    if len(reason) > MAX_REASON_LENGTH:
        raise ValidationError(N_("Keep the reason under {most} characters. Nothing was changed.", most=MAX_REASON_LENGTH))
    mark = db.session.scalar(
        select(Participation).where(
            Participation.user_id == resident.id, Participation.district_id == district.id,
            Participation.channel == "paper",
        ).with_for_update()
    )
    if mark is None:
        raise ConflictError(
            N_("{name} is not recorded as having voted on paper in {district}; nothing was changed.", name=resident.name,
               district=district.name)
        )
    db.session.delete(mark)
    audit.record(actor, "undo-paper-voter", f"user:{resident.id}", cycle_id=district.cycle_id,
                 before={"district": district.name, "channel": "paper"}, after={"reason": reason})


@dataclass
class DistrictSheets:
    """How far a district's paper sheets have got: what the officials' overview and the count need."""

    entered: int = 0
    agreed: int = 0
    spoilt: int = 0
    pending: int = 0
    disagreed: int = 0
    problems: list[str] = field(default_factory=list)


def sheet_counts(cycle: Cycle) -> dict[int, DistrictSheets]:
    """Per district id: sheets entered, agreed, spoilt, pending and disagreed, with what still blocks the count."""
    rows = db.session.execute(
        select(PaperSheet.district_id, PaperSheet.status, func.count())
        .where(PaperSheet.cycle_id == cycle.id).group_by(PaperSheet.district_id, PaperSheet.status)
    ).all()
    found = {(district_id, status): count for district_id, status, count in rows}
    counts = {}
    for district in cycle.districts:
        summary = DistrictSheets(**{status: found.get((district.id, status), 0)
                                    for status in (AGREED, SPOILT, PENDING, DISAGREED)})
        summary.entered = summary.agreed + summary.spoilt + summary.pending + summary.disagreed
        if summary.pending:
            summary.problems.append(Nn_("{count} paper sheet in {district} still needs a second entry.",
                                        "{count} paper sheets in {district} still need a second entry.",
                                        summary.pending, district=district.name))
        if summary.disagreed:
            summary.problems.append(Nn_("{count} paper sheet in {district} has entries that disagree.",
                                        "{count} paper sheets in {district} have entries that disagree.",
                                        summary.disagreed, district=district.name))
        counts[district.id] = summary
    return counts


def unresolved_problems(cycle: Cycle) -> list[str]:
    """Why the count must wait for paper sheets, in plain words (empty: every sheet is agreed or spoilt)."""
    return [problem for summary in sheet_counts(cycle).values() for problem in summary.problems]


def unresolved_sheets(cycle: Cycle) -> list[PaperSheet]:
    """Sheets that are pending or in disagreement, by district, station and number."""
    return list(db.session.scalars(
        select(PaperSheet).where(PaperSheet.cycle_id == cycle.id, PaperSheet.status.in_(UNRESOLVED))
        .order_by(PaperSheet.district_id, PaperSheet.polling_station, PaperSheet.number)
    ))


def _parsed_choices(text: str) -> dict[int, int | None]:
    """An entry's stored choices as project id -> value (None for a plain choice on a knapsack or approval sheet)."""
    found: dict[int, int | None] = {}
    for item in json.loads(text):
        if isinstance(item, list):
            found[int(item[0])] = int(item[1])
        else:
            found[int(item)] = None
    return found


def entry_choices(entry: PaperEntry) -> list[int]:
    """The projects an entry chose (given points or ranked), by id."""
    return sorted(_parsed_choices(entry.choices))


def entry_values(entry: PaperEntry) -> dict[int, int | None]:
    """An entry's choices as project id -> points or rank (None for a plain choice)."""
    return _parsed_choices(entry.choices)


def own_entry(sheet: PaperSheet, user: User) -> PaperEntry | None:
    return next((entry for entry in sheet.entries if entry.entered_by_id == user.id), None)


def find_sheet(district: District, polling_station: str, number: int | None) -> PaperSheet | None:
    station = normalise_station(polling_station)
    if not station or not isinstance(number, int):
        return None
    return db.session.scalar(
        select(PaperSheet).where(PaperSheet.district_id == district.id, PaperSheet.number == number,
                                 func.lower(PaperSheet.polling_station) == station.lower())
    )


def channels_voted(user: User, cycle_id: int) -> dict[int, str]:
    """Per district id where the resident voted in this cycle: "online" (a sealed ballot) or "paper" (a mark)."""
    cycle = load(Cycle, cycle_id, "cycle")
    found = dict.fromkeys(voted_district_ids(user, cycle), "online")
    found.update(db.session.execute(
        select(Participation.district_id, Participation.channel)
        .where(Participation.user_id == user.id, Participation.cycle_id == cycle_id)
    ).all())
    return found
