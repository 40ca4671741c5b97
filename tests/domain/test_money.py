"""Money: parsing what people type into integer minor units, and printing it back."""

import pytest

from pb.domain.errors import ValidationError
from pb.domain.money import amount_for_input, format_amount, minor_unit_exponent, parse_amount


@pytest.mark.parametrize(
    ("text", "currency", "minor"),
    [
        ("12 500.50", "EUR", 1_250_050),
        ("12,500.50", "EUR", 1_250_050),
        ("12.500,50", "EUR", 1_250_050),
        ("12500,5", "EUR", 1_250_050),
        ("12'500.50", "CHF", 1_250_050),
        ("12,500", "EUR", 1_250_000),
        ("1,000,000", "EUR", 100_000_000),
        ("1 000", "EUR", 100_000),
        ("0.5", "EUR", 50),
        ("0.05", "EUR", 5),
        ("5.", "EUR", 500),
        ("  7 ", "EUR", 700),
        ("12\u2009500", "EUR", 1_250_000),  # thin space
        ("12\u202f500,50", "EUR", 1_250_050),  # narrow no-break space
        ("12\u00a0500", "EUR", 1_250_000),  # no-break space
        ("100 EUR", "EUR", 10_000),
        ("100 eur", "EUR", 10_000),
        ("100PLN", "PLN", 10_000),
        ("1 500", "JPY", 1_500),
        ("1.234", "BHD", 1_234),
        ("0", "EUR", 0),
        ("1 000 000 000 000", "EUR", 10**14),  # the largest amount allowed
    ],
)
def test_parse_amount_reads_the_ways_people_write_money(text, currency, minor):
    assert parse_amount(text, currency) == minor


@pytest.mark.parametrize(
    ("text", "currency", "message"),
    [
        ("12500.505", "EUR", "Use at most 2 decimal places for EUR."),
        ("1.5", "JPY", "Use at most 0 decimal places for JPY."),
        ("1.2345", "BHD", "Use at most 3 decimal places for BHD."),
        ("-5", "EUR", "The amount cannot be negative."),
        ("abc", "EUR", "“abc” is not an amount; write it like 12 500.50."),
        ("", "EUR", "Enter an amount."),
        ("   ", "EUR", "Enter an amount."),
        ("EUR", "EUR", "Enter an amount."),
        ("1e5", "EUR", "“1e5” is not an amount; write it like 12 500.50."),
        ("NaN", "EUR", "“NaN” is not an amount; write it like 12 500.50."),
        ("Infinity", "EUR", "“Infinity” is not an amount; write it like 12 500.50."),
        ("+5", "EUR", "“+5” is not an amount; write it like 12 500.50."),
        ("1.2.3", "EUR", "“1.2.3” is not an amount; write it like 12 500.50."),
        ("100 USD", "EUR", "“100 USD” is not an amount; write it like 12 500.50."),
        ("1 000 000 000 000.01", "EUR", "The amount is too large (at most 1,000,000,000,000)."),
        ("9" * 400, "EUR", "The amount is too large (at most 1,000,000,000,000)."),
    ],
)
def test_parse_amount_refuses_what_is_not_an_amount_with_a_reason(text, currency, message):
    with pytest.raises(ValidationError) as refused:
        parse_amount(text, currency)
    assert refused.value.message == message


def test_parse_amount_quotes_at_most_forty_characters_of_bad_input():
    with pytest.raises(ValidationError) as refused:
        parse_amount("x" * 500, "EUR")
    assert refused.value.message == f"“{'x' * 40}” is not an amount; write it like 12 500.50."


@pytest.mark.parametrize(("currency", "exponent"), [("EUR", 2), ("eur", 2), ("JPY", 0), ("KWD", 3), ("XYZ", 2)])
def test_minor_unit_exponent_follows_iso_4217(currency, exponent):
    assert minor_unit_exponent(currency) == exponent


@pytest.mark.parametrize(
    ("minor", "currency", "text"),
    [
        (1_250_050, "EUR", "12,500.50 EUR"),
        (1_250_000, "EUR", "12,500 EUR"),
        (1_205, "EUR", "12.05 EUR"),
        (5, "EUR", "0.05 EUR"),
        (0, "EUR", "0 EUR"),
        (-1_250, "EUR", "-12.50 EUR"),
        (-5, "EUR", "-0.05 EUR"),
        (1_500_000, "JPY", "1,500,000 JPY"),
        (1_234, "BHD", "1.234 BHD"),
        (1_000, "bhd", "1 BHD"),
    ],
)
def test_format_amount_prints_grouped_major_units_and_the_currency(minor, currency, text):
    assert format_amount(minor, currency) == text


def test_format_amount_can_leave_out_the_currency():
    assert format_amount(1_250_050, "EUR", with_currency=False) == "12,500.50"


@pytest.mark.parametrize(
    ("minor", "currency", "text"),
    [(1_250_050, "EUR", "12500.50"), (1_250_000, "EUR", "12500"), (5, "EUR", "0.05"), (0, "EUR", "0"),
     (1_500, "JPY", "1500"), (1_001, "BHD", "1.001"), (-1_250, "EUR", "-12.50")],
)
def test_amount_for_input_has_no_grouping_and_no_currency(minor, currency, text):
    assert amount_for_input(minor, currency) == text


_SAMPLES = sorted({0, 1, 9, 10, 99, 100, 101, 999, 1_000, 1_001, 12_345, 99_999, 100_000, 1_250_050, 10**12}
                  | {7**n for n in range(1, 15)} | {n * 37 + 3 for n in range(0, 3_000, 97)})


@pytest.mark.parametrize("currency", ["EUR", "JPY", "BHD"])
def test_amount_for_input_round_trips_through_parse_amount(currency):
    for minor in _SAMPLES:
        assert parse_amount(amount_for_input(minor, currency), currency) == minor, minor
