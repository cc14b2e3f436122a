"""What every source does to HTML it receives: a plain-text copy, and links as clients show them."""

from __future__ import annotations

import html
import re

import nh3

_BREAK = re.compile(r"<br\s*/?>", re.IGNORECASE)
_BLOCK_END = re.compile(r"</(?:p|div|li|blockquote|h[1-6]|pre|tr)\s*>", re.IGNORECASE)
_BLOCK_START = re.compile(r"<(?:p|div|li|blockquote|h[1-6]|pre|tr)(?:\s[^>]*)?>", re.IGNORECASE)
_WHITESPACE = re.compile(r"[ \t\r\n\f\v]+")
_SPACES = re.compile(r"[ \t\r\f\v\xa0]+")
_BLANK_LINES = re.compile(r"\n\s*\n\s*(?:\n\s*)+")
# Mastodon marks the parts of a long URL its own clients hide; the `ellipsis` part ends in "…".
_INVISIBLE = re.compile(r"<span\s+class=\"invisible\"\s*>[^<]*</span>", re.IGNORECASE)
_ELLIPSIS = re.compile(r"<span\s+class=\"ellipsis\"\s*>([^<]*)</span>", re.IGNORECASE)


def html_text(markup: str) -> str:
    """The text a reader sees in `markup`: tags gone, entities decoded, breaks kept.

    Paragraphs and block elements end in a blank line and `<br>` is a newline, so words on
    either side of a break stay two words (for blocked words, exports and captions alike).
    """
    # Newlines in the source are spaces to a browser: only tags break lines.
    flat = _WHITESPACE.sub(" ", markup)
    marked = _BLOCK_START.sub("\n", _BLOCK_END.sub("\n\n", _BREAK.sub("\n", flat)))
    # nh3 drops every tag (and the bodies of <script>/<style>) but escapes the rest: undo that.
    text = html.unescape(nh3.clean(marked, tags=set()))
    lines = [_SPACES.sub(" ", line).strip() for line in text.split("\n")]
    return _BLANK_LINES.sub("\n\n", "\n".join(lines)).strip()


def fold_link_spans(markup: str) -> str:
    """Mastodon's long links as its clients show them: the `invisible` parts dropped, an
    `ellipsis` part ending in "…". Only the link text changes; the href keeps the full URL."""
    return _ELLIPSIS.sub(lambda m: f"{m.group(1)}…", _INVISIBLE.sub("", markup))
