"""The published timetable: which move keeps which date, and when moving off it needs a reason."""

from datetime import date

import pytest

from pb.domain.cycle import TRANSITIONS, Phase
from pb.domain.errors import ValidationError
from pb.domain.timetable import STEPS, Departure, check_reason, departure, describe_change

P = Phase
TODAY = date(2027, 3, 5)
EARLIER, LATER = date(2027, 3, 3), date(2027, 3, 8)


def test_every_move_forward_has_a_step_and_the_ending_ones_are_confirmed():
    assert set(STEPS) == set(TRANSITIONS)
    assert {phase for phase, step in STEPS.items() if step.is_ending} == {P.PROPOSALS, P.VOTING, P.TALLYING}
    assert {phase for phase, step in STEPS.items() if step.needs_reason_off_date} == {P.REVIEW, P.VOTING}


@pytest.mark.parametrize(
    ("current", "dates", "expected"),
    [
        (P.VOTING, {"voting_close_on": TODAY}, None),
        (P.VOTING, {"voting_close_on": LATER}, Departure(LATER, TODAY)),
        (P.VOTING, {"voting_close_on": EARLIER}, Departure(EARLIER, TODAY)),
        (P.VOTING, {}, Departure(None, TODAY)),  # no date published: residents could not plan for it
        (P.REVIEW, {"voting_open_on": None}, Departure(None, TODAY)),
        (P.REVIEW, {"voting_open_on": TODAY, "voting_close_on": LATER}, None),  # only this step's date counts
        (P.PROPOSALS, {"review_on": LATER}, Departure(LATER, TODAY)),
        (P.PROPOSALS, {}, None),  # no date published where no reason is needed: nothing to depart from
        (P.TALLYING, {"results_on": EARLIER}, Departure(EARLIER, TODAY)),
        (P.RESULTS, {"results_on": EARLIER}, None),  # closing the cycle keeps no date
        (P.CLOSED, {}, None),
    ],
)
def test_departure(current, dates, expected):
    assert departure(current, dates, TODAY) == expected


@pytest.mark.parametrize(
    ("current", "off", "reason", "outcome"),
    [
        (P.VOTING, Departure(LATER, TODAY), " Storm. ", "Storm."),
        (P.VOTING, Departure(LATER, TODAY), "", ValidationError),
        (P.REVIEW, Departure(None, TODAY), None, ValidationError),
        (P.VOTING, None, None, ""),
        (P.PROPOSALS, Departure(LATER, TODAY), "", ""),
        (P.PROPOSALS, None, "x" * 1001, ValidationError),
    ],
)
def test_check_reason(current, off, reason, outcome):
    if outcome is ValidationError:
        with pytest.raises(ValidationError):
            check_reason(current, off, reason)
    else:
        assert check_reason(current, off, reason) == outcome


@pytest.mark.parametrize(
    ("off", "text"),
    [
        (Departure(LATER, TODAY), "Voting closed on 5 March 2027, 3 days before the published date (8 March 2027)."),
        (Departure(date(2027, 3, 4), TODAY), "Voting closed on 5 March 2027, 1 day after the published date (4 March 2027)."),
        (Departure(None, TODAY), "Voting closed on 5 March 2027; no date had been published."),
    ],
)
def test_describe_change(off, text):
    assert describe_change(P.VOTING, off) == text
