"""Residents' and moderators' Markdown (headings, lists, links; never raw HTML) rendered to safe HTML."""

from functools import lru_cache

import nh3
from markdown_it import MarkdownIt
from markupsafe import Markup

ALLOWED_TAGS = {"p", "br", "h2", "h3", "h4", "ul", "ol", "li", "strong", "em", "a", "blockquote", "code", "pre"}
ALLOWED_ATTRIBUTES = {"a": {"href"}}
URL_SCHEMES = {"http", "https", "mailto"}
LINK_REL = "nofollow noopener ugc"


@lru_cache(maxsize=1)
def _parser() -> MarkdownIt:
    # commonmark with html=False: a "<script>" in the text stays text; linkify off keeps output predictable.
    parser = MarkdownIt("commonmark", {"html": False, "linkify": False, "typographer": False})
    parser.validateLink = _is_safe_link
    return parser


def _is_safe_link(url: str) -> bool:
    scheme, colon, _ = url.strip().partition(":")
    if not colon or "/" in scheme or "?" in scheme or "#" in scheme:
        return True  # a relative link
    return scheme.lower() in URL_SCHEMES


def _demote_headings(html: str) -> str:
    # The page owns its one h1; the text's headings start one level below, and h5/h6 become h4.
    for level in (6, 5):
        html = html.replace(f"<h{level}>", "<h4>").replace(f"</h{level}>", "</h4>")
    return html.replace("<h1>", "<h2>").replace("</h1>", "</h2>")


def render(text: str | None) -> str:
    """The text's Markdown as sanitised HTML: only the allowed tags, only http(s)/mailto links, rel=nofollow."""
    if not text:
        return ""
    html = _demote_headings(_parser().render(text))
    return nh3.clean(
        html, tags=ALLOWED_TAGS, attributes=ALLOWED_ATTRIBUTES, url_schemes=URL_SCHEMES, link_rel=LINK_REL,
        strip_comments=True,
    )


def markdown_filter(text: str | None) -> Markup:
    """Jinja filter: the rendered, sanitised Markdown, marked safe for the template."""
    return Markup(render(text))  # nosec B704: sanitised by nh3 just above
