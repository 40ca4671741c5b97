"""The cycle's published timetable: which moment each phase change keeps, what it ends, and when leaving it needs a reason.

A cycle publishes five moments (proposals open, review starts, voting opens, voting closes, results), and a sixth
when it has the supports phase (supports open, which is when proposals close), each a date
and a time in the cycle's time zone ("voting closes 15 December at 20:00, Europe/Madrid"). pb stores them as naive
UTC datetimes, like every moment it keeps. Each forward move of the phase keeps one of them. Moving on another day
is allowed, since a city may have good reasons, but residents were told the date: opening or closing voting on
another calendar day than the published one (in the cycle's zone), or with no moment published, needs a written
reason, which is kept in the audit log and shown on the cycle's public page.
"""

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pb.domain.cycle import Phase
from pb.domain.errors import ValidationError
from pb.domain.messages import N_, Figure, Message, Nn_

MAX_REASON_LENGTH = 1000


@dataclass(frozen=True)
class Step:
    """One forward move of the phase, named by the phase it leaves."""

    moment_field: str | None  # the cycle's moment published for it (None: no moment is published for this move)
    action: Message  # what the official does: "Close voting"
    done: Message  # what happened, for the public note: "Voting closed"
    consequence: Message  # what moving on does, said before it is done
    is_ending: bool  # it ends something residents take part in (or makes results final): confirm it first
    needs_reason_off_date: bool  # residents plan by this date: moving on another day (or with none) needs a reason


STEPS: dict[Phase, Step] = {
    Phase.DRAFT: Step(
        "proposals_open_at", N_("Open proposals"), N_("Proposals opened"),
        N_("Residents can submit proposals. The cycle's set-up (budget, districts, categories, counting rule and "
           "dates) can no longer be changed."),
        is_ending=False, needs_reason_off_date=False,
    ),
    Phase.PROPOSALS: Step(
        "review_at", N_("Close proposals"), N_("Proposals closed"),
        N_("No new proposal can be submitted, and authors can no longer edit theirs (except ones a moderator sends "
           "back for changes). Moderators review every proposal. Proposals cannot be reopened."),
        is_ending=True, needs_reason_off_date=False,
    ),
    Phase.SUPPORTS: Step(
        "review_at", N_("Close supports"), N_("Supports closed"),
        N_("Residents can no longer support proposals or take a support back. The proposals that do not meet the "
           "cycle's rule for supports (the most supported of each district, or a minimum number of supports) are "
           "set aside as “not enough supports” and their authors told; the others go to review."),
        is_ending=True, needs_reason_off_date=False,
    ),
    Phase.REVIEW: Step(
        "voting_open_at", N_("Open voting"), N_("Voting opened"),
        N_("The ballot is fixed: the accepted projects at their final cost. Verified residents can vote from now "
           "on; no proposal can be reviewed any more."),
        is_ending=False, needs_reason_off_date=True,
    ),
    Phase.VOTING: Step(
        "voting_close_at", N_("Close voting"), N_("Voting closed"),
        N_("Voting ends for everyone: no ballot can be cast or changed after this, and voting cannot be reopened. "
           "Paper ballots can still be entered until the results are published."),
        is_ending=True, needs_reason_off_date=True,
    ),
    Phase.TALLYING: Step(
        "results_at", N_("Publish the results"), N_("Results published"),
        N_("The approved count becomes public for good. It can never be changed again: a mistake can only be "
           "corrected by a new revision that two officials approve, and every revision stays public."),
        is_ending=True, needs_reason_off_date=False,
    ),
    Phase.RESULTS: Step(
        None, N_("Close the cycle"), N_("Cycle closed"),
        N_("The cycle is closed. Its results stay public and the funded projects' implementation can still be "
           "recorded."),
        is_ending=False, needs_reason_off_date=False,
    ),
}

# The cycle's moments in order, with the words the timetable is shown with.
MOMENTS: tuple[tuple[str, Message], ...] = (
    ("proposals_open_at", N_("Proposals open")),
    ("supports_at", N_("Supports open")),
    ("review_at", N_("Review starts")),
    ("voting_open_at", N_("Voting opens")),
    ("voting_close_at", N_("Voting closes")),
    ("results_at", N_("Results published")),
)


# With the supports phase, closing proposals opens the supports, at the moment published for that.
_PROPOSALS_TO_SUPPORTS = Step(
    "supports_at", N_("Close proposals"), N_("Proposals closed"),
    N_("No new proposal can be submitted, and authors can no longer edit theirs. Residents can support the proposals "
       "they want on the ballot until the review starts. Proposals cannot be reopened."),
    is_ending=True, needs_reason_off_date=False,
)


def step(current: Phase, has_supports_phase: bool) -> Step | None:
    """The move out of `current` for a cycle with or without the supports phase (None: the cycle is closed)."""
    if current is Phase.PROPOSALS and has_supports_phase:
        return _PROPOSALS_TO_SUPPORTS
    return STEPS.get(current)


def moment_names(has_supports_phase: bool) -> tuple[str, ...]:
    """The cycle's moments that apply to it, in order (`supports_at` only with the supports phase)."""
    return tuple(name for name, _ in MOMENTS if has_supports_phase or name != "supports_at")


@dataclass(frozen=True)
class Departure:
    """How moving on today departs from the published date (`planned_on` None: no date was published)."""

    planned_on: date | None
    moved_on: date

    @property
    def days(self) -> int:
        """Days after the published date (negative: before); 0 when no date was published."""
        return (self.moved_on - self.planned_on).days if self.planned_on else 0


def departure(current: Phase, moments: Mapping[str, datetime | None], now: datetime, zone: str,
              has_supports_phase: bool = False) -> Departure | None:
    """The departure from the timetable if the cycle left `current` now, or None when it keeps the timetable.

    `moments` and `now` are naive UTC; the days are compared in the cycle's `zone`. A move with no published moment
    departs only where residents plan by it (voting); elsewhere it keeps the timetable, since there was nothing to
    keep.
    """
    move = step(current, has_supports_phase)
    if move is None or move.moment_field is None:
        return None
    moment = moments.get(move.moment_field)
    planned, today = (local_day(moment, zone) if moment else None), local_day(now, zone)
    if planned == today:
        return None
    if planned is None and not move.needs_reason_off_date:
        return None
    return Departure(planned, today)


def check_reason(current: Phase, off: Departure | None, reason: str | None) -> str:
    """The reason cleaned up, or a ValidationError when the move needs one and has none (or one far too long)."""
    reason = (reason or "").strip()
    if len(reason) > MAX_REASON_LENGTH:
        raise ValidationError(N_("Keep the reason under {limit} characters.", limit=MAX_REASON_LENGTH))
    if off is not None and STEPS[current].needs_reason_off_date and not reason:
        raise ValidationError(N_(
            "{today} {reason_needed}", today=describe_today(current, off),
            reason_needed=N_("Write the reason for moving on today: it is kept in the audit log and shown on the "
                             "cycle's public page."),
        ))
    return reason


def describe_today(current: Phase, off: Departure | None, planned: date | None = None) -> Message:
    """Today against the published date, before moving on: "Today is 2 days before the date published (5 May)."""
    if off is None:
        if planned is None:
            return N_("No date is published for this step.")
        return N_("Today is the date published for this step ({planned}).", planned=planned)
    if off.planned_on is None:
        return N_("No date was published for this step, so residents could not plan for it.")
    if off.days < 0:
        return Nn_("Today, {today}, is {count} day before the date published for this step ({planned}).",
                   "Today, {today}, is {count} days before the date published for this step ({planned}).",
                   -off.days, today=off.moved_on, planned=off.planned_on)
    return Nn_("Today, {today}, is {count} day after the date published for this step ({planned}).",
               "Today, {today}, is {count} days after the date published for this step ({planned}).",
               off.days, today=off.moved_on, planned=off.planned_on)


def describe_change(left: Phase, off: Departure) -> Message:
    """A departure as the public note shows it: "Voting closed on 3 May 2027, 2 days before the published date (5 May 2027)."""
    done = STEPS[left].done
    if off.planned_on is None:
        return N_("{done} on {on}; no date had been published.", done=done, on=off.moved_on)
    if off.days < 0:
        return Nn_("{done} on {on}, {count} day before the published date ({planned}).",
                   "{done} on {on}, {count} days before the published date ({planned}).",
                   -off.days, done=done, on=off.moved_on, planned=off.planned_on)
    return Nn_("{done} on {on}, {count} day after the published date ({planned}).",
               "{done} on {on}, {count} days after the published date ({planned}).",
               off.days, done=done, on=off.moved_on, planned=off.planned_on)


def closed_refusal(close_at: datetime | None, zone: str, now: datetime) -> Message | None:
    """Why a ballot is refused at `now` because voting closed at its published moment (None: it is still open)."""
    if close_at is None or now < close_at:
        return None
    return N_("Voting closed at {moment}. Your ballot was not saved.", moment=shown(close_at, zone))


# -- Moments in the cycle's time zone. ----------------------------------------------------------------------------


def is_zone(name: object) -> bool:
    """Whether `name` is an IANA time zone this system knows ("Europe/Madrid", "UTC")."""
    if not isinstance(name, str) or not name or name != name.strip() or len(name) > 64:
        return False
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return False
    return True


def check_zone(name: str) -> str:
    """The zone name, or a ValidationError naming the problem."""
    name = (name or "").strip()
    if not is_zone(name):
        raise ValidationError(N_("“{zone}” is not a time zone; use a name such as Europe/Madrid or UTC.", zone=name))
    return name


def local(moment: datetime, zone: str) -> datetime:
    """A naive UTC moment as the (aware) wall-clock time in the zone."""
    return moment.replace(tzinfo=UTC).astimezone(ZoneInfo(zone))


def local_day(moment: datetime, zone: str) -> date:
    """The calendar day a naive UTC moment falls on in the zone."""
    return local(moment, zone).date()


def to_utc(wall_clock: datetime, zone: str) -> datetime:
    """A naive wall-clock time in the zone as a naive UTC moment (a time the clocks skip is read as after the change)."""
    return wall_clock.replace(tzinfo=ZoneInfo(zone)).astimezone(UTC).replace(tzinfo=None)


def iso(moment: datetime | None, zone: str) -> str | None:
    """ISO 8601 with the zone's offset at that moment: "2026-12-15T20:00:00+01:00"; None when unset."""
    return local(moment, zone).isoformat() if moment else None


def shown(moment: datetime, zone: str) -> Figure:
    """A moment for people: "15 December 2026, 20:00 (Europe/Madrid)"; the web writes it in the reader's language."""
    wall = local(moment, zone)
    return Figure(f"{wall.day} {wall:%B %Y, %H:%M} ({zone})", "moment", moment, zone)
