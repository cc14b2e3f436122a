"""The attack corpus (tests/corpus/xss.json) and a checker for executable markup in HTML."""

from __future__ import annotations

import json
import re
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

CORPUS = Path(__file__).resolve().parent / "corpus" / "xss.json"
# What post HTML may contain after sanitizing: the allow-list, nothing else.
ALLOWED_TAGS = {"p", "br", "a", "span", "strong", "b", "em", "i", "ul", "ol", "li", "blockquote"}
ALLOWED_ATTRS = {"a": {"href", "rel"}}
_SAFE_HREF = re.compile(r"^(https?://|/(?!/))", re.IGNORECASE)


def load_corpus() -> list[dict[str, Any]]:
    """Every case of the corpus: {"name": ..., "html": ...}."""
    cases: list[dict[str, Any]] = json.loads(CORPUS.read_text(encoding="utf-8"))
    return cases


class _Audit(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.problems: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag not in ALLOWED_TAGS:
            self.problems.append(f"<{tag}>")
        for name, value in attrs:
            if name not in ALLOWED_ATTRS.get(tag, set()):
                self.problems.append(f"<{tag} {name}=>")
            if name == "href" and not _SAFE_HREF.match(value or ""):
                self.problems.append(f"href={value!r}")
            if name == "rel" and set((value or "").split()) != {"nofollow", "noopener", "ugc"}:
                self.problems.append(f"rel={value!r}")

    def handle_comment(self, data: str) -> None:
        self.problems.append("<!-- comment -->")

    def handle_pi(self, data: str) -> None:
        self.problems.append("<? processing instruction >")

    def unknown_decl(self, data: str) -> None:
        self.problems.append(f"<![{data[:20]}")


def executable_constructs(html: str) -> list[str]:
    """Anything in post HTML outside the allow-list: tags, attributes, non-http(s) links."""
    audit = _Audit()
    audit.feed(html)
    audit.close()
    lowered = html.lower()
    for needle in ("<script", "javascript:", "hx-", "<svg", "<math", "<style"):
        # Raw text, not parsed: an escaped "&lt;script" is fine, a literal "<script" is not.
        if needle.startswith("<") and needle in lowered:
            audit.problems.append(needle)
    return audit.problems
