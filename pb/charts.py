"""Charts of a cycle's numbers as SVG, drawn with matplotlib's Figure API (never pyplot, which keeps
global state and is not safe in a web server's threads).

A chart is described by a `ChartData`: its title, a text alternative, the numbers to draw and the same numbers
as a table, so the page can show the table beside the picture. ChartData is frozen and hashable, so the SVG of
identical numbers is drawn once and then served from a small in-process cache.
"""

import functools
import io
from collections.abc import Sequence
from dataclasses import dataclass

import matplotlib
from matplotlib.figure import Figure

KINDS = ("votes", "budget-by-category", "budget-by-district", "turnout", "ballots-per-day")
LABEL_WIDTH = 32

# Titles are text people typed: a "$" must never start matplotlib's mathematical notation.
_STYLE = {"text.parse_math": False, "svg.hashsalt": "pb", "svg.fonttype": "none", "font.size": 9}
FUNDED, NOT_FUNDED, ONLINE, PAPER, LINE = "#1b7a3a", "#b8bec6", "#1f5fa8", "#e09b2d", "#b3261e"


@dataclass(frozen=True)
class ChartData:
    """What one chart shows: series of whole numbers per label, and the same numbers as a table of text."""

    kind: str
    title: str
    description: str  # the text alternative: what a reader would take from the picture
    labels: tuple[str, ...]
    series: tuple[tuple[str, tuple[int, ...]], ...]
    columns: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]
    marks: tuple[bool, ...] = ()  # votes: which projects are funded
    limit: int | None = None  # votes: the budget, drawn as a line against the cumulative cost of funded projects
    unit: str = ""
    scale: int = 1  # money series are minor units: divide by this to draw major units (100 for EUR)

    def values(self, name: str) -> tuple[int, ...]:
        return dict(self.series)[name]


def _short(label: str) -> str:
    label = " ".join(label.split())
    return label if len(label) <= LABEL_WIDTH else label[: LABEL_WIDTH - 1] + "…"


def _height(count: int) -> float:
    return min(2.0 + 0.32 * max(count, 1), 24.0)


def _draw_votes(figure: Figure, data: ChartData) -> None:
    votes_axes, budget_axes = figure.subplots(2, 1, height_ratios=(max(len(data.labels), 1), 1.4))
    # The first series is the count's score: votes, points or rank scores, named as the ballot design reads it.
    (score_name, votes), costs = data.series[0], data.values("Cost")
    positions = list(range(len(data.labels)))
    bars = votes_axes.barh(positions, votes, color=[FUNDED if funded else NOT_FUNDED for funded in data.marks])
    for bar, funded in zip(bars, data.marks):
        if not funded:
            bar.set_hatch("//")  # not by colour alone
    votes_axes.set_yticks(positions, [_short(label) for label in data.labels])
    votes_axes.invert_yaxis()
    votes_axes.set_xlabel(str(score_name))
    votes_axes.bar_label(bars, labels=[f"{v:,}" + (" ✓ funded" if f else "") for v, f in zip(votes, data.marks)], padding=3)
    votes_axes.margins(x=0.3)
    # Below: the funded projects' costs laid end to end against the budget, so the money left shows at a glance.
    start = 0
    for cost, funded in zip(costs, data.marks):
        if funded:
            budget_axes.barh(0, cost / data.scale, left=start / data.scale, color=FUNDED, edgecolor="white")
            start += cost
    budget_axes.axvline((data.limit or 0) / data.scale, color=LINE, linestyle="--", linewidth=1.5)
    budget_axes.set_xlim(0, max(data.limit or 0, start, 1) / data.scale * 1.05)
    budget_axes.set_yticks([0], ["Funded"])
    budget_axes.set_xlabel(f"Cost of the funded projects against the budget (dashed line), {data.unit}")


def _draw_stacked(figure: Figure, data: ChartData, colours: Sequence[str], xlabel: str) -> None:
    axes = figure.add_subplot()
    positions = list(range(len(data.labels)))
    left = [0.0] * len(positions)
    for (name, values), colour in zip(data.series, colours):
        scaled = [value / data.scale for value in values]
        axes.barh(positions, scaled, left=left, color=colour, label=name)
        left = [a + b for a, b in zip(left, scaled)]
    axes.set_yticks(positions, [_short(label) for label in data.labels])
    axes.invert_yaxis()
    axes.set_xlabel(xlabel)
    if len(data.series) > 1:
        figure.legend(frameon=False, loc="outside lower center", ncols=len(data.series))


def _draw_turnout(figure: Figure, data: ChartData) -> None:
    axes = figure.add_subplot()
    positions = list(range(len(data.labels)))
    online, paper, eligible = data.values("Online"), data.values("Paper"), data.values("Verified residents")
    axes.barh(positions, eligible, color="none", edgecolor="#5a6270", linestyle="--", label="Verified residents")
    axes.barh(positions, online, color=ONLINE, label="Voted online")
    axes.barh(positions, paper, left=online, color=PAPER, label="Voted on paper")
    axes.set_yticks(positions, [_short(label) for label in data.labels])
    axes.invert_yaxis()
    axes.set_xlabel("Residents")
    figure.legend(frameon=False, loc="outside lower center", ncols=3)


def _draw_days(figure: Figure, data: ChartData) -> None:
    axes = figure.add_subplot()
    positions = list(range(len(data.labels)))
    online, paper = data.values("Online"), data.values("Paper")
    axes.bar(positions, online, color=ONLINE, label="Online")
    axes.bar(positions, paper, bottom=online, color=PAPER, label="Paper")
    axes.set_xticks(positions, [_short(label) for label in data.labels], rotation=45, ha="right")
    axes.set_ylabel("Voters")
    figure.legend(frameon=False, loc="outside upper right", ncols=2)


def figure(data: ChartData) -> Figure:
    """The chart as a matplotlib Figure (drawn as SVG for the pages and the PDF report)."""
    with matplotlib.rc_context(_STYLE):
        if data.kind == "ballots-per-day":
            chart = Figure(figsize=(8, 4), layout="constrained")
        else:
            chart = Figure(figsize=(8, _height(len(data.labels))), layout="constrained")
        chart.suptitle(data.title)
        if not data.labels:
            chart.text(0.5, 0.5, "Nothing to show yet.", ha="center", va="center")
        elif data.kind == "votes":
            _draw_votes(chart, data)
        elif data.kind == "turnout":
            _draw_turnout(chart, data)
        elif data.kind == "ballots-per-day":
            _draw_days(chart, data)
        elif data.kind == "budget-by-district":
            _draw_stacked(chart, data, (FUNDED, NOT_FUNDED), data.unit)
        else:
            _draw_stacked(chart, data, (FUNDED,), f"Funded ({data.unit})")
    return chart


@functools.lru_cache(maxsize=128)
def svg(data: ChartData) -> bytes:
    """The chart as SVG bytes; the same numbers give the same bytes, drawn once per process."""
    with matplotlib.rc_context(_STYLE):
        buffer = io.BytesIO()
        figure(data).savefig(buffer, format="svg", metadata={"Date": None})
    return buffer.getvalue()

