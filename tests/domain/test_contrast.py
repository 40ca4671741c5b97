"""WCAG contrast maths and the checks on a city's colours: known pairs, and properties over every colour."""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pb.domain import contrast
from pb.domain.errors import ValidationError

colours = st.tuples(st.integers(0, 255), st.integers(0, 255), st.integers(0, 255)).map(
    lambda rgb: "#{:02x}{:02x}{:02x}".format(*rgb))


@pytest.mark.parametrize(("first", "second", "expected"), [
    ("#000000", "#ffffff", 21.0),
    ("#ffffff", "#ffffff", 1.0),
    ("#777777", "#ffffff", 4.48),  # the classic grey that just fails AA
    ("#767676", "#ffffff", 4.54),  # the lightest grey that passes
    ("#0b57a4", "#ffffff", 7.21),  # pb's default accent
    ("#ff0000", "#ffffff", 4.0),
    ("#0000ff", "#ffffff", 8.59),
    ("#ffff00", "#000000", 19.56),
])
def test_known_pairs(first, second, expected):
    assert contrast.contrast_ratio(first, second) == pytest.approx(expected, abs=0.01)


@pytest.mark.parametrize(("colour", "luminance"), [("#000000", 0.0), ("#ffffff", 1.0), ("#ff0000", 0.2126),
                                                   ("#00ff00", 0.7152), ("#0000ff", 0.0722)])
def test_relative_luminance_of_the_primaries(colour, luminance):
    assert contrast.relative_luminance(colour) == pytest.approx(luminance)


@pytest.mark.parametrize(("written", "stored"), [("#0B57A4", "#0b57a4"), ("0b57a4", "#0b57a4"), ("#fff", "#ffffff"),
                                                 (" #abc ", "#aabbcc")])
def test_colours_are_normalised(written, stored):
    assert contrast.normalised(written) == stored


@pytest.mark.parametrize("written", ["", "blue", "#12345", "#1234567", "#ggghhh", "rgb(0,0,0)", "#12 456", None])
def test_anything_but_hex_is_refused(written):
    with pytest.raises(ValidationError, match="six hexadecimal digits"):
        contrast.normalised(written)


@settings(max_examples=300, deadline=None)
@given(colours, colours)
def test_ratio_is_symmetric_and_between_1_and_21(first, second):
    ratio = contrast.contrast_ratio(first, second)
    assert ratio == pytest.approx(contrast.contrast_ratio(second, first))
    assert 1 - 1e-9 <= ratio <= 21 + 1e-9


@settings(max_examples=300, deadline=None)
@given(colours)
def test_a_colour_against_itself_is_1(colour):
    assert contrast.contrast_ratio(colour, colour) == pytest.approx(1.0)


@settings(max_examples=300, deadline=None)
@given(colours)
def test_luminance_is_between_0_and_1_and_grows_with_each_channel(colour):
    luminance = contrast.relative_luminance(colour)
    assert 0 <= luminance <= 1
    red, green, blue = contrast.parse(colour)
    if red < 255:
        assert contrast.relative_luminance(f"#{red + 1:02x}{green:02x}{blue:02x}") > luminance


@settings(max_examples=300, deadline=None)
@given(colours)
def test_primary_is_accepted_exactly_when_it_reaches_aa_on_white(colour):
    if contrast.contrast_ratio(colour, "#ffffff") >= 4.5:
        assert contrast.checked_primary(colour) == colour
    else:
        with pytest.raises(ValidationError, match="4.5:1"):
            contrast.checked_primary(colour)


@settings(max_examples=300, deadline=None)
@given(colours)
def test_header_ink_is_the_better_of_white_and_dark_and_reaches_aa_when_accepted(colour):
    ink = contrast.ink_on(colour)
    assert ink in (contrast.WHITE, contrast.DARK_INK)
    other = contrast.DARK_INK if ink == contrast.WHITE else contrast.WHITE
    assert contrast.contrast_ratio(colour, ink) >= contrast.contrast_ratio(colour, other)
    try:
        band, chosen = contrast.checked_header(colour)
    except ValidationError:
        assert contrast.contrast_ratio(colour, ink) < 4.5
    else:
        assert (band, chosen) == (colour, ink)
        assert contrast.contrast_ratio(band, chosen) >= 4.5


@settings(max_examples=300, deadline=None)
@given(colours)
def test_darker_never_contrasts_less_with_white(colour):
    assert contrast.contrast_ratio(contrast.darker(colour), "#ffffff") >= contrast.contrast_ratio(colour, "#ffffff") - 1e-9


def test_known_header_choices():
    assert contrast.checked_header("#0b57a4") == ("#0b57a4", "#ffffff")
    assert contrast.checked_header("#ffd500") == ("#ffd500", "#1b1b1f")
    assert contrast.checked_header("#ffffff") == ("#ffffff", "#1b1b1f")


def test_a_failing_ratio_is_never_rounded_up_in_the_message():
    with pytest.raises(ValidationError) as refused:
        contrast.checked_primary("#777777")
    assert "4.47:1" in refused.value.message  # 4.478, truncated
    assert "4.5:1 (WCAG AA)" in refused.value.message


def test_a_mid_grey_band_is_refused_with_its_best_ratio():
    # #777777 reaches neither 4.5:1 with white (4.478) nor with dark ink (3.8).
    with pytest.raises(ValidationError, match="Neither white nor dark text") as refused:
        contrast.checked_header("#777777")
    assert "4.47:1" in refused.value.message  # 4.478, truncated
