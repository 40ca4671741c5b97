"""The cycle's published timetable: which date each phase change keeps, what it ends, and when leaving it needs a reason.

A cycle publishes five dates (proposals open, review starts, voting opens, voting closes, results). Each forward
move of the phase keeps one of them. Moving on another day is allowed, since a city may have good reasons, but
residents were told the date: opening or closing voting away from it (or with no date published) needs a written
reason, which is kept in the audit log and shown on the cycle's public page. Days are compared in UTC, as every
date pb stores.
"""

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date

from pb.domain.cycle import Phase
from pb.domain.errors import ValidationError
from pb.domain.messages import N_, Message, Nn_

MAX_REASON_LENGTH = 1000


@dataclass(frozen=True)
class Step:
    """One forward move of the phase, named by the phase it leaves."""

    date_field: str | None  # the cycle's date published for it (None: no date is published for this move)
    action: Message  # what the official does: "Close voting"
    done: Message  # what happened, for the public note: "Voting closed"
    consequence: Message  # what moving on does, said before it is done
    is_ending: bool  # it ends something residents take part in (or makes results final): confirm it first
    needs_reason_off_date: bool  # residents plan by this date: moving on another day (or with none) needs a reason


STEPS: dict[Phase, Step] = {
    Phase.DRAFT: Step(
        "proposals_open_on", N_("Open proposals"), N_("Proposals opened"),
        N_("Residents can submit proposals. The cycle's set-up (budget, districts, categories, counting rule and "
           "dates) can no longer be changed."),
        is_ending=False, needs_reason_off_date=False,
    ),
    Phase.PROPOSALS: Step(
        "review_on", N_("Close proposals"), N_("Proposals closed"),
        N_("No new proposal can be submitted, and authors can no longer edit theirs (except ones a moderator sends "
           "back for changes). Moderators review every proposal. Proposals cannot be reopened."),
        is_ending=True, needs_reason_off_date=False,
    ),
    Phase.REVIEW: Step(
        "voting_open_on", N_("Open voting"), N_("Voting opened"),
        N_("The ballot is fixed: the accepted projects at their final cost. Verified residents can vote from now "
           "on; no proposal can be reviewed any more."),
        is_ending=False, needs_reason_off_date=True,
    ),
    Phase.VOTING: Step(
        "voting_close_on", N_("Close voting"), N_("Voting closed"),
        N_("Voting ends for everyone: no ballot can be cast or changed after this, and voting cannot be reopened. "
           "Paper ballots can still be entered until the results are published."),
        is_ending=True, needs_reason_off_date=True,
    ),
    Phase.TALLYING: Step(
        "results_on", N_("Publish the results"), N_("Results published"),
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

# The cycle's dates in order, with the words the timetable is shown with.
DATES: tuple[tuple[str, Message], ...] = (
    ("proposals_open_on", N_("Proposals open")),
    ("review_on", N_("Review starts")),
    ("voting_open_on", N_("Voting opens")),
    ("voting_close_on", N_("Voting closes")),
    ("results_on", N_("Results published")),
)


@dataclass(frozen=True)
class Departure:
    """How moving on today departs from the published date (`planned_on` None: no date was published)."""

    planned_on: date | None
    moved_on: date

    @property
    def days(self) -> int:
        """Days after the published date (negative: before); 0 when no date was published."""
        return (self.moved_on - self.planned_on).days if self.planned_on else 0


def departure(current: Phase, dates: Mapping[str, date | None], today: date) -> Departure | None:
    """The departure from the timetable if the cycle left `current` today, or None when it keeps the timetable.

    A move with no published date departs only where residents plan by it (voting); elsewhere it keeps the
    timetable, since there was nothing to keep.
    """
    step = STEPS.get(current)
    if step is None or step.date_field is None:
        return None
    planned = dates.get(step.date_field)
    if planned == today:
        return None
    if planned is None and not step.needs_reason_off_date:
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
