"""The one rule for the status the public sees: after results, funded, not funded or withdrawn."""

import pytest

from pb.domain.project_status import FUNDED, NOT_FUNDED, WITHDRAWN_BY_CORRECTION, result_label, result_status


@pytest.mark.parametrize(
    ("status", "published", "is_funded", "is_withdrawn", "expected"),
    [
        ("accepted", False, None, False, None),  # before results: "on the ballot" is still true
        ("accepted", False, True, False, None),  # counted but not published: nothing may leak
        ("accepted", True, True, False, FUNDED),
        ("accepted", True, False, False, NOT_FUNDED),
        ("accepted", True, None, True, WITHDRAWN_BY_CORRECTION),  # withdrawn by a correction: no result at all
        ("accepted", True, True, True, WITHDRAWN_BY_CORRECTION),
        ("accepted", True, None, False, None),  # no published count covers it
        ("rejected", True, None, False, None),
        ("withdrawn", True, None, False, None),
        ("not_selected", True, None, False, None),
    ],
)
def test_the_public_status_after_results(status, published, is_funded, is_withdrawn, expected):
    assert result_status(status, results_published=published, is_funded=is_funded, is_withdrawn=is_withdrawn) == expected


def test_each_result_status_has_words():
    assert [result_label(key) for key in (FUNDED, NOT_FUNDED, WITHDRAWN_BY_CORRECTION)] == [
        "Funded", "Not funded", "Withdrawn after the results"]
