"""Which sources feed which event: configurations kept in Redis, read by the running worker."""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field
from typing import Any

from redis.asyncio import Redis

from wall.models import SLUG_RE, normalize_tag

FIELDS = ("server", "tag", "url", "token")
"""What a source may be configured with; each kind (ingest/sources/kinds.py) uses some."""


class SourceError(ValueError):
    """A source configuration that cannot be used; the message names the field at fault."""


@dataclass(frozen=True, slots=True)
class SourceConfig:
    """One source for one event: its kind and the fields that kind uses (the others empty).

    The kinds and their checks are registered in `ingest/sources/kinds.py`; here only what
    every configuration must be."""

    kind: str
    event: str
    server: str = ""
    """Mastodon server or Jetstream base URL (tests point this at loopback)."""
    tag: str = ""
    url: str = ""
    """The feed's URL (rss)."""
    token: str = field(default="", repr=False)  # never in a logged repr()
    """Mastodon access token: with it the source streams, without it it polls."""

    def __post_init__(self) -> None:
        if not self.kind.isidentifier():
            raise SourceError("kind: a source kind's name")
        if not SLUG_RE.fullmatch(self.event):
            raise SourceError("event: an event slug")

    @classmethod
    def create(
        cls,
        kind: str,
        event: str,
        *,
        server: str = "",
        tag: str = "",
        url: str = "",
        token: str = "",
    ) -> SourceConfig:
        """A configuration with its server as a base URL (https:// added) and its tag normalized."""
        if server and "://" not in server:
            server = f"https://{server}"
        return cls(kind, event, server.rstrip("/"), normalize_tag(tag), url, token)

    @property
    def id(self) -> str:
        """A stable id: kind, event and a short hash of what it follows."""
        digest = hashlib.sha256(f"{self.server}|{self.tag}|{self.url}".encode()).hexdigest()
        return f"{self.kind}-{self.event}-{digest[:8]}"

    @property
    def describe(self) -> str:
        """A one-line description, without the token."""
        what = self.url or f"#{self.tag} on {self.server or 'the default server'}"
        auth = " (streaming, token set)" if self.token else ""
        return f"{self.kind} {what} -> {self.event}{auth}"

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict; `from_dict` reads it back."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> SourceConfig:
        """Build a configuration from its stored dict."""
        return cls(
            **{k: str(data.get(k, "")) for k in ("kind", "event", "server", "tag", "url", "token")}
        )


@dataclass(frozen=True, slots=True)
class SourceStatus:
    """What the worker last recorded about a source, for `source list` and the admin page."""

    connected: bool = False
    taken: int = 0
    last_event: float | None = None
    """Unix time of the last item taken."""
    last_error: str = ""
    last_error_at: float | None = None
    note: str = ""
    """How the source gets its posts right now ("streaming", or why it polls instead)."""

    @classmethod
    def of(cls, raw: dict[str, str]) -> SourceStatus:
        """Read the recorded fields; anything unreadable counts as not recorded."""
        error_at, _, error = raw.get("last_error", "").partition(" ")
        return cls(
            connected=raw.get("connected") == "1",
            taken=_int(raw.get("taken")),
            last_event=_float(raw.get("last_event")),
            last_error=error,
            last_error_at=_float(error_at),
            note=raw.get("note", ""),
        )

    def summary(self, now: float) -> str:
        """One line: "connected · 42 taken · last 3 min ago" (and the last error, if any)."""
        parts = ["connected" if self.connected else "not connected", f"{self.taken} taken"]
        if self.note:
            parts.append(self.note)
        if self.last_event is not None:
            parts.append(f"last {ago(self.last_event, now)}")
        if self.last_error and self.last_error_at is not None:
            parts.append(f"error {ago(self.last_error_at, now)}: {self.last_error}")
        return " · ".join(parts)


def ago(then: float, now: float) -> str:
    """A short, rounded age: "just now", "12 s ago", "3 min ago", "2 h ago", "4 days ago"."""
    seconds = max(0, int(now - then))
    if seconds < 5:
        return "just now"
    for unit, size in (("days", 86_400), ("h", 3_600), ("min", 60)):
        if seconds >= size:
            return f"{seconds // size} {unit} ago"
    return f"{seconds} s ago"


def _int(value: str | None) -> int:
    try:
        return int(value or 0)
    except ValueError:
        return 0


def _float(value: str | None) -> float | None:
    try:
        return float(value) if value else None
    except ValueError:
        return None


class SourceRegistry:
    """Source configurations in one Redis hash; the worker re-reads it to pick up changes."""

    KEY = "ew:sources"
    STATUS = "ew:source-status:"

    def __init__(self, redis: Redis) -> None:
        self.redis = redis

    async def add(self, config: SourceConfig) -> None:
        """Add (or replace) a source."""
        await self.redis.hset(self.KEY, config.id, json.dumps(config.to_dict()))

    async def remove(self, source_id: str) -> bool:
        """Remove a source; False if there was none with this id."""
        await self.redis.delete(self.STATUS + source_id)
        return bool(await self.redis.hdel(self.KEY, source_id))

    async def list(self) -> list[SourceConfig]:
        """Every configured source, by id."""
        raw = await self.redis.hgetall(self.KEY)
        configs = [SourceConfig.from_dict(json.loads(v)) for v in raw.values()]
        return sorted(configs, key=lambda c: c.id)

    async def set_status(self, source_id: str, **fields: str | int) -> None:
        """Record a source's state (connected, last_event, last_error, note) for the status page."""
        mapping: dict[Any, Any] = dict(fields)
        await self.redis.hset(self.STATUS + source_id, mapping=mapping)

    async def count_taken(self, source_id: str) -> None:
        """Count one more item taken from a source."""
        await self.redis.hincrby(self.STATUS + source_id, "taken", 1)

    async def status(self, source_id: str) -> SourceStatus:
        """A source's recorded state."""
        raw = await self.redis.hgetall(self.STATUS + source_id)
        return SourceStatus.of({str(k): str(v) for k, v in raw.items()})
