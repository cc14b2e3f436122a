"""The replay source: one JSON post a line, as `eventwall export --format jsonl` writes."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from wall.models import Post, PostError


@dataclass(frozen=True, slots=True)
class BadLine:
    """A line that could not be read as a post, and why."""

    line: int
    reason: str


def read_jsonl(path: Path) -> Iterator[Post | BadLine]:
    """Each non-blank line of the file as a Post, or a BadLine saying what is wrong with it."""
    with path.open("rb") as lines:
        for number, raw in enumerate(lines, start=1):
            parsed = parse_line(raw, number)
            if parsed is not None:
                yield parsed


def parse_line(raw: bytes, number: int) -> Post | BadLine | None:
    """One line of JSONL as a Post, a BadLine with the reason, or None if blank; never raises."""
    try:
        text = raw.decode("utf-8").strip()
    except UnicodeDecodeError as exc:
        return BadLine(number, f"not UTF-8 ({exc.reason} at byte {exc.start})")
    if not text:
        return None
    try:
        data = json.loads(text)
    except (json.JSONDecodeError, RecursionError) as exc:
        return BadLine(number, f"malformed JSON: {exc}")
    try:
        # JSON may spell a lone surrogate (`"\\ud800"`), which no UTF-8 text can hold: the
        # post could never be stored or shown. Only a `\\u` escape can spell one (the line
        # itself was valid UTF-8), so a line without one is not re-encoded to check.
        if "\\u" in text:
            json.dumps(data, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError as exc:
        bad = exc.object[exc.start : exc.end].encode("unicode_escape").decode()
        return BadLine(number, f"not valid Unicode: a lone surrogate ({bad})")
    try:
        return Post.from_dict(data, default_source="import")
    except PostError as exc:
        return BadLine(number, str(exc))
