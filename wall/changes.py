"""The change log's messages: a `Change` as read back from an event's stream or channel.

Every write to an event is one `Change`, appended to a capped stream (`mod` sees all,
`public` only what the wall may show) and published on the stream's channel; the hub,
the renderer and the sockets read them, the store writes them.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Literal

from wall.models import Post

Stream = Literal["public", "mod"]
STREAMS: tuple[Stream, ...] = ("public", "mod")
CHANNEL_PREFIX = "ew:chan:"


@dataclass(frozen=True, slots=True)
class Change:
    """One entry of an event's change log, as read back from the stream or the channel."""

    id: str
    event: str
    stream: Stream
    type: str  # new | state | update | delete (mod); show | update | remove (public)
    post_id: str
    post: Post | None
    state: str
    actor: str = ""
    reason: str = ""

    @classmethod
    def from_fields(cls, event: str, stream: Stream, xid: str, fields: dict[str, str]) -> Change:
        """Build a change from a stream entry's fields (or the published copy of them)."""
        body = fields.get("post", "")
        return cls(
            id=xid,
            event=event,
            stream=stream,
            type=fields["type"],
            post_id=fields["post_id"],
            post=Post.from_dict(json.loads(body)) if body else None,
            state=fields.get("state", ""),
            actor=fields.get("actor", ""),
            reason=fields.get("reason", ""),
        )

    @classmethod
    def from_message(cls, payload: str | bytes) -> Change:
        """Build a change from a pub/sub message published by the apply script."""
        data = json.loads(payload)
        return cls.from_fields(data["event"], data["stream"], data["id"], data)


def stream_id(value: str) -> tuple[int, int]:
    """A stream id as a comparable (ms, seq) pair; ValueError if it is not one."""
    ms, _, seq = value.partition("-")
    return int(ms), int(seq or 0)


def channel(slug: str, stream: Stream) -> str:
    """The pub/sub channel an event's stream is published on.

    It carries the event's `{slug}` hash tag: on a Redis Cluster it is a shard channel in the
    slot of the event's keys, so the script that writes the change may SPUBLISH it.
    """
    return f"{CHANNEL_PREFIX}{{{slug}}}:{stream}"
