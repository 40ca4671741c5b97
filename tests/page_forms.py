"""Forms as a browser would send them: read from the rendered page, hidden fields and defaults included.

A test that builds the POST by hand can send a field the page never renders (the implementation form's `version`
was such a field: every hand-made test passed while no official could save anything). These helpers send what the
page actually contains, changed only where the test types something.
"""

import html
from html.parser import HTMLParser
from urllib.parse import urlsplit


class _Forms(HTMLParser):
    """Every <form> of a page: its action and the (name, value) pairs a browser would submit by default."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.forms: list[tuple[str, list[tuple[str, str]]]] = []
        self._fields: list[tuple[str, str]] | None = None
        self._select: tuple[str, list[tuple[str, bool]]] | None = None
        self._option: dict | None = None
        self._textarea: tuple[str, list[str]] | None = None

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        if tag == "form":
            self._fields = []
            self.forms.append((attributes.get("action") or "", self._fields))
        elif self._fields is None:
            return
        elif tag == "input" and attributes.get("name") and "disabled" not in attributes:
            kind = (attributes.get("type") or "text").lower()
            if kind in ("checkbox", "radio") and "checked" not in attributes:
                return
            if kind not in ("submit", "button", "image", "file", "reset"):
                self._fields.append((attributes["name"], attributes.get("value") or ("on" if kind == "checkbox" else "")))
        elif tag == "select" and attributes.get("name"):
            self._select = (attributes["name"], [])
        elif tag == "option" and self._select is not None:
            self._option = {"value": attributes.get("value"), "selected": "selected" in attributes, "text": []}
        elif tag == "textarea" and attributes.get("name"):
            self._textarea = (attributes["name"], [])

    def handle_data(self, data):
        if self._option is not None:
            self._option["text"].append(data)
        if self._textarea is not None:
            self._textarea[1].append(data)

    def handle_endtag(self, tag):
        if tag == "option" and self._option is not None:
            option = self._option
            value = option["value"] if option["value"] is not None else "".join(option["text"]).strip()
            self._select[1].append((value, option["selected"]))
            self._option = None
        elif tag == "select" and self._select is not None:
            name, options = self._select
            chosen = [value for value, selected in options if selected] or [value for value, _ in options[:1]]
            self._fields.extend((name, value) for value in chosen)
            self._select = None
        elif tag == "textarea" and self._textarea is not None:
            name, text = self._textarea
            self._fields.append((name, "".join(text).removeprefix("\n")))
            self._textarea = None
        elif tag == "form":
            self._fields = None


def form_fields(page: str, action: str) -> list[tuple[str, str]]:
    """The fields of the page's form posting to `action` (a path), as a browser would send them unchanged."""
    parser = _Forms()
    parser.feed(page)
    found = [fields for target, fields in parser.forms if urlsplit(html.unescape(target)).path == action]
    # A form without an action posts to the page itself, which is what a test naming the page's own path means.
    found = found or [fields for target, fields in parser.forms if not target and fields]
    assert found, f"no form posting to {action} on the page"
    return list(found[0])


def fill_in(fields: list[tuple[str, str]], **typed: str | list[str]) -> dict[str, str | list[str]]:
    """The fields with what the test types in (keyword names with "-" written "__"), ready to post."""
    values: dict[str, str | list[str]] = {}
    for name, value in fields:
        if name in values:
            values[name] = [*([values[name]] if isinstance(values[name], str) else values[name]), value]
        else:
            values[name] = value
    values.update({name.replace("__", "-"): value for name, value in typed.items()})
    return values


def submit_page_form(client, page_url: str, action: str | None = None, **typed):
    """Open the page, fill in its form (the one posting to `action`, by default the page itself) and send it."""
    page = client.get(page_url)
    assert page.status_code == 200, page.status_code
    values = fill_in(form_fields(page.get_data(as_text=True), action or urlsplit(page_url).path), **typed)
    return client.post(action or page_url, data=values)
