"""After the vote: the statuses a funded project goes through, the moves between them and what each one implies."""

from dataclasses import dataclass
from datetime import date
from enum import Enum

from pb.domain.errors import ValidationError
from pb.domain.messages import N_


class ImplementationStatus(str, Enum):
    PLANNED = "planned"
    IN_PROGRESS = "in_progress"
    DONE = "done"
    CANCELLED = "cancelled"

    @property
    def label(self) -> str:
        return _LABELS[self]


_LABELS = {
    ImplementationStatus.PLANNED: N_("Planned"),
    ImplementationStatus.IN_PROGRESS: N_("In progress"),
    ImplementationStatus.DONE: N_("Done"),
    ImplementationStatus.CANCELLED: N_("Cancelled"),
}

S = ImplementationStatus

# Where a project may go from each status; keeping a status (to change progress or money) is always allowed.
# A finished project can be reopened (a defect found), a cancelled one reinstated, but a built project is never
# "cancelled" and a cancelled one is never "done" without being worked on first.
TRANSITIONS: dict[ImplementationStatus, frozenset[ImplementationStatus]] = {
    S.PLANNED: frozenset({S.IN_PROGRESS, S.DONE, S.CANCELLED}),
    S.IN_PROGRESS: frozenset({S.PLANNED, S.DONE, S.CANCELLED}),
    S.DONE: frozenset({S.IN_PROGRESS}),
    S.CANCELLED: frozenset({S.PLANNED, S.IN_PROGRESS}),
}

MAX_PROGRESS = 100
MAX_REASON_LENGTH = 2000
MAX_UPDATE_LENGTH = 5000


@dataclass(frozen=True)
class ProgressReport:
    """A funded project's state as an official records it; money in minor units."""

    status: ImplementationStatus
    progress: int
    spent: int
    cancel_reason: str = ""


# What a funded project with nothing recorded yet shows.
NOT_STARTED = ProgressReport(status=S.PLANNED, progress=0, spent=0)


def parse_status(value: object) -> ImplementationStatus:
    try:
        return ImplementationStatus(value)
    except ValueError:
        raise ValidationError(
            N_("Choose one of the statuses: {statuses}.",
               statuses=", ".join(status.label.lower() for status in ImplementationStatus))
        ) from None


def check_progress(
    status: object, progress: object, spent: object, cancel_reason: str | None, *, previous: ImplementationStatus
) -> ProgressReport:
    """The report to store, or a ValidationError listing every problem in plain words."""
    problems: list[str] = []
    try:
        new_status = parse_status(status)
    except ValidationError as error:
        problems.append(error.message)
        new_status = None
    if not isinstance(progress, int) or isinstance(progress, bool) or not 0 <= progress <= MAX_PROGRESS:
        problems.append(N_("The progress is a whole percentage from 0 to {most}.", most=MAX_PROGRESS))
        progress = None
    if not isinstance(spent, int) or isinstance(spent, bool) or spent < 0:
        problems.append(N_("The money spent cannot be negative; enter 0 if nothing has been spent yet."))
    reason = " ".join((cancel_reason or "").split())
    if new_status is not None:
        if new_status is not previous and new_status not in TRANSITIONS[previous]:
            problems.append(
                N_("A project that is “{previous}” cannot become “{new}”; it can become: {allowed}.",
                   previous=previous.label.lower(), new=new_status.label.lower(),
                   allowed=", ".join(sorted(s.label.lower() for s in TRANSITIONS[previous])))
            )
        if new_status is S.DONE and progress is not None and progress != MAX_PROGRESS:
            problems.append(N_("A project that is done is 100 % complete: set the progress to 100, or keep it in progress."))
        if new_status is S.PLANNED and progress:
            problems.append(N_("A planned project has not started, so its progress is 0 %: choose “in progress”."))
        if new_status is S.CANCELLED and not reason:
            problems.append(N_("Say why the project is cancelled: residents will read the reason on the project page."))
        if len(reason) > MAX_REASON_LENGTH:
            problems.append(N_("Keep the reason to {most} characters.", most=MAX_REASON_LENGTH))
    if problems:
        raise ValidationError(N_("Nothing was saved: {problems}", problems=tuple(problems)), problems=problems)
    return ProgressReport(
        status=new_status, progress=progress, spent=spent,
        cancel_reason=reason if new_status is S.CANCELLED else "",
    )


def check_update(text: str | None, posted_on: date | None, *, today: date) -> str:
    """A public update's text, tidied; refuses an empty, overlong or future-dated one."""
    cleaned = (text or "").strip()
    problems = []
    if not cleaned:
        problems.append(N_("Write what happened."))
    elif len(cleaned) > MAX_UPDATE_LENGTH:
        problems.append(N_("Keep an update to {most} characters.", most=MAX_UPDATE_LENGTH))
    if posted_on is None:
        problems.append(N_("Give the update a date."))
    elif posted_on > today:
        problems.append(N_("An update reports what has happened: its date cannot be in the future."))
    if problems:
        raise ValidationError(N_("The update was not posted: {problems}", problems=tuple(problems)), problems=problems)
    return cleaned


@dataclass(frozen=True)
class SpendingTotals:
    """Budgeted against spent over a group of funded projects, and how many are in each status."""

    budgeted: int
    spent: int
    released: int  # the budgets of cancelled projects: funded, but no longer committed
    by_status: dict[ImplementationStatus, int]

    @property
    def project_count(self) -> int:
        return sum(self.by_status.values())

    @property
    def is_over_budget(self) -> bool:
        return self.spent > self.budgeted


def totals(rows: list[tuple[ImplementationStatus, int, int]]) -> SpendingTotals:
    """Add up (status, budgeted, spent) rows; a cancelled project's budget is not counted as committed."""
    by_status = {status: 0 for status in ImplementationStatus}
    budgeted = spent = released = 0
    for status, project_budget, project_spent in rows:
        by_status[status] += 1
        spent += project_spent
        if status is S.CANCELLED:
            released += project_budget
        else:
            budgeted += project_budget
    return SpendingTotals(budgeted=budgeted, spent=spent, released=released, by_status=by_status)
