"""Colour contrast as WCAG 2 defines it (relative luminance, contrast ratio) and the checks a city's colours must pass."""

import re

from pb.domain.errors import ValidationError
from pb.domain.messages import N_

WHITE = "#ffffff"
# The dark text pb puts on a light header band: pb.css's body ink.
DARK_INK = "#1b1b1f"
# WCAG 2 level AA for normal-size text (success criterion 1.4.3).
AA_NORMAL_TEXT = 4.5

_HEX = re.compile(r"^#?([0-9a-fA-F]{6}|[0-9a-fA-F]{3})$")


def parse(colour: str) -> tuple[int, int, int]:
    """'#rrggbb' (or '#rgb', with or without '#') as red, green and blue from 0 to 255; anything else is refused."""
    match = _HEX.match((colour or "").strip())
    if not match:
        raise ValidationError(N_("Write the colour as # and six hexadecimal digits, for example #0b57a4."))
    digits = match.group(1)
    if len(digits) == 3:
        digits = "".join(digit * 2 for digit in digits)
    return int(digits[0:2], 16), int(digits[2:4], 16), int(digits[4:6], 16)


def normalised(colour: str) -> str:
    """The colour as '#rrggbb' in lower case, the one form pb stores and writes into stylesheets."""
    red, green, blue = parse(colour)
    return f"#{red:02x}{green:02x}{blue:02x}"


def _linear(channel: int) -> float:
    value = channel / 255
    # The sRGB transfer function; 0.04045 is the threshold the sRGB standard gives (WCAG's 0.03928 differs only below
    # any 8-bit value's reach).
    return value / 12.92 if value <= 0.04045 else ((value + 0.055) / 1.055) ** 2.4


def relative_luminance(colour: str) -> float:
    """From 0 (black) to 1 (white), as WCAG 2 defines it."""
    red, green, blue = parse(colour)
    return 0.2126 * _linear(red) + 0.7152 * _linear(green) + 0.0722 * _linear(blue)


def contrast_ratio(first: str, second: str) -> float:
    """From 1 (the same luminance) to 21 (black on white); the order of the two colours does not matter."""
    lighter, darker = sorted((relative_luminance(first), relative_luminance(second)), reverse=True)
    return (lighter + 0.05) / (darker + 0.05)


def _ratio_text(ratio: float) -> str:
    # Rounded down: WCAG forbids rounding a failing 4.47 up to a passing 4.5.
    return f"{int(ratio * 100) / 100:.2f}:1"


def checked_primary(colour: str) -> str:
    """The primary colour (links on white, white text on buttons of that colour), if it reaches AA against white."""
    colour = normalised(colour)
    ratio = contrast_ratio(colour, WHITE)
    if ratio < AA_NORMAL_TEXT:
        raise ValidationError(N_(
            "This colour has a contrast of only {ratio} with white: links on white pages and white text on buttons "
            "need at least 4.5:1 (WCAG AA). Choose a darker colour.", ratio=_ratio_text(ratio)))
    return colour


def ink_on(background: str) -> str:
    """The text colour for a band of this colour: white or pb's dark ink, whichever contrasts more."""
    background = normalised(background)
    return max((WHITE, DARK_INK), key=lambda ink: contrast_ratio(background, ink))


def checked_header(colour: str) -> tuple[str, str]:
    """The header band's colour and the text colour put on it, if that text reaches AA; refused if neither can."""
    colour = normalised(colour)
    ink = ink_on(colour)
    ratio = contrast_ratio(colour, ink)
    if ratio < AA_NORMAL_TEXT:
        raise ValidationError(N_(
            "Neither white nor dark text is readable enough on this colour (at best {ratio}; WCAG AA needs 4.5:1). "
            "Choose a darker or a lighter colour.", ratio=_ratio_text(ratio)))
    return colour, ink


def darker(colour: str, share: float = 0.25) -> str:
    """The colour mixed with `share` of black: for hover and pressed states, contrasting more with white."""
    red, green, blue = parse(colour)
    keep = 1 - share
    return f"#{round(red * keep):02x}{round(green * keep):02x}{round(blue * keep):02x}"
