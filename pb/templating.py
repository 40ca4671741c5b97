"""What templates may call: money and date formatting, and the phase vocabulary."""

from datetime import date

from flask import Flask

from pb.domain.cycle import Phase, is_allowed
from pb.domain.money import format_amount


def _money(minor: int | None, currency: str) -> str:
    return "" if minor is None else format_amount(minor, currency)


def _day(value: date | None) -> str:
    return value.strftime("%-d %B %Y") if value else "not set"


def init_app(app: Flask) -> None:
    app.add_template_filter(_money, "money")
    app.add_template_filter(_day, "day")
    app.context_processor(lambda: {"Phase": Phase, "is_open": lambda action, cycle: is_allowed(action, cycle.phase)})
