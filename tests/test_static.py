"""The design system in pb/static/pb.css: the tokens /identity.css overrides, and a style for every component class."""

import pathlib
import re

import pytest

from pb.domain.cycle import Phase
from pb.domain.implementation import ImplementationStatus
from pb.models import ProposalStatus

ROOT = pathlib.Path(__file__).resolve().parents[1]
CSS = (ROOT / "pb" / "static" / "pb.css").read_text(encoding="utf-8")
MACROS = (ROOT / "pb" / "templates" / "_macros.html").read_text(encoding="utf-8")
TEMPLATES = ROOT / "pb" / "templates"
# The city's colours: /identity.css redefines exactly these, so pb.css must define them and draw with them.
IDENTITY_TOKENS = ("--accent", "--accent-dark", "--header-bg", "--header-ink")
# Classes a template uses only to find an element (scripts, tests, anchors), not to style it.
UNSTYLED = {"inline-form-marker"}


def _root_block() -> str:
    return re.search(r":root\s*\{(.*?)\}", CSS, re.S).group(1)


def _selectors_classes() -> set[str]:
    without_comments = re.sub(r"/\*.*?\*/", "", CSS, flags=re.S)
    selectors = re.findall(r"([^{}]+)\{", without_comments)
    return {name for selector in selectors for name in re.findall(r"\.([A-Za-z_][\w-]*)", selector)}


def _static_classes(template_text: str) -> set[str]:
    """The class names written out in class="..." attributes, leaving out the parts Jinja fills in."""
    classes = set()
    for value in re.findall(r'class="([^"]*)"', template_text):
        value = re.sub(r"\{\{.*?\}\}|\{%.*?%\}", "@", value)  # a name Jinja completes is checked by its values
        classes |= {token for token in value.split() if re.fullmatch(r"[A-Za-z_][\w-]*", token)}
    return classes


@pytest.mark.parametrize("token", IDENTITY_TOKENS)
def test_the_identity_colours_are_defined_and_used(token):
    assert re.search(rf"{re.escape(token)}\s*:", _root_block()), f"{token} is not defined in :root"
    assert f"var({token})" in CSS, f"{token} is defined but nothing is drawn with it"


def test_the_header_band_takes_the_city_colours():
    header = re.search(r"header\.site\s*\{([^}]*)\}", CSS).group(1)
    assert "var(--header-bg)" in header and "var(--header-ink)" in header


def test_the_scales_are_tokens():
    root = _root_block()
    assert {"--text-s", "--text-m", "--text-l", "--text-xl", "--text-2xl"} <= set(re.findall(r"--text-[\w]+", root))
    assert {f"--space-{step}" for step in range(1, 7)} <= set(re.findall(r"--space-\d", root))


def test_every_class_the_macros_use_has_a_style():
    missing = _static_classes(MACROS) - _selectors_classes() - UNSTYLED
    assert not missing, f"classes used in _macros.html with no rule in pb.css: {sorted(missing)}"


@pytest.mark.parametrize(("prefix", "values"), [
    ("status", [status.value for status in ProposalStatus]),
    ("phase", [phase.value for phase in Phase]),
    ("implementation", [status.value for status in ImplementationStatus]),
])
def test_every_status_and_phase_has_its_badge(prefix, values):
    styled = _selectors_classes()
    missing = [value for value in values if f"{prefix}-{value}" not in styled]
    assert not missing, f"no .badge.{prefix}-… style for {missing}"


def test_every_class_the_pages_i_own_use_has_a_style():
    pages = ["public/proposals.html", "public/proposal.html", "proposals/mine.html", "voting/ballot.html",
             "voting/districts.html"]
    used = set().union(*(_static_classes((TEMPLATES / page).read_text(encoding="utf-8")) for page in pages))
    missing = used - _selectors_classes() - UNSTYLED
    assert not missing, f"classes with no rule in pb.css: {sorted(missing)}"


def test_the_stylesheet_stays_small():
    assert len(CSS.encode()) < 25 * 1024
