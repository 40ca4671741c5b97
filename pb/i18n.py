"""The reader's language: choosing it, and showing messages, amounts and dates in it (the switch: blueprints/language)."""

import json
import re
from datetime import date, datetime
from decimal import Decimal

from babel.numbers import get_decimal_symbol, get_group_symbol
from babel.support import NullTranslations
from flask import Flask, has_request_context, request
from flask_babel import Babel, format_date, format_datetime, format_decimal, format_time, get_locale, get_translations

from pb.domain.messages import Figure, Message, fill, from_data
from pb.domain.money import minor_unit_exponent

# The languages with a complete catalogue in pb/translations, by code, each named in its own language.
LANGUAGES = {"en": "English", "es": "Español", "pl": "Polski"}
DEFAULT_LANGUAGE = "en"
LANGUAGE_COOKIE = "pb_language"

babel = Babel()


def select_language() -> str:
    """An explicit choice from the switch, else the profile's language, else the browser's best match, else English."""
    if not has_request_context():
        return DEFAULT_LANGUAGE
    chosen = request.cookies.get(LANGUAGE_COOKIE)
    if chosen in LANGUAGES:
        return chosen
    from flask_login import current_user

    from sqlalchemy.exc import SQLAlchemyError

    # A logged-in person's language from their profile, unless they chose another with the switch since. Reading it
    # loads the account: with the database down (the "try again" page) the browser's language must do.
    try:
        chosen = getattr(current_user, "locale", None) if current_user and current_user.is_authenticated else None
    except SQLAlchemyError:
        chosen = None
    if chosen in LANGUAGES:
        return chosen
    return request.accept_languages.best_match(LANGUAGES, default=DEFAULT_LANGUAGE)


def current_language() -> str:
    return str(get_locale() or DEFAULT_LANGUAGE)


def _catalogue():
    return get_translations() if has_request_context() else NullTranslations()


_GROUPED = re.compile(r"\{(\w+):,\}")


def translate(text: object) -> str:
    """A message (or a plain sentence that is in the catalogue) in the reader's language; English if untranslated."""
    if not isinstance(text, str):
        return text
    if isinstance(text, Figure):
        return _figure(text) if has_request_context() else str(text)
    catalogue = _catalogue()
    if not isinstance(text, Message):
        return catalogue.gettext(text)
    if text.plural is None:
        template = catalogue.gettext(text.template)
    else:
        template = catalogue.ngettext(text.template, text.plural, int(text.params["count"]))
    params = {name: translate(value) if isinstance(value, Message) else format_day(value) if isinstance(value, date)
              else value for name, value in text.params.items()}
    # "{voters:,}" groups digits the English way; in the reader's language the number is written in their style.
    grouped = set(_GROUPED.findall(template))
    template = _GROUPED.sub(r"{\1}", template)
    params = {name: _figure(Figure(f"{value:,}", "count", value)) if name in grouped and isinstance(value, int)
              else value for name, value in params.items()}
    try:
        shown = fill(template, params, render=translate)
        return shown.lower() if text.is_lowered else shown
    except (KeyError, IndexError, ValueError):  # a translator's broken placeholder must not cost the reader the message
        return str(text)


def explained(english: str, data: str = "") -> str:
    """A stored tally explanation in the reader's language, from its template and values; the English text when a
    count was stored without them (before explanations were kept that way) or they cannot be read."""
    if data:
        try:
            return translate(from_data(json.loads(data)))
        except (ValueError, KeyError, TypeError, AttributeError):
            pass
    return english


def format_money(minor: int, currency: str) -> str:
    """Minor units in the reader's number style: 1250050 EUR -> "12,500.50 EUR", "12.500,50 EUR", "12 500,50 EUR"."""
    exponent = minor_unit_exponent(currency)
    value = Decimal(minor).scaleb(-exponent)
    pattern = "#,##0" if not exponent or minor % 10**exponent == 0 else "#,##0." + "0" * exponent
    return f"{format_decimal(value, format=pattern)} {currency.upper()}"


_ENGLISH_NUMBER = re.compile(r"\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?")


def _rewritten(text: str) -> str:
    """Digits written the English way ("1,234.56 EUR") with the reader's group and decimal symbols instead."""
    symbols = number_symbols()

    def swap(found: re.Match) -> str:
        return found.group(0).replace(",", "\0").replace(".", symbols["decimal"]).replace("\0", symbols["group"])

    return _ENGLISH_NUMBER.sub(swap, text)


def _figure(figure: Figure) -> str:
    if figure.kind == "written":
        return _rewritten(figure)
    if figure.kind == "money":
        return format_money(*figure.value)
    if figure.kind == "share":
        return format_share(*figure.value)
    if figure.kind == "moment":
        return format_local_moment(*figure.value)
    return format_decimal(figure.value[0], format="#,##0")


def number_symbols() -> dict[str, str]:
    """The reader's digit-group and decimal symbols, for the ballot page's script to write amounts the same way."""
    locale = get_locale() or DEFAULT_LANGUAGE
    return {"group": get_group_symbol(locale), "decimal": get_decimal_symbol(locale)}


def format_share(part: int, whole: int) -> str:
    """A share as a percentage with one decimal in the reader's style: "60.0 %", "60,0 %"; a dash with no whole."""
    if not whole:
        return "–"
    return f"{format_decimal(Decimal(100 * part) / Decimal(whole), format='#,##0.0')} %"


# English keeps the day-month-year order pb has always used; other languages use their own long form.
_DAY_PATTERNS = {"en": "d MMMM y"}
_MOMENT_PATTERNS = {"en": "yyyy-MM-dd HH:mm"}


def format_day(value: date) -> str:
    return format_date(value, _DAY_PATTERNS.get(current_language(), "long"))


def format_moment(value: datetime, seconds: bool = False) -> str:
    """A UTC timestamp to the minute (or second): "2026-05-01 14:30" in English, the reader's short form otherwise."""
    pattern = _MOMENT_PATTERNS.get(current_language())
    if pattern is None:
        return format_datetime(value, "medium" if seconds else "short", rebase=False)
    return format_datetime(value, pattern + (":ss" if seconds else ""), rebase=False)


def format_local_moment(value: datetime, zone: str) -> str:
    """A naive UTC moment as the wall clock of a cycle's time zone, with the zone's name:
    "15 December 2026, 20:00 (Europe/Madrid)" in English, the reader's long date and short time otherwise."""
    from pb.domain.timetable import local

    wall = local(value, zone).replace(tzinfo=None)  # already the zone's wall clock: Babel must not move it again
    time = format_time(wall, "HH:mm" if current_language() == "en" else "short", rebase=False)
    return f"{format_date(wall.date(), _DAY_PATTERNS.get(current_language(), 'long'))}, {time} ({zone})"


def _language_links() -> list[dict]:
    here = request.full_path.rstrip("?") if has_request_context() else "/"
    active = current_language()
    return [{"code": code, "name": name, "is_active": code == active, "next": here} for code, name in LANGUAGES.items()]


def _vary_by_language(response):
    # The same address answers in another language for another browser: shared caches must keep them apart.
    response.vary.add("Accept-Language")
    return response


def init_app(app: Flask) -> None:
    babel.init_app(app, default_locale=DEFAULT_LANGUAGE, locale_selector=select_language)
    app.after_request(_vary_by_language)
    app.jinja_env.filters["translate"] = translate
    app.context_processor(lambda: {"current_language": current_language, "language_links": _language_links,
                                   "number_symbols": number_symbols, "explained": explained})
