"""Implementation rules: statuses, the moves between them, what "done" and "cancelled" imply, and the totals."""

from datetime import date

import pytest

from pb.domain.errors import ValidationError
from pb.domain.implementation import (
    NOT_STARTED,
    TRANSITIONS,
    ImplementationStatus,
    ProgressReport,
    check_progress,
    check_update,
    totals,
)

S = ImplementationStatus
TODAY = date(2026, 6, 1)


def test_a_valid_report_is_returned_as_stored():
    report = check_progress("in_progress", 40, 12_345, "", previous=S.PLANNED)
    assert report == ProgressReport(status=S.IN_PROGRESS, progress=40, spent=12_345, cancel_reason="")


def test_nothing_recorded_reads_as_planned_with_nothing_done_or_spent():
    assert NOT_STARTED == ProgressReport(status=S.PLANNED, progress=0, spent=0)


@pytest.mark.parametrize(
    ("status", "progress", "spent", "reason", "words"),
    [
        ("built", 10, 0, "", "Choose one of the statuses"),
        ("in_progress", 150, 0, "", "from 0 to 100"),
        ("in_progress", -1, 0, "", "from 0 to 100"),
        ("in_progress", None, 0, "", "from 0 to 100"),
        ("in_progress", True, 0, "", "from 0 to 100"),
        ("in_progress", 10, -5, "", "cannot be negative"),
        ("in_progress", 10, None, "", "cannot be negative"),
        ("done", 90, 0, "", "100 % complete"),
        ("planned", 20, 0, "", "has not started"),
        ("cancelled", 20, 0, "", "Say why"),
        ("cancelled", 20, 0, "   \n ", "Say why"),
        ("cancelled", 20, 0, "x" * 2001, "2000 characters"),
    ],
)
def test_bad_reports_are_refused_with_the_reason(status, progress, spent, reason, words):
    with pytest.raises(ValidationError) as refused:
        check_progress(status, progress, spent, reason, previous=S.IN_PROGRESS)
    assert words in refused.value.message
    assert refused.value.message.startswith("Nothing was saved")


def test_every_problem_is_listed_at_once():
    with pytest.raises(ValidationError) as refused:
        check_progress("cancelled", 150, -1, "", previous=S.PLANNED)
    assert len(refused.value.problems) == 3


def test_done_is_100_percent():
    assert check_progress("done", 100, 0, "", previous=S.IN_PROGRESS).status is S.DONE


def test_cancelled_keeps_its_tidied_reason_and_other_statuses_drop_it():
    assert check_progress("cancelled", 30, 5, "  Ground   is contaminated ", previous=S.IN_PROGRESS).cancel_reason == (
        "Ground is contaminated"
    )
    assert check_progress("in_progress", 30, 5, "left over", previous=S.CANCELLED).cancel_reason == ""


ALL_MOVES = [(before, after) for before in S for after in S]


@pytest.mark.parametrize(("before", "after"), ALL_MOVES, ids=lambda s: s.value)
def test_moves_follow_the_transition_table(before, after):
    progress = 100 if after is S.DONE else 0 if after is S.PLANNED else 50
    is_allowed = after is before or after in TRANSITIONS[before]
    if is_allowed:
        assert check_progress(after.value, progress, 0, "reason", previous=before).status is after
    else:
        with pytest.raises(ValidationError, match="cannot become"):
            check_progress(after.value, progress, 0, "reason", previous=before)


def test_a_built_project_is_never_cancelled_and_a_cancelled_one_never_done_directly():
    assert S.CANCELLED not in TRANSITIONS[S.DONE]
    assert S.DONE not in TRANSITIONS[S.CANCELLED]


def test_an_update_is_tidied_and_refused_when_empty_future_or_too_long():
    assert check_update("  The swings are ordered.\n", TODAY, today=TODAY) == "The swings are ordered."
    for text, day, words in [
        ("  ", TODAY, "Write what happened"),
        ("ok", date(2026, 6, 2), "future"),
        ("ok", None, "date"),
        ("x" * 5001, TODAY, "5000 characters"),
    ]:
        with pytest.raises(ValidationError, match=words):
            check_update(text, day, today=TODAY)


def test_totals_add_up_and_release_the_budget_of_cancelled_projects():
    result = totals([(S.DONE, 1000, 1200), (S.IN_PROGRESS, 500, 100), (S.CANCELLED, 300, 50)])
    assert (result.budgeted, result.spent, result.released) == (1500, 1350, 300)
    assert result.by_status == {S.PLANNED: 0, S.IN_PROGRESS: 1, S.DONE: 1, S.CANCELLED: 1}
    assert result.project_count == 3 and not result.is_over_budget
    assert totals([(S.DONE, 100, 101)]).is_over_budget
    assert totals([]).project_count == 0
