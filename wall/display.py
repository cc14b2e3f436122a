"""How an event's wall is shown: layout, theme and timings, the join link, stats and faces."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from wall.layouts import LAYOUTS
from wall.models import THEMES, Event, Post
from wall.moderation import author_key

DEFAULT_CYCLE = 8
"""Seconds each post stays in the spotlight (or the ticker) before the next one."""
DEFAULT_IDLE = 20
"""Seconds without a new post before older ones resurface."""
FACES = 16
"""Authors shown in the faces strip."""


@dataclass(frozen=True, slots=True)
class WallOptions:
    """What one wall screen shows: the event's choices, overridden by the URL's query."""

    layout: str
    theme: str
    cycle: int
    idle: int


@dataclass(frozen=True, slots=True)
class Stats:
    """The stats line: approved posts, distinct authors (case-folded handles), photos; read
    from the event's aggregates (`wall/aggregates.py`), so exact at any size."""

    posts: int
    people: int
    photos: int


@dataclass(frozen=True, slots=True)
class Face:
    """One author in the faces strip."""

    handle: str
    name: str
    avatar_url: str

    @property
    def initials(self) -> str:
        """Up to two initials, for an author without an avatar."""
        words = [w for w in self.name.replace("@", " ").split() if w]
        return "".join(w[0] for w in words[:2]).upper() or "?"


def wall_options(event: Event, query: Mapping[str, str]) -> WallOptions:
    """The event's layout and theme unless `?layout=` / `?theme=` name valid ones;
    `?cycle=` and `?idle=` in seconds. Unknown values fall back, so a typo still shows a wall."""
    layout = query.get("layout", "")
    theme = query.get("theme", "")
    return WallOptions(
        layout=layout if layout in LAYOUTS else event.layout,
        theme=theme if theme in THEMES else event.theme,
        cycle=_seconds(query.get("cycle"), DEFAULT_CYCLE, low=1, high=600),
        idle=_seconds(query.get("idle"), DEFAULT_IDLE, low=1, high=3600),
    )


def _seconds(raw: str | None, default: int, *, low: int, high: int) -> int:
    if raw is None or not raw.strip().isdigit():
        return default
    return min(max(int(raw), low), high)


def faces(posts: Iterable[Post], *, limit: int = FACES) -> list[Face]:
    """The most recent distinct authors of posts given newest first, newest first."""
    seen: set[str] = set()
    found: list[Face] = []
    for post in posts:
        key = author_key(post.author.handle)
        if key in seen:
            continue
        seen.add(key)
        found.append(Face(post.author.handle, post.author.name, post.author.avatar_url))
        if len(found) >= limit:
            break
    return found


def join_url(event: Event, base_url: str) -> str:
    """Where the QR code sends people: the event's own join URL, else its join page (post a
    photo or follow live)."""
    if event.join_url.startswith(("http://", "https://")):
        return event.join_url
    path = event.join_url or f"/e/{event.slug}/join"
    return base_url.rstrip("/") + path


def short_url(url: str) -> str:
    """A URL as people type it: no scheme, no trailing slash."""
    return url.split("://", 1)[-1].rstrip("/")


def join_prompt(event: Event) -> str:
    """The call to action beside the QR code."""
    if event.hashtags:
        return f"Post with #{event.hashtags[0]} or scan"
    return "Scan to join in"
