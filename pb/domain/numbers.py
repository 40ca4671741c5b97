"""Whole numbers as people and programs send them: ASCII digits 0-9 only, and never absurdly long.

Python's int() and str.isdigit() accept far more than a form or a query string should carry: "²".isdigit() is true
but int("²") raises; int() reads "١٢" (Arabic-Indic) and "１２" (full-width) as 12, and "1_000" or " 7 " as numbers
too. Every number pb reads from a request goes through here instead, so all of them refuse the same things.
"""

import re

_ASCII_DIGITS = re.compile(r"[0-9]+")

# Nine digits always fit a database integer column (2**31 - 1 has ten), so a parsed id can be looked up safely.
ID_DIGITS = 9


def parse_whole_number(text: object, *, most_digits: int = ID_DIGITS) -> int | None:
    """The number `text` writes with ASCII digits alone (at most `most_digits` of them), else None.

    None for "", "²", "١٢", "１２", "-1", "+1", "1e3", "1.0", " 1", "1_000", "0x10" and anything longer than allowed.
    """
    if not isinstance(text, str) or not 0 < len(text) <= most_digits or not _ASCII_DIGITS.fullmatch(text):
        return None
    return int(text)


def whole_number(value: object) -> int:
    """parse_whole_number for converters that expect a ValueError (Werkzeug's `type=`, WTForms' `coerce=`).

    An int passes through unchanged, as WTForms also coerces the choices it was given.
    """
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    number = parse_whole_number(value)
    if number is None:
        raise ValueError("not a whole number written with the digits 0-9")
    return number
