"""Setting up a budget cycle (districts, categories, rule) and moving it through its phases."""

import json
from dataclasses import dataclass, fields, replace
from datetime import date, datetime

from flask import current_app
from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError

from pb.domain import cycle as cycle_rules
from pb.domain import schedule as schedule_rules
from pb.domain import timetable
from pb.domain.cycle import CycleFacts, Phase
from pb.domain.errors import ConflictError, NotFound, PermissionDenied, ValidationError
from pb.domain.messages import N_, Message, Nn_, join
from pb.extensions import db
from pb.models import (
    AuditEntry, Category, Cycle, District, Proposal, ProposalStatus, ScheduleNotice, TallyRun, User, utcnow,
)
from pb.services import (
    announcements, audit, ballot_designs, load, publication, reconciliation, revisions, supports, use_case, voting,
)

RULE_NAMES = {
    "greedy": N_("Standard count (most votes first, funded while the money lasts)"),
    "mes-add1": N_("Method of Equal Shares (proportional), completed as cities do"),
    # Ballot designs (issue 20): the two plain forms of the rules above, which fit every design they do.
    "greedy-no-skip": N_("Standard count, stopping at the first project that does not fit"),
    "mes": N_("Method of Equal Shares (proportional), without completion"),
}
SUPPORTED_CURRENCIES = ("EUR", "PLN", "USD", "GBP", "CHF", "HUF", "CZK", "SEK", "NOK", "DKK", "CAD", "AUD")


@dataclass(frozen=True)
class CycleSettings:
    name: str
    total_budget: int
    currency: str = "EUR"
    description: str = ""
    rule: str = "greedy"
    min_projects: int = 1
    max_projects: int | None = None
    # The timetable: naive UTC moments (the form converts from the cycle's zone) and the zone they are shown in;
    # no zone: the site's default (setting TIMEZONE).
    timezone: str | None = None
    proposals_open_at: datetime | None = None
    review_at: datetime | None = None
    voting_open_at: datetime | None = None
    voting_close_at: datetime | None = None
    results_at: datetime | None = None
    # With the supports phase: when proposals close and supports open (review_at then closes the supports).
    supports_at: datetime | None = None
    # Rich proposals and discussion.
    max_photos: int = 5
    has_comments_after_proposals: bool = True
    # The optional supports phase: how many proposals a resident may support per district, and which go on to review
    # (the top K of each district and/or those with at least this many supports; neither: all of them).
    has_supports_phase: bool = False
    supports_per_district: int = 10
    supports_advance_top: int | None = None
    supports_threshold: int | None = None


MAX_PHOTOS_LIMIT = 20


def default_zone() -> str:
    """The zone a new cycle's timetable is entered in, from the TIMEZONE setting (UTC when it is not a zone)."""
    zone = current_app.config.get("TIMEZONE") or "UTC"
    return zone if timetable.is_zone(zone) else "UTC"


def _require_official(actor: User) -> None:
    if not actor.is_official:
        raise PermissionDenied("Only officials can set up and run budget cycles.")


def settings_problems(settings: CycleSettings, cycle_id: int | None) -> list[tuple[str, Message]]:
    """Every problem with the settings at once, each with the name of the setting it is about (empty: none).

    All of them, not the first: an official fixing a new cycle's form sees every mistake in one go.
    """
    problems: list[tuple[str, Message]] = []

    def refuse(name: str, message: str) -> None:
        problems.append((name, message if isinstance(message, Message) else N_(message)))

    try:
        timetable.check_zone(settings.timezone or default_zone())
    except ValidationError as error:
        refuse("timezone", error.message)
    if not settings.name.strip():
        refuse("name", "Give the cycle a name.")
    if settings.currency not in SUPPORTED_CURRENCIES:
        refuse("currency", "Choose one of the listed currencies.")
    if settings.rule not in RULE_NAMES:
        refuse("rule", "Choose one of the listed counting rules.")
    if settings.total_budget <= 0:
        refuse("total_budget", "The total budget must be more than zero.")
    if settings.min_projects < 1:
        refuse("min_projects", "A ballot must allow at least one project.")
    if settings.max_projects is not None and settings.max_projects < settings.min_projects:
        refuse("max_projects", "The most projects per ballot cannot be fewer than the least.")
    if not 0 <= settings.max_photos <= MAX_PHOTOS_LIMIT:
        refuse("max_photos", N_("A proposal may have from 0 to {limit} photos.", limit=MAX_PHOTOS_LIMIT))
    if not 1 <= settings.supports_per_district <= 1000:
        refuse("supports_per_district", "A resident may support from 1 to 1000 proposals per district.")
    if settings.supports_advance_top is not None and settings.supports_advance_top < 1:
        refuse("supports_advance_top", "The number of proposals that go on to review must be at least 1.")
    if settings.supports_threshold is not None and settings.supports_threshold < 1:
        refuse("supports_threshold", "The number of supports a proposal needs must be at least 1.")
    if settings.supports_at is not None and not settings.has_supports_phase:
        # A published date for a phase the cycle does not have would mislead residents: refuse it rather than drop it.
        refuse("supports_at", N_("A date for the supports is only kept for a cycle with the supports phase: "
                                 "turn the phase on or clear the date."))
    latest = None
    for name, _label in timetable.MOMENTS:
        moment = getattr(settings, name)
        if moment is None:
            continue
        if latest is not None and moment < latest:
            refuse(name, N_("The phase dates must be in order: proposals, supports, review, voting opens, closes, "
                            "results."))
            break
        latest = moment
    if cycle_id is not None:
        # The rule must count the cycle's ballots and every district's own; the counts are the ballot's too.
        cycle = db.session.get(Cycle, cycle_id)
        refused = {name for name, _ in problems}
        if cycle is not None:
            for name, problem in ballot_designs.rule_problems(settings.rule, cycle, settings.min_projects,
                                                              settings.max_projects):
                if name not in refused:
                    refuse(name, problem)
    clash = db.session.scalar(select(Cycle.id).where(func.lower(Cycle.name) == settings.name.strip().lower()))
    if settings.name.strip() and clash is not None and clash != cycle_id:
        refuse("name", "Another cycle already has this name.")
    return problems


def _check_settings(settings: CycleSettings, cycle_id: int | None) -> CycleSettings:
    """The settings with the time zone filled in and checked, or a ValidationError naming every problem."""
    problems = [message for _name, message in settings_problems(settings, cycle_id)]
    if problems:
        raise ValidationError(join(*problems), problems=problems)
    return replace(settings, timezone=timetable.check_zone(settings.timezone or default_zone()))


def _settings_of(cycle: Cycle) -> dict[str, object]:
    """The settings as stored (names trimmed), which is what the audit log must show."""
    return {name: getattr(cycle, name) for name in (field.name for field in fields(CycleSettings))}


def _apply(cycle: Cycle, settings: CycleSettings) -> None:
    for field_name, value in vars(settings).items():
        setattr(cycle, field_name, value.strip() if isinstance(value, str) else value)


@use_case
def create_cycle(actor: User, settings: CycleSettings, districts: list[tuple[str, int]] | None = None) -> Cycle:
    """A new cycle in draft; without districts it gets one city-wide district holding the whole budget."""
    _require_official(actor)
    settings = _check_settings(settings, None)
    cycle = Cycle()
    _apply(cycle, settings)
    db.session.add(cycle)
    db.session.flush()
    for name, budget in districts or [("Whole city", settings.total_budget)]:
        _add_district(cycle, name, budget)
    audit.record(actor, "create-cycle", f"cycle:{cycle.id}", cycle_id=cycle.id, after=_settings_of(cycle))
    return cycle


@use_case
def update_cycle(actor: User, cycle_id: int, settings: CycleSettings) -> Cycle:
    _require_official(actor)
    cycle = load(Cycle, cycle_id, "cycle")
    cycle_rules.require_phase("edit-setup", cycle.phase)
    settings = _check_settings(settings, cycle.id)
    before = _settings_of(cycle)
    _apply(cycle, settings)
    audit.record(actor, "update-cycle", f"cycle:{cycle.id}", cycle_id=cycle.id, before=before, after=_settings_of(cycle))
    return cycle


def _add_district(cycle: Cycle, name: str, budget: int) -> District:
    name = name.strip()
    if not name:
        raise ValidationError("Give the district a name.")
    if budget <= 0:
        raise ValidationError("A district's budget must be more than zero.")
    if any(d.name.lower() == name.lower() for d in cycle.districts):
        raise ValidationError(N_("The cycle already has a district called “{name}”.", name=name))
    district = District(cycle=cycle, name=name, budget=budget)
    db.session.add(district)
    db.session.flush()
    return district


@use_case
def add_district(actor: User, cycle_id: int, name: str, budget: int) -> District:
    _require_official(actor)
    cycle = load(Cycle, cycle_id, "cycle")
    cycle_rules.require_phase("edit-setup", cycle.phase)
    district = _add_district(cycle, name, budget)
    audit.record(actor, "add-district", f"district:{district.id}", cycle_id=cycle.id, after={"name": district.name, "budget": budget})
    return district


@use_case
def remove_district(actor: User, district_id: int) -> None:
    _require_official(actor)
    district = load(District, district_id, "district")
    cycle_rules.require_phase("edit-setup", district.cycle.phase)
    audit.record(
        actor, "remove-district", f"district:{district.id}", cycle_id=district.cycle_id,
        before={"name": district.name, "budget": district.budget},
    )
    name = district.name
    db.session.delete(district)
    try:
        db.session.flush()
    except IntegrityError:
        # Voting codes and register entries may be made while the cycle is prepared, and they keep their district.
        raise ConflictError(
            N_("District “{name}” already has voting codes or register entries; it cannot be removed.", name=name)
        ) from None


@use_case
def add_category(actor: User, cycle_id: int, name: str) -> Category:
    _require_official(actor)
    cycle = load(Cycle, cycle_id, "cycle")
    cycle_rules.require_phase("edit-setup", cycle.phase)
    name = name.strip()
    if not name:
        raise ValidationError("Give the category a name.")
    if any(c.name.lower() == name.lower() for c in cycle.categories):
        raise ValidationError(N_("The cycle already has a category called “{name}”.", name=name))
    category = Category(cycle=cycle, name=name)
    db.session.add(category)
    db.session.flush()
    audit.record(actor, "add-category", f"category:{category.id}", cycle_id=cycle.id, after={"name": name})
    return category


@use_case
def change_district_budget(actor: User, district_id: int, budget: int) -> District:
    """Set a district's budget while its cycle is being prepared."""
    _require_official(actor)
    district = load(District, district_id, "district")
    cycle_rules.require_phase("edit-setup", district.cycle.phase)
    if budget <= 0:
        raise ValidationError("A district's budget must be more than zero.")
    before = district.budget
    if budget == before:
        return district
    district.budget = budget
    audit.record(actor, "edit-district-budget", f"district:{district.id}", cycle_id=district.cycle_id,
                 before={"name": district.name, "budget": before}, after={"name": district.name, "budget": budget})
    return district


@use_case
def remove_category(actor: User, category_id: int) -> Category:
    """Remove a category from a cycle being prepared, unless a proposal uses it.

    A proposal's category is what its author chose: dropping it silently would change their proposal behind their
    back, so the official is told which proposals use it and must move them first.
    """
    _require_official(actor)
    category = load(Category, category_id, "category")
    cycle_rules.require_phase("edit-setup", category.cycle.phase)
    used_by = list(db.session.scalars(
        select(Proposal.title).where(Proposal.category_id == category.id).order_by(Proposal.id).limit(4)))
    if used_by:
        count = db.session.scalar(select(func.count()).select_from(Proposal).where(Proposal.category_id == category.id))
        raise ConflictError(Nn_(
            "Category “{name}” is used by the proposal {titles}; it cannot be removed.",
            "Category “{name}” is used by {count} proposals ({titles}); it cannot be removed.",
            count, name=category.name, titles=", ".join(f"“{title}”" for title in used_by[:3]) + ("…" if count > 3 else ""),
        ))
    audit.record(actor, "remove-category", f"category:{category.id}", cycle_id=category.cycle_id,
                 before={"name": category.name})
    db.session.delete(category)
    db.session.flush()
    return category


def facts(cycle: Cycle) -> CycleFacts:
    """Everything the transition table needs to know about this cycle, read from the database."""
    counts = dict(
        db.session.execute(
            select(Proposal.status, func.count()).where(Proposal.cycle_id == cycle.id).group_by(Proposal.status)
        ).all()
    )
    on_ballot = dict(
        db.session.execute(
            select(Proposal.district_id, func.count())
            .where(Proposal.cycle_id == cycle.id, Proposal.status == ProposalStatus.ACCEPTED)
            .group_by(Proposal.district_id)
        ).all()
    )
    tallied = set(db.session.scalars(select(TallyRun.district_id).where(TallyRun.cycle_id == cycle.id)))
    return CycleFacts(
        total_budget=cycle.total_budget,
        district_budgets={d.name: d.budget for d in cycle.districts},
        proposals_submitted=sum(count for status, count in counts.items() if status is not ProposalStatus.WITHDRAWN),
        proposals_waiting_review=counts.get(ProposalStatus.SUBMITTED, 0),
        proposals_waiting_changes=counts.get(ProposalStatus.CHANGES_REQUESTED, 0),
        projects_by_district={d.name: on_ballot.get(d.id, 0) for d in cycle.districts},
        untallied_districts=tuple(d.name for d in cycle.districts if d.id not in tallied),
        count_approvals=len(publication.approvals(cycle)) if cycle.phase is Phase.TALLYING else 0,
        has_supports_phase=cycle.has_supports_phase,
        districts_without_selection=supports.districts_without_selection(cycle) if cycle.phase is Phase.SUPPORTS else (),
    )


def blockers(cycle: Cycle) -> list[str]:
    return cycle_rules.blockers(cycle.phase, facts(cycle))


# -- Moving the phase on: only from the phase the official saw, and off the timetable only with a reason. --------


def _expected_phase(value: object) -> Phase | None:
    try:
        return Phase(value)
    except ValueError:
        return None


@dataclass(frozen=True)
class PhaseChange:
    """What moving a cycle on now would do, for the confirmation page: the step, the blockers and the timetable."""

    current: Phase
    next: Phase | None
    step: timetable.Step | None
    blockers: list[str]
    departure: timetable.Departure | None
    today: Message
    # The timetable: label, published moment (naive UTC), whether it is this step's; shown in `zone`.
    moments: list[tuple[Message, datetime | None, bool]]
    zone: str

    @property
    def needs_reason(self) -> bool:
        return self.departure is not None and self.step is not None and self.step.needs_reason_off_date


def phase_change(cycle: Cycle, now: datetime | None = None) -> PhaseChange:
    """What moving the cycle on now would do, as the confirmation page names it."""
    step = timetable.step(cycle.phase, cycle.has_supports_phase)
    off = timetable.departure(cycle.phase, moments_of(cycle), now or utcnow(), cycle.timezone, cycle.has_supports_phase)
    planned = getattr(cycle, step.moment_field) if step and step.moment_field else None
    return PhaseChange(
        current=cycle.phase, next=cycle_rules.following(cycle.phase, cycle.has_supports_phase), step=step, blockers=blockers(cycle),
        departure=off,
        today=timetable.describe_today(cycle.phase, off, timetable.local_day(planned, cycle.timezone) if planned else None),
        moments=[(label, getattr(cycle, name), step is not None and name == step.moment_field)
                 for name, label in timetable.MOMENTS if name in timetable.moment_names(cycle.has_supports_phase)],
        zone=cycle.timezone,
    )


def moments_of(cycle: Cycle) -> dict[str, datetime | None]:
    """The cycle's published moments by field name (naive UTC)."""
    return {name: getattr(cycle, name) for name, _ in timetable.MOMENTS}


def scheduled_moment(cycle: Cycle):
    """When the timetable moves the cycle out of its phase by itself (shown in its zone), or None when it does not."""
    moment = schedule_rules.due_moment(cycle.phase, moments_of(cycle), cycle.has_supports_phase)
    return timetable.shown(moment, cycle.timezone) if moment else None


def day_of(cycle: Cycle, moment: datetime | None) -> date | None:
    """The calendar day a moment of the cycle's falls on in the cycle's zone."""
    return timetable.local_day(moment, cycle.timezone) if moment else None


@use_case
def advance_phase(actor: User | None, cycle_id: int, expected: object, reason: str | None = None) -> Phase:
    """Move the cycle one phase forward through the transition table (officials, or the command line).

    `expected` is the phase the official saw when deciding: if the cycle is no longer in it (a double submit, or
    another official was quicker), nothing changes and the refusal says where the cycle is now. Opening or closing
    voting on another day than the published one needs a `reason`; a departure from any published date is kept in
    the audit log with the reason, and the cycle's public page lists it.
    """
    if actor is not None:
        _require_official(actor)
    # The row lock makes a second move of the same cycle wait for the first and then read the phase it left; ballots
    # being stored finish first, and later ones wait and find the vote closed.
    cycle = load(Cycle, cycle_id, "cycle", for_update=True)
    seen = _expected_phase(expected)
    if seen is None:
        raise ValidationError("Say which phase the cycle is expected to be in; reload the page and try again.")
    if seen is not cycle.phase:
        raise ConflictError(N_(
            "Nothing was changed: the cycle is no longer “{seen}” but “{now}”, so someone moved it on after your page "
            "was opened (or the button was pressed twice). Reload the page to see where the cycle stands now.",
            seen=seen.label.lower(), now=cycle.phase.label.lower(),
        ))
    return move_on(cycle, actor, reason)


def move_on(cycle: Cycle, actor: User | None, reason: str | None, *, now: datetime | None = None,
            by_timetable: bool = False) -> Phase:
    """Move a locked cycle one phase forward, inside the caller's use case: the one path every phase change takes.

    `by_timetable`: the worker keeping the published timetable moves it (no user); the audit entry says so.
    """
    before = cycle.phase
    moving_to = cycle_rules.next_phase(before, facts(cycle))
    off = timetable.departure(before, moments_of(cycle), now or utcnow(), cycle.timezone, cycle.has_supports_phase)
    reason = timetable.check_reason(before, off, reason)
    cycle.phase = moving_to
    if before is Phase.SUPPORTS:  # only the proposals the cycle's rule for supports selects go on to review
        supports.select_for_review(cycle, actor)
    if cycle.phase is Phase.VOTING:  # the ballot settings and project lists freeze; their digest is published
        ballot_designs.freeze(cycle)
    if before is Phase.VOTING:
        voting.open_ballot_box(cycle)
    if before is Phase.TALLYING:  # publishing: the approved count must still add up
        reconciliation.require_reconciled(cycle, N_("The results were not published because the ballots do not add up:"))
    if cycle.phase is Phase.RESULTS:
        revisions.record_first(cycle, actor, now=now)
    # The timetable's notice that this phase could not be left on time ends with the move, whoever makes it.
    db.session.execute(update(ScheduleNotice).where(
        ScheduleNotice.cycle_id == cycle.id, ScheduleNotice.phase == before, ScheduleNotice.resolved_at.is_(None),
    ).values(resolved_at=now or utcnow()))
    after: dict[str, object] = {"phase": cycle.phase.value}
    if by_timetable:
        after["by"] = "timetable"
    if off is not None:
        after.update(moved_on=off.moved_on.isoformat(), planned_on=off.planned_on.isoformat() if off.planned_on else None)
    if reason:
        after["reason"] = reason
    try:
        db.session.flush()
    except IntegrityError:  # the lock makes this unreachable; a second publication must still be a refusal
        raise ConflictError("The cycle was moved on at the same moment by someone else; reload the page.") from None
    audit.record(
        actor, "advance-phase", f"cycle:{cycle.id}", cycle_id=cycle.id,
        before={"phase": before.value}, after=after,
    )
    if cycle.phase is Phase.VOTING:
        announcements.voting_opened(cycle)
    elif cycle.phase is Phase.RESULTS:
        announcements.results_published(cycle)
    return cycle.phase


@dataclass(frozen=True)
class TimetableChange:
    """A phase change made away from the published timetable, as the public cycle page lists it."""

    description: Message
    reason: str
    moved_on: date


def timetable_changes(cycle: Cycle) -> list[TimetableChange]:
    """Every phase change off the published timetable, oldest first, read from the audit log where it is kept."""
    changes = []
    entries = db.session.execute(
        select(AuditEntry.before, AuditEntry.after)
        .where(AuditEntry.cycle_id == cycle.id, AuditEntry.action == "advance-phase")
        .order_by(AuditEntry.sequence)
    )
    for before_text, after_text in entries:
        try:
            left, after = Phase(json.loads(before_text)["phase"]), json.loads(after_text)
            moved_on = date.fromisoformat(after["moved_on"])
            planned = date.fromisoformat(after["planned_on"]) if after.get("planned_on") else None
        except (ValueError, KeyError, TypeError):
            continue  # an entry from before departures were recorded, or one that keeps the timetable
        off = timetable.Departure(planned, moved_on)
        changes.append(TimetableChange(timetable.describe_change(left, off), after.get("reason") or "",
                                       moved_on))
    return changes


def get_cycle(cycle_id: int) -> Cycle:
    return load(Cycle, cycle_id, "cycle")


def get_district(cycle: Cycle, district_id: int) -> District:
    district = load(District, district_id, "district")
    if district.cycle_id != cycle.id:
        raise NotFound("There is no such district.")
    return district


def list_cycles(include_drafts: bool) -> list[Cycle]:
    query = select(Cycle).order_by(Cycle.created_at.desc(), Cycle.id.desc())
    if not include_drafts:
        query = query.where(Cycle.phase != Phase.DRAFT)
    return list(db.session.scalars(query))


def get_district_by_id(district_id: int) -> District:
    return load(District, district_id, "district")


def get_category_by_id(category_id: int) -> Category:
    return load(Category, category_id, "category")
