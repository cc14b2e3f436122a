"""Sanitizing untrusted post content to an allow-list."""

from __future__ import annotations

import pytest

from wall.sanitize import clean_html, emoji_html, post_html, text_to_html


@pytest.mark.parametrize(
    ("dirty", "forbidden"),
    [
        ("<script>alert(1)</script>hi", "<script"),
        ('<img src=x onerror="alert(1)">', "onerror"),
        ('<a href="javascript:alert(1)">x</a>', "javascript:"),
        ('<p hx-get="/admin" hx-trigger="load">x</p>', "hx-"),
        ('<p data-hx-post="/x">x</p>', "hx-"),
        ('<p style="position:fixed">x</p>', "style"),
        ("<svg><script>alert(1)</script></svg>", "<svg"),
        ('<iframe src="https://evil.example"></iframe>', "<iframe"),
    ],
)
def test_dangerous_markup_removed(dirty: str, forbidden: str) -> None:
    """Scripts, handlers, javascript: URLs, htmx attributes and styles never survive."""
    assert forbidden not in clean_html(dirty)


def test_links_get_rel() -> None:
    """Links are kept, marked nofollow noopener ugc."""
    cleaned = clean_html('<a href="https://example.org">x</a>')
    assert 'href="https://example.org"' in cleaned
    assert 'rel="nofollow noopener ugc"' in cleaned


def test_clean_is_idempotent() -> None:
    """Cleaning twice gives the same as cleaning once."""
    once = clean_html('<p>Hi <a href="https://e.org">e</a><script>x</script></p>')
    assert clean_html(once) == once


def test_plain_text_escaped_and_linked() -> None:
    """Plain text is escaped, its URLs linked, its line breaks kept."""
    html = text_to_html('a <b> & "c"\nsee https://example.org/x.')
    assert "&lt;b&gt;" in html and "&amp;" in html
    assert '<a href="https://example.org/x"' in html
    assert "<br>" in html


def test_post_html_prefers_html() -> None:
    """A post with HTML shows its cleaned HTML; one without shows its escaped text."""
    assert post_html("ignored", "<p>from html</p>") == "<p>from html</p>"
    assert post_html("<i>text</i>", "") == "&lt;i&gt;text&lt;/i&gt;"


def test_custom_emoji_only_from_this_site_and_only_in_text() -> None:
    """`:code:` in text becomes a local image (alt `:code:`); remote images and attributes are left."""
    html = '<p>hi :blob: <a href="https://x.example/:blob:">:blob:</a> :other:</p>'
    shown = emoji_html(
        html, [("blob", "/media/e/blob.png"), ("other", "https://evil.example/o.png")]
    )
    assert shown.count('<img class="emoji" src="/media/e/blob.png" alt=":blob:"') == 2
    assert 'href="https://x.example/:blob:"' in shown
    assert ":other:" in shown and "evil.example" not in shown
