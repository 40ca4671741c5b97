"""Which phase change the published timetable makes due now, for the worker that keeps it.

Only the moves residents plan by are made by the timetable: proposals open, supports open (with the supports phase),
review starts, voting opens and voting closes. Publishing the results and closing the cycle wait for officials, who approve the count first.
"""

from collections.abc import Mapping
from datetime import datetime

from pb.domain.cycle import Phase
from pb.domain.timetable import step

# The phases the timetable moves on by itself, each at the moment its step publishes.
SCHEDULED: frozenset[Phase] = frozenset({Phase.DRAFT, Phase.PROPOSALS, Phase.SUPPORTS, Phase.REVIEW, Phase.VOTING})


def due_moment(current: Phase, moments: Mapping[str, datetime | None],
               has_supports_phase: bool = False) -> datetime | None:
    """The published moment at which the timetable moves the cycle out of `current` (None: it never does).

    With the supports phase, `supports_at` closes the proposals and `review_at` closes the supports.
    """
    move = step(current, has_supports_phase)
    if current not in SCHEDULED or move is None:
        return None
    return moments.get(move.moment_field) if move.moment_field else None


def is_due(current: Phase, moments: Mapping[str, datetime | None], now: datetime,
           has_supports_phase: bool = False) -> bool:
    """Whether the timetable should move the cycle on now (every moment naive UTC)."""
    moment = due_moment(current, moments, has_supports_phase)
    return moment is not None and moment <= now
