"""Which phase change the published timetable makes due now, for the worker that keeps it.

Only the four moves residents plan by are made by the timetable: proposals open, review starts, voting opens and
voting closes. Publishing the results and closing the cycle wait for officials, who approve the count first.
"""

from collections.abc import Mapping
from datetime import datetime

from pb.domain.cycle import Phase
from pb.domain.timetable import STEPS

# The phases the timetable moves on by itself, each at the moment its step publishes.
SCHEDULED: frozenset[Phase] = frozenset({Phase.DRAFT, Phase.PROPOSALS, Phase.REVIEW, Phase.VOTING})


def due_moment(current: Phase, moments: Mapping[str, datetime | None]) -> datetime | None:
    """The published moment at which the timetable moves the cycle out of `current` (None: it never does)."""
    if current not in SCHEDULED:
        return None
    field = STEPS[current].moment_field
    return moments.get(field) if field else None


def is_due(current: Phase, moments: Mapping[str, datetime | None], now: datetime) -> bool:
    """Whether the timetable should move the cycle on now (every moment naive UTC)."""
    moment = due_moment(current, moments)
    return moment is not None and moment <= now
