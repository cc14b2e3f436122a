"""Post content is untrusted HTML bound for a big screen: an allow-list, nothing more."""

from __future__ import annotations

import html
import re

import nh3

ALLOWED_TAGS = {"p", "br", "a", "span", "strong", "b", "em", "i", "ul", "ol", "li", "blockquote"}
# Only href on links survives; every other attribute (on*, style, hx-*, data-hx-*) is dropped.
ALLOWED_ATTRIBUTES: dict[str, set[str]] = {"a": {"href"}}
URL_SCHEMES = {"http", "https"}
LINK_REL = "nofollow noopener ugc"

_URL = re.compile(r"https?://[^\s<>\"']+[^\s<>\"'.,;:!?)\]]")


def clean_html(raw: str) -> str:
    """Sanitize HTML from a source to the allow-list; idempotent."""
    return nh3.clean(
        raw,
        tags=ALLOWED_TAGS,
        attributes=ALLOWED_ATTRIBUTES,
        url_schemes=URL_SCHEMES,
        link_rel=LINK_REL,
        strip_comments=True,
    )


def text_to_html(text: str) -> str:
    """Escape plain text, link its URLs and keep its line breaks."""
    escaped = html.escape(text, quote=True)
    linked = _URL.sub(
        lambda m: f'<a href="{m.group(0)}" rel="{LINK_REL}">{m.group(0)}</a>', escaped
    )
    return linked.replace("\n", "<br>")


def post_html(text: str, raw_html: str) -> str:
    """The HTML to show for a post: its cleaned HTML, else its text escaped and linked."""
    return clean_html(raw_html) if raw_html.strip() else clean_html(text_to_html(text))


def safe_url(url: str) -> str:
    """The URL if it is http(s) or a path on this site, else empty: no javascript:, data:, //."""
    url = url.strip()
    if url.startswith("/") and not url.startswith(("//", "/\\")):
        return url
    scheme, sep, rest = url.partition("://")
    if sep and scheme.lower() in URL_SCHEMES and rest and not any(c.isspace() for c in url):
        return url
    return ""
