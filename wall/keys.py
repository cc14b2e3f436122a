"""Redis key names and values, shared by the stores."""

from __future__ import annotations

from typing import Any


def event_key(slug: str, name: str) -> str:
    """The Redis key of one of an event's structures (`posts`, `idx:approved`, `log:public`)."""
    # The {slug} hash tag keeps an event's keys in one Redis Cluster slot, as Lua needs.
    return f"ew:{{{slug}}}:{name}"


def as_text(value: Any) -> str:
    """A Redis reply as text, whether the client decodes responses or not."""
    return value.decode() if isinstance(value, bytes) else str(value)
