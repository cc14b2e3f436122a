"""Ingest throughput: Jetstream-shaped events through the Bluesky source's filter, and storing.

Both use the source's own per-message handler (`BlueskySource._handle`, what `items()` runs
for every websocket message; the websocket read itself is left out) and, for matching
posts, `ingest.pipeline.apply`: sanitize, the Lua script, PUBLISH. Authors are pre-cached,
as they are after the first post of each person, so no profile lookup leaves the machine.
"""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

import httpx

from ingest.pipeline import apply
from ingest.sources.bluesky import PROFILE_TTL, BlueskySource
from wall.models import Author, Event
from wall.sources import SourceConfig
from wall.store import Store

SLUG = "benchingest"
TAG = "pyvalley"


def jetstream_post(i: int, tag: str) -> dict[str, Any]:
    """A Jetstream commit creating an app.bsky.feed.post with one hashtag facet."""
    text = f"post {i} from the firehose, about nothing in particular #{tag}"
    start = text.encode().find(f"#{tag}".encode())
    return {
        "did": f"did:plc:user{i % 500:04d}",
        "time_us": 1_763_900_000_000_000 + i,
        "kind": "commit",
        "commit": {
            "rev": "3l3qo2vuowo2b",
            "operation": "create",
            "collection": "app.bsky.feed.post",
            "rkey": f"3k{i:010d}",
            "record": {
                "$type": "app.bsky.feed.post",
                "createdAt": "2026-11-23T19:00:00.000Z",
                "langs": ["en"],
                "text": text,
                "facets": [
                    {
                        "index": {"byteStart": start, "byteEnd": start + len(tag) + 1},
                        "features": [{"$type": "app.bsky.richtext.facet#tag", "tag": tag}],
                    }
                ],
            },
            "cid": "bafyreidwaivazkwu67xztlmuobx35hs2lnfh3kolmgfmucldvhd3sgzcqi",
        },
    }


def firehose(count: int, *, every: int = 100) -> list[str]:
    """`count` messages, one in `every` carrying the event's tag, one in 20 a delete."""
    out = []
    for i in range(count):
        if i % 20 == 19:
            data: dict[str, Any] = {
                "did": f"did:plc:user{i % 500:04d}",
                "time_us": 1_763_900_000_000_000 + i,
                "kind": "commit",
                "commit": {
                    "operation": "delete",
                    "collection": "app.bsky.feed.post",
                    "rkey": f"3x{i:010d}",
                },
            }
        else:
            data = jetstream_post(i, TAG if i % every == 0 else "lunch")
        out.append(json.dumps(data))
    return out


def _source(store: Store, client: httpx.AsyncClient) -> BlueskySource:
    config = SourceConfig.create("bluesky", SLUG, server="ws://127.0.0.1:9", tag=TAG)
    source = BlueskySource(config, store, client)
    expires = time.monotonic() + PROFILE_TTL
    for n in range(500):
        did = f"did:plc:user{n:04d}"
        source._profiles[did] = (expires, Author(handle=f"@user{n}.bsky.social"))
    return source


async def _rate(
    source: BlueskySource, store: Store, event: Event, messages: list[str], seconds: float
) -> tuple[float, int]:
    """Handle (and apply) messages for about `seconds`; (per second, items taken)."""
    taken = handled = 0
    started = time.perf_counter()
    for message in messages:
        items, _ = await source._handle(message)
        for item in items:
            outcome = await apply(store, event, item)
            taken += outcome.changed
        handled += 1
        if handled % 500 == 0 and time.perf_counter() - started > seconds:
            break
    return handled / (time.perf_counter() - started), taken


async def measure(store: Store, *, seconds: float = 5.0) -> dict[str, float]:
    """Events/s through the filter (1 % matching) and matching posts/s stored."""
    event = Event(slug=SLUG, title="Ingest benchmark", hashtags=(TAG,))
    await store.save_event(event)
    for key in await store.redis.keys(f"ew:{{{SLUG}}}:*"):
        await store.redis.delete(key)
    async with httpx.AsyncClient() as client:
        source = _source(store, client)
        mixed = firehose(int(200_000 * max(seconds, 1) / 5))
        filtered, _ = await _rate(source, store, event, mixed, seconds)
        matching = [json.dumps(jetstream_post(10_000_000 + i, TAG)) for i in range(20_000)]
        stored, taken = await _rate(source, store, event, matching, seconds)
    await asyncio.sleep(0)
    return {"filtered_per_s": filtered, "stored_per_s": stored, "stored": float(taken)}
