"""Every case of the attack corpus, as HTML and as plain text, through the sanitizer."""

from __future__ import annotations

from typing import Any

import pytest

from tests.attack import executable_constructs, load_corpus
from wall.sanitize import clean_text, post_html, safe_url

CASES = load_corpus()


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_corpus_html_is_reduced_to_the_allow_list(case: dict[str, Any]) -> None:
    """As a source's HTML, each case keeps only allowed tags, attributes and http(s) links."""
    cleaned = post_html("", case["html"])
    assert executable_constructs(cleaned) == []
    assert post_html("", cleaned) == cleaned  # idempotent


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_corpus_text_is_escaped_then_linked(case: dict[str, Any]) -> None:
    """As plain text (Bluesky, uploads), each case is escaped: no markup of its own survives."""
    shown = post_html(case["html"], "")
    assert executable_constructs(shown) == []
    assert "<script" not in shown and "<img" not in shown and "<svg" not in shown
    assert post_html("", shown) == shown


def test_links_from_text_get_rel_and_no_quote_breakout() -> None:
    """A linked URL can't close its href: quotes and angle brackets end the link."""
    shown = post_html('go https://ok.example/"onmouseover="alert(1) now', "")
    assert 'href="https://ok.example/"' in shown
    assert 'rel="nofollow noopener ugc"' in shown
    assert executable_constructs(shown) == []


@pytest.mark.parametrize(
    ("url", "kept"),
    [
        ("https://ok.example/a.png", True),
        ("http://ok.example/", True),
        ("/media/p/ab/cd.jpg", True),
        ("javascript:alert(1)", False),
        (" JavaScript:alert(1)", False),
        ("data:image/png;base64,AAAA", False),
        ("//evil.example/x.png", False),
        ("/\\evil.example", False),
        ("vbscript:x", False),
        ("https://ok.example/a b", False),
        ("", False),
    ],
)
def test_safe_url(url: str, kept: bool) -> None:
    """Only http(s) URLs and paths on this site are kept for links and images."""
    assert (safe_url(url) != "") is kept


def test_clean_text_drops_controls_and_bidi_overrides() -> None:
    """NUL, other C0 controls and bidi overrides go; newlines, isolates and RTL text stay."""
    assert clean_text(
        "a\x00b\x1b[31m\u202eexe.txt\u202c\n\u05e9\u05dc\u05d5\u05dd \u2067x\u2069"
    ) == ("ab[31mexe.txt\n\u05e9\u05dc\u05d5\u05dd \u2067x\u2069")


def test_no_generic_attributes_survive() -> None:
    """title and lang (nh3's default generic attributes) are dropped like any other attribute."""
    assert post_html(
        "", '<p title="x" lang="en">a</p><a href="https://ok.example" title="t">b</a>'
    ) == ('<p>a</p><a href="https://ok.example" rel="nofollow noopener ugc">b</a>')
