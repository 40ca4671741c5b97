"""Money as integers in the currency's smallest unit: parsing what people type and printing it back."""

import re
from decimal import Decimal, InvalidOperation

from pb.domain.errors import ValidationError
from pb.domain.messages import N_, Figure

# ISO 4217 minor units for the currencies whose exponent is not 2.
_MINOR_UNIT_EXPONENTS = {"JPY": 0, "KRW": 0, "ISK": 0, "CLP": 0, "VND": 0, "BHD": 3, "KWD": 3, "TND": 3}

# A trillion units is beyond any municipal budget; anything larger is a typo or an attack.
MAX_AMOUNT_MAJOR = 10**12

_SPACES = re.compile(r"[\s\u00a0\u202f']")


def minor_unit_exponent(currency: str) -> int:
    """How many decimal places the currency uses (2 unless ISO 4217 says otherwise)."""
    return _MINOR_UNIT_EXPONENTS.get(currency.upper(), 2)


def parse_amount(text: str, currency: str) -> int:
    """Turn what a person typed ("12 500.50", "12,500.50", "12500,5") into an integer of minor units."""
    exponent = minor_unit_exponent(currency)
    cleaned = _SPACES.sub("", (text or "").strip())
    if cleaned.upper().endswith(currency.upper()):
        cleaned = cleaned[: -len(currency)]
    if not cleaned:
        raise ValidationError("Enter an amount.")
    if cleaned.startswith("-"):
        raise ValidationError("The amount cannot be negative.")
    if "," in cleaned and "." in cleaned:
        decimal_mark = "." if cleaned.rfind(".") > cleaned.rfind(",") else ","
    elif cleaned.count(".") > 1:
        decimal_mark = ","  # "1.000.000": the repeated mark can only be grouping thousands
    elif cleaned.count(",") == 1 and len(cleaned.split(",")[1]) in (1, 2):
        decimal_mark = ","
    else:
        decimal_mark = "."
    grouping = "," if decimal_mark == "." else "."
    whole, _, fraction = cleaned.partition(decimal_mark)
    # Thousands separators must group digits in threes, so "1,2,3" is a typo, not 123.
    if not re.fullmatch(r"\d+|\d{1,3}(%s\d{3})+" % re.escape(grouping), whole) or not re.fullmatch(r"\d*", fraction):
        raise ValidationError(N_("“{text}” is not an amount; write it like 12 500.50.", text=text.strip()[:40]))
    if len(fraction) > exponent:
        raise ValidationError(N_("Use at most {places} decimal places for {currency}.", places=exponent, currency=currency.upper()))
    normalised = whole.replace(grouping, "") + ("." + fraction if fraction else "")
    try:
        value = Decimal(normalised)
    except InvalidOperation:  # pragma: no cover - the pattern above already rules this out
        raise ValidationError("That is not an amount.") from None
    if value > MAX_AMOUNT_MAJOR:
        raise ValidationError(N_("The amount is too large (at most {most:,}).", most=MAX_AMOUNT_MAJOR))
    minor = value.scaleb(exponent)
    if minor != minor.to_integral_value():
        raise ValidationError(N_("Use at most {places} decimal places for {currency}.", places=exponent, currency=currency.upper()))
    return int(minor)


def format_amount(minor: int, currency: str, *, with_currency: bool = True) -> str:
    """Print minor units as a readable amount: 1250050 EUR -> "12,500.50 EUR".

    With the currency it is a Figure: English text everywhere, which the web shows in the reader's number style when
    the amount is part of a message ("12.500,50 EUR", "12 500,50 EUR").
    """
    exponent = minor_unit_exponent(currency)
    sign = "-" if minor < 0 else ""
    major, fraction = divmod(abs(minor), 10**exponent)
    text = f"{sign}{major:,}"
    if exponent and fraction:
        text += f".{fraction:0{exponent}d}"
    return Figure(f"{text} {currency.upper()}", "money", minor, currency) if with_currency else text


def amount_for_input(minor: int, currency: str) -> str:
    """The amount as it should appear pre-filled in a form field (no grouping, no currency)."""
    exponent = minor_unit_exponent(currency)
    sign = "-" if minor < 0 else ""
    major, fraction = divmod(abs(minor), 10**exponent)
    return f"{sign}{major}.{fraction:0{exponent}d}" if exponent and fraction else f"{sign}{major}"
