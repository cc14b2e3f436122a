"""Property tests: the sanitizer never lets an executable construct through, and is idempotent."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.attack import executable_constructs, load_corpus
from wall.sanitize import clean_html, post_html, safe_url, text_to_html

FRAGMENTS = [
    "<script>",
    "</script>",
    "<img src=x onerror=alert(1)>",
    "<a href='javascript:alert(1)'>",
    '<a href="https://ok.example/">',
    "</a>",
    "<svg",
    "<math>",
    "<style>",
    "</style>",
    "<noscript>",
    "</noscript>",
    "<template>",
    "<!--",
    "-->",
    "<![CDATA[",
    "]]>",
    " hx-get='/x'",
    " data-hx-on::load='alert(1)'",
    " onclick=alert(1)",
    "<p",
    ">",
    "</p>",
    "<b>",
    '"',
    "'",
    "&lt;",
    "&#106;avascript:",
    "java\u200bscript:",
    "\u202e",
    "\x00",
    "https://ok.example/x?a=1&b=2",
    "<textarea>",
    "<title>",
    "<iframe srcdoc='<script>alert(1)</script>'>",
]
html_like = st.lists(
    st.one_of(
        st.sampled_from(FRAGMENTS),
        st.sampled_from([c["html"][:300] for c in load_corpus()]),
        st.text(max_size=20),
    ),
    max_size=12,
).map("".join)
FAST = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@FAST
@given(html_like)
def test_clean_html_never_outputs_executable_markup(raw: str) -> None:
    """Whatever HTML goes in, only allow-listed tags, attributes and http(s) links come out."""
    cleaned = clean_html(raw)
    assert executable_constructs(cleaned) == []
    assert "<script" not in cleaned.lower()  # as text it is escaped: "&lt;script"


@FAST
@given(html_like)
def test_clean_html_is_idempotent(raw: str) -> None:
    """Sanitizing sanitized HTML changes nothing (it is sanitized again at render)."""
    once = clean_html(raw)
    assert clean_html(once) == once


@FAST
@given(html_like)
def test_plain_text_is_escaped_and_stable(text: str) -> None:
    """Text turned into HTML has no markup of its own, and survives the sanitizer unchanged."""
    shown = post_html(text, "")
    assert executable_constructs(shown) == []
    assert clean_html(shown) == shown
    assert text_to_html(text).count("<a ") == shown.count("<a ")


@FAST
@given(st.text(max_size=60))
def test_safe_url_keeps_only_http_or_local(url: str) -> None:
    """A kept URL is http(s) or a path on this site, never another scheme or //host."""
    kept = safe_url(url)
    assert (
        kept == ""
        or kept.lower().startswith(("http://", "https://"))
        or (kept.startswith("/") and not kept.startswith("//"))
    )
