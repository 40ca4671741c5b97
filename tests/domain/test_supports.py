"""The supports phase's rule: the top K of a district (ties at the last place all go on) and/or a minimum."""

import pytest

from pb.domain.supports import cut_off, selected

COUNTS = {1: 9, 2: 7, 3: 7, 4: 3, 5: 0}


@pytest.mark.parametrize(
    ("top", "threshold", "expected"),
    [
        (None, None, {1, 2, 3, 4, 5}),  # no rule: everything goes on
        (1, None, {1}),
        (2, None, {1, 2, 3}),  # 2 and 3 tie at the second place: both go on
        (3, None, {1, 2, 3}),  # the third place is shared by 2 and 3: nobody else
        (4, None, {1, 2, 3, 4}),
        (5, None, {1, 2, 3, 4, 5}),
        (10, None, {1, 2, 3, 4, 5}),  # fewer proposals than K
        (None, 7, {1, 2, 3}),  # at least 7: equal to the threshold goes on
        (None, 8, {1}),
        (None, 100, set()),
        (1, 7, {1}),  # both: in the top K AND at least the threshold
        (4, 7, {1, 2, 3}),
        (2, 8, {1}),
    ],
)
def test_which_proposals_go_on_to_review(top, threshold, expected):
    assert selected(COUNTS, top, threshold) == expected


@pytest.mark.parametrize(("top", "expected"), [(None, None), (1, 9), (2, 7), (3, 7), (4, 3), (5, None), (6, None)])
def test_the_cut_off_is_the_count_at_the_kth_place_none_when_all_fit(top, expected):
    assert cut_off(COUNTS, top) == expected


def test_an_empty_district_selects_nothing():
    assert selected({}, 3, 1) == set()
