"""Notification kinds: which can be turned off, how choices are stored, and how long a failed delivery waits."""

import pytest

from pb.domain import notifications
from pb.domain.notifications import KINDS, SECURITY


def test_security_messages_cannot_be_turned_off_and_every_other_kind_can():
    assert not notifications.can_turn_off(SECURITY)
    assert all(notifications.can_turn_off(kind) for kind in KINDS if kind != SECURITY)
    assert not notifications.can_turn_off("no-such-kind")


def test_stored_choices_keep_known_kinds_only_and_never_security():
    stored = notifications.store_muted({"results", SECURITY, "made-up", "proposals"})
    assert stored == "proposals results"
    assert notifications.muted_kinds(stored + " security junk") == {"proposals", "results"}
    assert notifications.is_wanted(SECURITY, "security")
    assert not notifications.is_wanted("results", stored)
    assert notifications.is_wanted("voting_opens", stored)


def test_an_unknown_kind_is_a_programming_error():
    with pytest.raises(ValueError):
        notifications.is_wanted("newsletter", "")


@pytest.mark.parametrize(("attempts", "seconds"), [(1, 60), (2, 120), (3, 240), (6, 1920), (7, 3600), (30, 3600)])
def test_retries_wait_twice_as_long_each_time_up_to_an_hour(attempts, seconds):
    assert notifications.retry_delay_seconds(attempts) == seconds
