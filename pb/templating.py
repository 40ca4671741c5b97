"""What templates may call: money and date formatting, Markdown, the phase vocabulary and the city's identity."""

from datetime import date, datetime

from flask import Flask, has_request_context, request
from flask_babel import format_decimal, gettext
from sqlalchemy.exc import SQLAlchemyError

from pb.domain.cycle import Phase, is_allowed
from pb.markdown import markdown_filter
from pb.services import branding
from pb.i18n import format_day, format_local_moment, format_moment, format_money


def _money(minor: int | None, currency: str) -> str:
    return "" if minor is None else format_money(minor, currency)


def _day(value: date | None) -> str:
    return format_day(value) if value else gettext("not set")


def _moment(value: datetime | None, seconds: bool = False) -> str:
    return format_moment(value, seconds) if value else ""


def _local_moment(value: datetime | None, zone: str) -> str:
    """A cycle's timetable moment in the cycle's zone, with the zone's name."""
    return format_local_moment(value, zone) if value else gettext("not set")


def _number(value: float | None) -> str:
    return "" if value is None else format_decimal(value)


# Work screens (tables of proposals, residents, audit entries) use the screen's full width; reading pages keep a
# comfortable line length.
WIDE_BLUEPRINTS = frozenset({"admin", "moderation", "dashboard", "paper", "verification", "publication", "places",
                              "verification_requests"})


def _identity() -> branding.Identity:
    """The city's identity. An error page gets pb's defaults when the database cannot say; any other page lets the
    database's error through, so that an outage is answered as one (pb.errors)."""
    try:
        return branding.current()
    except SQLAlchemyError:
        if has_request_context() and request.environ.get("pb.error_page"):
            return branding.Identity()
        raise


def _page_context() -> dict:
    """What every page's frame needs: the city's identity and whether the page is a wide work screen."""
    # No request when the worker renders mail or a service renders a printed document.
    if not has_request_context():
        return {"site": _identity(), "is_wide_page": False}
    # Read once per request, however many templates (a page, an email's text and HTML parts) it renders.
    if "pb.site" not in request.environ:
        request.environ["pb.site"] = _identity()
    return {"site": request.environ["pb.site"], "is_wide_page": request.blueprint in WIDE_BLUEPRINTS}


def init_app(app: Flask) -> None:
    app.add_template_filter(_money, "money")
    app.add_template_filter(_day, "day")
    app.add_template_filter(_moment, "moment")
    app.add_template_filter(_number, "number")
    app.add_template_filter(_local_moment, "local_moment")
    app.add_template_filter(markdown_filter, "markdown")
    app.context_processor(lambda: {"Phase": Phase, "is_open": lambda action, cycle: is_allowed(action, cycle.phase)})
    app.context_processor(_page_context)
