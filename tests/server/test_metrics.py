"""/metrics as Prometheus parses it, and LOG_FORMAT=json: one JSON object per log line."""

from __future__ import annotations

import asyncio
import json

from redis.asyncio import Redis
from websockets.asyncio.client import connect

from tests.faults.kit import Web, last_public_id
from tests.helpers import deadline, eventually, post_dict, scrape
from wall.models import Event, Post
from wall.moderation import State
from wall.redis_server import free_port
from wall.store import Store

TOKEN = "scrape-token"


async def test_metrics_and_json_logs(
    env: dict[str, str], redis: Redis, store: Store, event: Event
) -> None:
    """Clients per page, messages sent, fan-out latency, posts per state; every log line JSON."""
    settings = {**env, "LOG_FORMAT": "json", "METRICS_TOKEN": TOKEN}
    web = await asyncio.to_thread(Web(settings, free_port()).start)
    try:
        since = await last_public_id(redis, event.slug)
        base = f"{web.ws_base}/e/{event.slug}/ws?since={since}"
        async with connect(f"{base}&page=wall") as wall, connect(f"{base}&page=live") as live:
            await store.ingest(event.slug, Post.from_dict(post_dict("m1")), State.APPROVED)
            await store.ingest(event.slug, Post.from_dict(post_dict("m2")), State.PENDING)
            for client in (wall, live):
                await asyncio.wait_for(client.recv(), deadline(5))
            samples = await scrape(web.base, token=TOKEN)
            assert samples[("eventwall_clients_by_page", (("page", "wall"),))] == 1
            assert samples[("eventwall_clients_by_page", (("page", "live"),))] == 1
            assert samples[("eventwall_clients", ())] == 2
        await eventually(lambda: _sent(web.base, 2), message="messages counted")
        samples = await scrape(web.base, token=TOKEN)
        assert samples[("eventwall_fanout_latency_seconds_count", ())] >= 1
        posts = (("event", event.slug), ("state", "approved"))
        assert samples[("eventwall_posts", posts)] == 1
        assert samples[("eventwall_posts", (("event", event.slug), ("state", "pending")))] == 1
    finally:
        await asyncio.to_thread(web.stop)
    records = [json.loads(line) for line in web.lines if line.strip()]
    assert records, "no log lines"
    assert all({"time", "level", "logger", "message"} <= r.keys() for r in records)
    assert any("Uvicorn running on" in r["message"] for r in records)


async def _sent(base: str, at_least: int) -> bool:
    return (await scrape(base, token=TOKEN))[("eventwall_messages_sent_total", ())] >= at_least
