"""Messages for people: English text that keeps its template and values so the web can show it in another language.

The domain cannot import a translation library, so it marks text with `N_` (singular) or `Nn_` (with a count):
both return a `Message`, a `str` holding the English text, which code and tests use as before. The web boundary
(pb/i18n.py) looks the template up in the reader's catalogue and fills in the same values.
"""

from collections.abc import Mapping
from datetime import date
from typing import Self


class Message(str):
    """English text that remembers the template and values it was made from."""

    template: str
    plural: str | None
    params: Mapping[str, object]

    def __new__(cls, template: str, plural: str | None = None, **params: object) -> Self:
        chosen = plural if plural is not None and params.get("count") != 1 else template
        message = super().__new__(cls, fill(chosen, params))
        message.template, message.plural, message.params = template, plural, params
        return message

    is_lowered = False

    def lower(self) -> "Message":
        """The same message in lower case, e.g. a phase name inside a sentence; shown lower-cased in every language."""
        lowered = str.__new__(Message, str.lower(self))
        lowered.template, lowered.plural, lowered.params, lowered.is_lowered = self.template, self.plural, self.params, True
        return lowered

    def __reduce__(self):  # pickled (e.g. by a cache) as the English text it stands for
        return (str, (str(self),))


class Figure(str):
    """A number written the English way, as exports and chart images need it, that the web shows in the reader's
    style instead: `kind` is "money" (value: minor units, currency), "count" (value: n) or "share" (part, whole)."""

    kind: str
    value: tuple

    def __new__(cls, english: str, kind: str, *value: object) -> Self:
        figure = super().__new__(cls, english)
        figure.kind, figure.value = kind, value
        return figure

    def __reduce__(self):  # pickled (e.g. by a cache) as the English text it stands for
        return (str, (str(self),))


def fill(template: str, params: Mapping[str, object], render=str) -> str:
    """Put the values into a template; a tuple value is a sequence of sentences, joined by spaces; a day reads
    "3 May 2026" (the web passes days already written in the reader's language)."""
    if not params:
        return template
    values = {}
    for name, value in params.items():  # one pass: a tally's explanations fill thousands of these
        if isinstance(value, tuple):
            value = " ".join(render(item) for item in value)
        elif isinstance(value, Figure):
            value = render(value)
        elif isinstance(value, date):
            value = f"{value.day} {value:%B %Y}"
        values[name] = value
    return template.format_map(values)


def N_(template: str, **params: object) -> Message:
    """Mark a message for translation; `{name}` placeholders are filled from `params`."""
    return Message(template, **params)


def Nn_(singular: str, plural: str, count: int, **params: object) -> Message:
    """Mark a message whose wording depends on `count` (available as `{count}`)."""
    return Message(singular, plural, count=count, **params)


def join(*sentences: str) -> Message:
    """Sentences one after another, each still translatable: join(a, b) reads "a b"."""
    return Message("{sentences}", sentences=tuple(sentences))


def to_data(value: object) -> object:
    """A message as plain JSON data, so a stored explanation can be shown later in any reader's language."""
    if isinstance(value, Message):
        data = {"m": value.template, "p": {name: to_data(item) for name, item in value.params.items()}}
        if value.plural is not None:
            data["pl"] = value.plural
        if value.is_lowered:
            data["low"] = True
        return data
    if isinstance(value, Figure):
        return {"f": value.kind, "e": str(value), "v": list(value.value)}
    if isinstance(value, tuple):
        return {"t": [to_data(item) for item in value]}
    if isinstance(value, date):
        return {"d": value.isoformat()}
    if isinstance(value, str | int):
        return value if not isinstance(value, bool) else str(value)
    return str(value)


def from_data(data: object) -> object:
    """The message `to_data` stored, rebuilt; its English text is the same as the original's."""
    if isinstance(data, dict):
        if "m" in data:
            message = Message(data["m"], data.get("pl"), **{name: from_data(item) for name, item in data["p"].items()})
            return message.lower() if data.get("low") else message
        if "f" in data:
            return Figure(data["e"], data["f"], *data["v"])
        if "t" in data:
            return tuple(from_data(item) for item in data["t"])
        if "d" in data:
            return date.fromisoformat(data["d"])
    return data
