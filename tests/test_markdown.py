"""Markdown in descriptions, moderator notes and implementation updates: headings, lists and links, never HTML."""

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pb.markdown import render


@pytest.mark.parametrize(("text", "expected"), [
    ("## Where\n\nIn the park.", "<h2>Where</h2>"),
    ("# Title", "<h2>Title</h2>"),
    ("###### Small", "<h4>Small</h4>"),
    ("- one\n- two", "<ul>\n<li>one</li>\n<li>two</li>\n</ul>"),
    ("1. first\n2. second", "<ol>"),
    ("**bold** and *soft*", "<strong>bold</strong> and <em>soft</em>"),
    ("> quoted", "<blockquote>"),
    ("`code`", "<code>code</code>"),
    ("[the plan](https://example.org/plan)", '<a href="https://example.org/plan" rel="nofollow noopener ugc">the plan</a>'),
    ("[write](mailto:team@example.org)", 'href="mailto:team@example.org"'),
])
def test_headings_lists_and_links_render(text, expected):
    assert expected in render(text)


@pytest.mark.parametrize("text", [
    "[x](javascript:alert(1))",
    "[x](JaVaScRiPt:alert(1))",
    "[x]( javascript:alert(1))",
    "[x](&#106;avascript:alert(1))",
    "[x](java\tscript:alert(1))",
    "<javascript:alert(1)>",
    "[x][ref]\n\n[ref]: javascript:alert(1)",
    "![x](javascript:alert(1))",
    "[x](vbscript:msgbox(1))",
])
def test_javascript_links_never_become_links(text):
    html = render(text)
    tags = " ".join(re.findall(r"<[^>]*>", html)).lower()
    assert "javascript:" not in tags and "vbscript:" not in tags  # at most shown as the text the author typed
    assert "href=" not in tags


@pytest.mark.parametrize("text", [
    "[x](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)",
    "![x](data:image/svg+xml,<svg onload=alert(1)>)",
    "<data:text/html,<script>alert(1)</script>>",
])
def test_data_urls_are_refused(text):
    tags = " ".join(re.findall(r"<[^>]*>", render(text))).lower()
    assert "data:" not in tags and "<img" not in tags


@pytest.mark.parametrize("text", [
    "<script>alert(1)</script>",
    '<img src=x onerror="alert(1)">',
    '<iframe src="https://evil.example"></iframe>',
    '<a href="https://example.org" onclick="alert(1)">x</a>',
    "<div>\n<script>alert(1)</script>\n</div>",
    '<svg onload="alert(1)">',
    "<style>body{display:none}</style>",
])
def test_raw_html_is_shown_as_text_never_as_html(text):
    html = render(text)
    assert "<script" not in html and "<img" not in html and "<iframe" not in html and "<svg" not in html
    assert "<style" not in html and "<div" not in html
    assert "&lt;" in html  # shown, escaped, as the author typed it


def test_images_are_not_shown():
    assert "<img" not in render("![a cat](https://example.org/cat.png)")


def test_empty_text_renders_nothing():
    assert render("") == "" and render(None) == ""


_DANGER = re.compile(r"<script|<iframe|<img|<svg|<style|\son[a-z]+\s*=|javascript:", re.IGNORECASE)
_pieces = st.sampled_from([
    "<script>", "</script>", "<img src=x onerror=alert(1)>", "javascript:", "[a](", ")", "](", "<", ">", "\"", "'",
    "&#106;", "\n", "# ", "- ", "> ", "`", "<a href=", "onload=", " onerror=", "data:", "<iframe>", "\t", "*", "[",
])


@settings(max_examples=300, deadline=None)
@given(st.lists(st.one_of(_pieces, st.text(max_size=8)), max_size=30).map("".join))
def test_any_text_never_yields_active_html(text):
    html = render(text)
    # Outside of tags, text is escaped: look only at the tags themselves for handlers and schemes.
    tags = "".join(re.findall(r"<[^>]*>", html))
    assert not _DANGER.search(tags), html
    assert "<script" not in html.lower()
