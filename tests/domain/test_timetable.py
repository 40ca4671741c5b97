"""The published timetable: which move keeps which moment, and when moving off it needs a reason."""

from datetime import date, datetime

import pytest

from pb.domain.cycle import TRANSITIONS, Phase
from pb.domain.errors import ValidationError
from pb.domain.timetable import (
    STEPS,
    Departure,
    check_reason,
    check_zone,
    departure,
    describe_change,
    moment_names,
    step,
    is_zone,
    iso,
    local_day,
    shown,
    to_utc,
)

P = Phase
TODAY = date(2027, 3, 5)
EARLIER, LATER = date(2027, 3, 3), date(2027, 3, 8)
NOW = datetime(2027, 3, 5, 12, 0)  # naive UTC


def _at(day: date, hour: int = 12) -> datetime:
    return datetime(day.year, day.month, day.day, hour)


def test_every_move_forward_has_a_step_and_the_ending_ones_are_confirmed():
    assert set(STEPS) == set(TRANSITIONS)
    assert {phase for phase, step in STEPS.items() if step.is_ending} == {P.PROPOSALS, P.SUPPORTS, P.VOTING,
                                                                          P.TALLYING}
    assert {phase for phase, step in STEPS.items() if step.needs_reason_off_date} == {P.REVIEW, P.VOTING}


@pytest.mark.parametrize(
    ("current", "moments", "expected"),
    [
        (P.VOTING, {"voting_close_at": _at(TODAY, 20)}, None),  # the same day, at another hour: on time
        (P.VOTING, {"voting_close_at": _at(LATER)}, Departure(LATER, TODAY)),
        (P.VOTING, {"voting_close_at": _at(EARLIER)}, Departure(EARLIER, TODAY)),
        (P.VOTING, {}, Departure(None, TODAY)),  # nothing published: residents could not plan for it
        (P.REVIEW, {"voting_open_at": None}, Departure(None, TODAY)),
        (P.REVIEW, {"voting_open_at": _at(TODAY), "voting_close_at": _at(LATER)}, None),  # only this step's counts
        (P.PROPOSALS, {"review_at": _at(LATER)}, Departure(LATER, TODAY)),
        (P.PROPOSALS, {}, None),  # nothing published where no reason is needed: nothing to depart from
        (P.TALLYING, {"results_at": _at(EARLIER)}, Departure(EARLIER, TODAY)),
        (P.RESULTS, {"results_at": _at(EARLIER)}, None),  # closing the cycle keeps no moment
        (P.CLOSED, {}, None),
    ],
)
def test_departure(current, moments, expected):
    assert departure(current, moments, NOW, "UTC") == expected


@pytest.mark.parametrize(
    ("current", "moments", "expected"),
    [
        # With the supports phase, supports_at closes the proposals and review_at closes the supports.
        (P.PROPOSALS, {"supports_at": _at(LATER), "review_at": _at(TODAY)}, Departure(LATER, TODAY)),
        (P.PROPOSALS, {"supports_at": _at(TODAY), "review_at": _at(LATER)}, None),
        (P.SUPPORTS, {"supports_at": _at(TODAY), "review_at": _at(EARLIER)}, Departure(EARLIER, TODAY)),
        (P.SUPPORTS, {"review_at": _at(TODAY)}, None),
        (P.SUPPORTS, {}, None),
    ],
)
def test_departure_with_the_supports_phase(current, moments, expected):
    assert departure(current, moments, NOW, "UTC", has_supports_phase=True) == expected


@pytest.mark.parametrize(("has_supports_phase", "field"), [(True, "supports_at"), (False, "review_at")])
def test_closing_proposals_keeps_the_supports_moment_only_with_the_supports_phase(has_supports_phase, field):
    assert step(P.PROPOSALS, has_supports_phase).moment_field == field
    assert step(P.SUPPORTS, has_supports_phase).moment_field == "review_at"
    assert ("supports_at" in moment_names(has_supports_phase)) is has_supports_phase


def test_departure_compares_calendar_days_in_the_cycles_zone():
    # 23:30 UTC on 5 March is already 6 March in Warsaw (UTC+1), the day voting was published to close.
    late_evening = datetime(2027, 3, 5, 23, 30)
    close = to_utc(datetime(2027, 3, 6, 20, 0), "Europe/Warsaw")
    assert departure(P.VOTING, {"voting_close_at": close}, late_evening, "Europe/Warsaw") is None
    assert departure(P.VOTING, {"voting_close_at": close}, late_evening, "UTC") == Departure(date(2027, 3, 6), TODAY)
    # And 1 a.m. in Los Angeles on the 6th (09:00 UTC) is the 6th there, while a close at 23:00 UTC on the 5th was
    # still the 5th in Los Angeles.
    assert departure(P.VOTING, {"voting_close_at": datetime(2027, 3, 5, 23)}, datetime(2027, 3, 6, 9),
                     "America/Los_Angeles") == Departure(date(2027, 3, 5), date(2027, 3, 6))


def test_wall_clock_times_convert_to_utc_and_back_with_the_zones_offset():
    winter, summer = datetime(2026, 12, 15, 20, 0), datetime(2027, 6, 15, 20, 0)
    assert to_utc(winter, "Europe/Madrid") == datetime(2026, 12, 15, 19, 0)
    assert to_utc(summer, "Europe/Madrid") == datetime(2027, 6, 15, 18, 0)
    assert iso(to_utc(winter, "Europe/Madrid"), "Europe/Madrid") == "2026-12-15T20:00:00+01:00"
    assert iso(to_utc(summer, "Europe/Madrid"), "Europe/Madrid") == "2027-06-15T20:00:00+02:00"
    assert iso(None, "UTC") is None
    assert local_day(datetime(2026, 12, 15, 23, 30), "Europe/Madrid") == date(2026, 12, 16)
    assert shown(datetime(2026, 12, 15, 19, 0), "Europe/Madrid") == "15 December 2026, 20:00 (Europe/Madrid)"


@pytest.mark.parametrize(
    ("name", "valid"),
    [("UTC", True), ("Europe/Madrid", True), ("America/Argentina/Buenos_Aires", True), ("Mars/Olympus", False),
     ("", False), ("../etc/passwd", False), (" Europe/Madrid", False), (None, False), ("x" * 100, False)],
)
def test_is_zone(name, valid):
    assert is_zone(name) is valid


def test_check_zone_names_the_bad_zone():
    assert check_zone(" Europe/Warsaw ") == "Europe/Warsaw"
    with pytest.raises(ValidationError, match="Mars/Olympus"):
        check_zone("Mars/Olympus")


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
