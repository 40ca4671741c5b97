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
    values = {name: " ".join(render(item) for item in value) if isinstance(value, tuple)
              else render(value) if isinstance(value, Figure) else value
              for name, value in params.items()}
    values = {name: f"{value.day} {value:%B %Y}" if isinstance(value, date) else value for name, value in values.items()}
    return template.format(**values)


def N_(template: str, **params: object) -> Message:
    """Mark a message for translation; `{name}` placeholders are filled from `params`."""
    return Message(template, **params)


def Nn_(singular: str, plural: str, count: int, **params: object) -> Message:
    """Mark a message whose wording depends on `count` (available as `{count}`)."""
    return Message(singular, plural, count=count, **params)
