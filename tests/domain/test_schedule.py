"""Which phase change the timetable makes due: only the moves residents plan by, at their moment."""

from datetime import datetime, timedelta

import pytest

from pb.domain.cycle import Phase
from pb.domain.schedule import due_moment, is_due

P = Phase
NOW = datetime(2027, 3, 5, 20, 0)
MOMENTS = {"proposals_open_at": NOW, "supports_at": NOW, "review_at": NOW, "voting_open_at": NOW, "voting_close_at": NOW,
           "results_at": NOW}


@pytest.mark.parametrize(
    ("current", "due"),
    [(P.DRAFT, True), (P.PROPOSALS, True), (P.SUPPORTS, True), (P.REVIEW, True), (P.VOTING, True),
     (P.TALLYING, False), (P.RESULTS, False), (P.CLOSED, False)],  # results and closing wait for officials
)
def test_only_the_planned_moves_are_made_by_the_timetable(current, due):
    assert is_due(current, MOMENTS, NOW, has_supports_phase=True) is due
    if current is not P.SUPPORTS:
        assert is_due(current, MOMENTS, NOW) is due


@pytest.mark.parametrize(
    ("current", "field"),
    [(P.DRAFT, "proposals_open_at"), (P.PROPOSALS, "review_at"), (P.REVIEW, "voting_open_at"),
     (P.VOTING, "voting_close_at")],
)
def test_each_move_is_due_at_its_own_moment_to_the_second(current, field):
    _check_due_at_its_own_moment(current, field, has_supports_phase=False)


@pytest.mark.parametrize(
    ("current", "field"),
    [(P.DRAFT, "proposals_open_at"), (P.PROPOSALS, "supports_at"), (P.SUPPORTS, "review_at"),
     (P.REVIEW, "voting_open_at"), (P.VOTING, "voting_close_at")],
)
def test_with_the_supports_phase_supports_at_closes_proposals_and_review_at_closes_supports(current, field):
    _check_due_at_its_own_moment(current, field, has_supports_phase=True)


def _check_due_at_its_own_moment(current, field, has_supports_phase):
    moments = {field: NOW}
    assert due_moment(current, moments, has_supports_phase) == NOW
    assert not is_due(current, moments, NOW - timedelta(seconds=1), has_supports_phase)
    assert is_due(current, moments, NOW, has_supports_phase)
    assert is_due(current, moments, NOW + timedelta(days=3), has_supports_phase)  # late: still due
    assert not is_due(current, {}, NOW, has_supports_phase)  # nothing published: never moved by the timetable
    other = {name: NOW for name in MOMENTS if name != field}
    assert not is_due(current, other, NOW, has_supports_phase)
