"""Whole numbers from requests: ASCII digits only, whatever Python's int() and isdigit() would let through."""

import pytest

from pb.domain.numbers import parse_whole_number, whole_number

NOT_NUMBERS = ["", "²", "2²", "¹²", "١٢", "１２", "૧૨", "-1", "+1", "1e3", "1.0", "1,0", " 1", "1 ", "1\n", "1_000",
               "0x10", "½", "Ⅻ", "9" * 10, "9" * 400, None, 12.0, b"12"]


@pytest.mark.parametrize("text", NOT_NUMBERS)
def test_anything_but_ascii_digits_is_no_number(text):
    assert parse_whole_number(text) is None
    with pytest.raises(ValueError):
        whole_number(text)


@pytest.mark.parametrize(("text", "number"), [("0", 0), ("7", 7), ("0012", 12), ("999999999", 999_999_999)])
def test_ascii_digits_are_read(text, number):
    assert parse_whole_number(text) == number == whole_number(text)


def test_longer_numbers_only_where_asked_and_ints_pass_through():
    assert parse_whole_number("1" * 15, most_digits=15) == int("1" * 15)
    assert parse_whole_number("1" * 16, most_digits=15) is None
    assert whole_number(42) == 42
    with pytest.raises(ValueError):
        whole_number(True)
