"""Post content is untrusted HTML bound for a big screen: an allow-list, nothing more."""

from __future__ import annotations

import html
import re
from collections.abc import Iterable

import nh3

ALLOWED_TAGS = {"p", "br", "a", "span", "strong", "b", "em", "i", "ul", "ol", "li", "blockquote"}
# Only href on links survives; every other attribute (on*, style, hx-*, data-hx-*) is dropped.
# "*" must be given, empty: without it nh3 keeps its default generic attributes (title, lang)
# on every tag.
ALLOWED_ATTRIBUTES: dict[str, set[str]] = {"a": {"href"}, "*": set()}
URL_SCHEMES = {"http", "https"}
LINK_REL = "nofollow noopener ugc"

_ABSOLUTE = re.compile(r"^https?://[^\s]", re.IGNORECASE)
_URL = re.compile(r"https?://[^\s<>\"']+[^\s<>\"'.,;:!?)\]]")


def _absolute_links_only(tag: str, attribute: str, value: str) -> str | None:
    # nh3 keeps relative URLs, and "java\u200bscript:" parses as one: a post's links must
    # name their site, so anything but an absolute http(s) URL loses its href.
    if attribute == "href":
        return value if _ABSOLUTE.match(value) else None
    return value


def html_text(raw: str) -> str:
    """The text a reader sees in some HTML: tags dropped (script and style with their
    content), entities read; for matching words, never for display."""
    if not raw:
        return ""
    return html.unescape(nh3.clean(raw, tags=set(), attributes={}))


def clean_html(raw: str) -> str:
    """Sanitize HTML from a source to the allow-list; idempotent."""
    return nh3.clean(
        raw,
        tags=ALLOWED_TAGS,
        attributes=ALLOWED_ATTRIBUTES,
        attribute_filter=_absolute_links_only,
        url_schemes=URL_SCHEMES,
        link_rel=LINK_REL,
        strip_comments=True,
    )


def text_to_html(text: str) -> str:
    """Escape plain text, link its URLs and keep its line breaks."""
    # URLs are found in the raw text, then every piece escaped: a quote ends a URL, so a
    # link can never carry one (escaped first, "&quot;" would look like part of the URL).
    pieces: list[str] = []
    end = 0
    for match in _URL.finditer(text):
        pieces.append(html.escape(text[end : match.start()], quote=True))
        url = html.escape(match.group(0), quote=True)
        pieces.append(f'<a href="{url}" rel="{LINK_REL}">{url}</a>')
        end = match.end()
    pieces.append(html.escape(text[end:], quote=True))
    return "".join(pieces).replace("\n", "<br>")


def post_html(text: str, raw_html: str) -> str:
    """The HTML to show for a post: its cleaned HTML, else its text escaped and linked."""
    return clean_html(raw_html) if raw_html.strip() else clean_html(text_to_html(text))


_TAG_OR_TEXT = re.compile(r"(<[^>]*>)")
_SHORTCODE = re.compile(r":([A-Za-z0-9_]{1,64}):")


def emoji_html(sanitized: str, emoji: Iterable[tuple[str, str]]) -> str:
    """Sanitized HTML with each known `:shortcode:` in its text shown as its small image.

    Only images stored on this site are used (the page's CSP allows no other); a shortcode
    without one stays as text. Tags and their attributes are left alone.
    """
    images = {code: url for code, url in emoji if url.startswith("/media/") and safe_url(url)}
    if not images:
        return sanitized

    def picture(match: re.Match[str]) -> str:
        url = images.get(match.group(1))
        if url is None:
            return match.group(0)
        alt = html.escape(match.group(0), quote=True)
        return f'<img class="emoji" src="{html.escape(url, quote=True)}" alt="{alt}" title="{alt}">'

    parts = _TAG_OR_TEXT.split(sanitized)
    return "".join(p if p.startswith("<") else _SHORTCODE.sub(picture, p) for p in parts)


def safe_url(url: str) -> str:
    """The URL if it is http(s) or a path on this site, else empty: no javascript:, data:, //."""
    url = url.strip()
    if url.startswith("/"):
        # Browsers drop tabs and new lines and read `\` as `/`: `/\t/host` is `//host`.
        odd = any(c.isspace() or c == "\\" or ord(c) < 32 for c in url)
        return "" if odd or url.startswith("//") else url
    scheme, sep, rest = url.partition("://")
    if sep and scheme.lower() in URL_SCHEMES and rest and not any(c.isspace() for c in url):
        return url
    return ""


# A file we serve under /media/: plain segments, none starting with a dot (so no "." or ".."),
# and no percent-escape, backslash, space or control that a browser would read otherwise.
_MEDIA_PATH = re.compile(r"/media/(?:[A-Za-z0-9_-][A-Za-z0-9._-]*/)*[A-Za-z0-9_-][A-Za-z0-9._-]*")


def is_media_path(url: str) -> bool:
    """Whether the URL names a file under /media/ and nothing else (no `..`, `%2e`, `\\`)."""
    return _MEDIA_PATH.fullmatch(url) is not None


def media_url(url: str) -> str:
    """An image URL as a post may hold it: one of our /media/ files, or an http(s) URL that
    the photo pipeline fetches and replaces; anything else (other paths on this site
    included: `/media/../e/x/export.zip`, `/metrics`) empty."""
    url = url.strip()
    if url.startswith("/"):
        return url if is_media_path(url) else ""
    return safe_url(url) if url[:8].lower().startswith(("http://", "https://")) else ""


# C0 controls (but tab, newline, carriage return), DEL, and the bidi embeddings and overrides
# (U+202A..U+202E), which can make a name or a link read backwards. Isolates and marks stay:
# right-to-left writers need them, and they cannot reach past their element.
# Lone surrogates too: a source's JSON may spell one, and no UTF-8 text (Redis, a page) holds it.
_CONTROLS = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\u202a-\u202e\ud800-\udfff]")


def clean_text(text: str) -> str:
    """Text without control characters or bidi overrides; everything else as it was."""
    return _CONTROLS.sub("", text)
