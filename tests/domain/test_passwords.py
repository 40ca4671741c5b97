"""The password rules: long enough, not one's own email or name, not a common password or a near variant of one."""

import pytest

from pb.domain.passwords import password_problem

EMAIL, NAME = "nora.newcomer@example.org", "Nora Newcomer"


@pytest.mark.parametrize(("password", "problem"), [
    ("short-pw", "at least 10 characters"),
    ("password1234", "too easy to guess"),  # a listed common password
    ("qwertyuiop", "too easy to guess"),  # a keyboard row
    ("1234567890", "too easy to guess"),
    ("Password123!", "too easy to guess"),  # a common password dressed up
    ("iloveyou2024", "too easy to guess"),
    ("aaaaaaaaaaaa", "too easy to guess"),
    ("nora.newcomer@example.org", "not your email address or your name"),
    ("NORA.NEWCOMER", "not your email address or your name"),
    ("Nora Newcomer", "not your email address or your name"),
    ("noranewcomer", "not your email address or your name"),
    ("noranewcomer1", "too easy to guess"),  # the name with a digit: zxcvbn is given the person's own words
])
def test_a_weak_password_is_refused_with_a_reason_that_helps(password, problem):
    message = password_problem(password, EMAIL, NAME)
    assert message is not None and problem in message


@pytest.mark.parametrize("password", ["tram-lines-at-dusk", "long-enough-pw", "correct-horse-battery", "x" * 5 + "Q7!v" + "z" * 200])
def test_a_password_that_is_not_guessable_is_accepted_without_composition_rules(password):
    assert password_problem(password, EMAIL, NAME) is None
