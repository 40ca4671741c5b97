"""Charts: SVG from the Figure API, deterministic and cached, safe with any title; pyplot is never loaded."""

import subprocess
import sys
from xml.etree import ElementTree

import pytest

from pb import charts
from pb.charts import ChartData

SVG = "{http://www.w3.org/2000/svg}"


def _data(kind: str = "votes", labels=("Swings $x^2$", "Benches", "A very long title " * 5), **overrides) -> ChartData:
    series = {
        "votes": (("Votes", (5, 3, 1)), ("Cost", (20_000, 15_000, 9_000))),
        "turnout": (("Online", (3, 4, 0)), ("Paper", (1, 0, 0)), ("Verified residents", (10, 6, 0))),
        "ballots-per-day": (("Online", (3, 4, 1)), ("Paper", (1, 0, 0))),
        "budget-by-district": (("Used", (3_000, 4_000, 0)), ("Left", (100, 0, 500))),
        "budget-by-category": (("Funded", (3_000, 4_000, 10)),),
    }[kind]
    values = {"kind": kind, "title": f"A {kind} chart", "description": "What it shows.", "labels": labels,
              "series": tuple((name, numbers[: len(labels)]) for name, numbers in series),
              "columns": ("Label",), "rows": tuple((label,) for label in labels), "unit": "EUR", "scale": 100}
    if kind == "votes":
        values.update(marks=(True, False, True)[: len(labels)], limit=30_000)
    values.update(overrides)
    return ChartData(**values)


def _texts(svg: bytes) -> list[str]:
    root = ElementTree.fromstring(svg)
    return ["".join(node.itertext()) for node in root.iter(f"{SVG}text")]


@pytest.mark.parametrize("kind", charts.KINDS)
def test_every_kind_draws_valid_svg_with_its_title_and_labels(kind):
    svg = charts.svg(_data(kind))
    texts = _texts(svg)
    assert f"A {kind} chart" in texts
    assert "Swings $x^2$" in texts  # a dollar sign is text, not mathematical notation
    assert any(text.startswith("A very long title") and text.endswith("…") for text in texts)


def test_the_votes_chart_marks_funded_projects_and_draws_the_budget_line():
    texts = _texts(charts.svg(_data()))
    assert "5 ✓ funded" in texts and "3" in texts and "1 ✓ funded" in texts
    assert any("against the budget (dashed line)" in text for text in texts)


def test_the_same_numbers_give_the_same_bytes_from_the_cache():
    first = charts.svg(_data("turnout"))
    assert charts.svg(_data("turnout")) is first
    assert charts.svg(_data("turnout", title="Other")) != first


@pytest.mark.parametrize("kind", charts.KINDS)
def test_an_empty_chart_says_so_instead_of_failing(kind):
    empty = _data(kind, labels=(), marks=()) if kind == "votes" else _data(kind, labels=())
    assert "Nothing to show yet." in _texts(charts.svg(empty))


def test_drawing_charts_never_loads_pyplot():
    code = (
        "import sys; from pb import charts; from pb.services import exports; "
        "charts.svg(charts.ChartData('turnout', 't', 'd', ('a',), (('Online', (1,)), ('Paper', (0,)), "
        "('Verified residents', (2,))), ('a',), (('a',),))); print('matplotlib.pyplot' in sys.modules)"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "False"
