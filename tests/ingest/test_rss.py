"""The RSS/Atom source against a real feed server on loopback."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from ingest.fetch import safe_client
from ingest.sources.rss import FeedSource
from ingest.worker import run_source
from tests.fakes import serve
from tests.helpers import eventually, stop_task
from wall.models import Event
from wall.moderation import State
from wall.sources import SourceConfig
from wall.store import Store


def atom(entries: list[tuple[str, str]]) -> str:
    """An Atom feed with (id, title) entries."""
    body = "".join(
        f"<entry><id>urn:x:{i}</id><title>{t}</title><updated>2026-05-0{n + 1}T10:00:00Z</updated>"
        f'<link href="https://blog.example/{i}"/><summary type="html">&lt;p&gt;About {t}'
        f"&lt;script&gt;x()&lt;/script&gt;&lt;/p&gt;</summary>"
        f'<category term="testevent"/></entry>'
        for n, (i, t) in enumerate(entries)
    )
    return (
        '<?xml version="1.0" encoding="utf-8"?><feed xmlns="http://www.w3.org/2005/Atom">'
        "<title>Blog</title><id>urn:blog</id><updated>2026-05-01T10:00:00Z</updated>"
        f'<link href="https://blog.example/"/>{body}</feed>'
    )


@dataclass
class FakeFeed:
    """A feed server honouring If-None-Match; records each request's validators."""

    entries: list[tuple[str, str]] = field(default_factory=list)
    requests: list[dict[str, str]] = field(default_factory=list)
    busy: int = 0
    """Answer this many requests with 429 and `Retry-After: 1` first."""

    async def feed(self, request: Request) -> Response:
        """GET /feed.xml."""
        etag = f'"v{len(self.entries)}"'
        self.requests.append(
            {
                "if-none-match": request.headers.get("if-none-match", ""),
                "ua": request.headers.get("user-agent", ""),
                "at": str(time.monotonic()),
            }
        )
        if self.busy:
            self.busy -= 1
            return Response("slow down", status_code=429, headers={"Retry-After": "1"})
        if request.headers.get("if-none-match") == etag:
            return Response(status_code=304, headers={"ETag": etag})
        return Response(
            atom(self.entries), media_type="application/atom+xml", headers={"ETag": etag}
        )


async def _count(store: Store, event: Event, n: int) -> bool:
    return await store.count(event.slug, State.APPROVED) == n


async def test_feed_entries_are_taken_and_etag_makes_repeat_polls_cheap(
    store: Store, event: Event
) -> None:
    """Entries are taken once, sanitized; later polls send If-None-Match and get 304; restarts resume."""
    fake = FakeFeed(entries=[("1", "First"), ("2", "Second")])
    app = Starlette(routes=[Route("/feed.xml", fake.feed)])
    async with serve(app) as base, safe_client(allow_loopback=True) as client:
        config = SourceConfig.create("rss", event.slug, url=f"{base}/feed.xml", tag="testevent")

        def start() -> asyncio.Task[None]:
            source = FeedSource(config, store, client, poll_interval=0.05)
            return asyncio.create_task(run_source(store, event, source))

        task = start()
        await eventually(lambda: _count(store, event, 2), message="two entries")
        await eventually(lambda: len(fake.requests) >= 3, message="repeat polls")
        assert fake.requests[0]["if-none-match"] == ""
        assert fake.requests[2]["if-none-match"] == '"v2"'
        assert "Eventwall" in fake.requests[0]["ua"]
        posts = await store.posts(event.slug, State.APPROVED)
        assert all("<script" not in p.html for p in posts)
        assert {p.url for p in posts} == {"https://blog.example/1", "https://blog.example/2"}
        await stop_task(task, what="source")

        fake.entries.append(("3", "Third"))
        before = len(fake.requests)
        task = start()
        await eventually(lambda: _count(store, event, 3), message="third entry")
        assert fake.requests[before]["if-none-match"] == '"v2"'  # resumed validators
        await stop_task(task, what="source")
    mod = await store.changes_since(event.slug, "0-0", stream="mod") or []
    assert len([c for c in mod if c.type == "new"]) == 3


async def test_feed_honours_retry_after(store: Store, event: Event) -> None:
    """A feed answering 429 with Retry-After is asked again only after that many seconds."""
    fake = FakeFeed(entries=[("1", "First")], busy=1)
    app = Starlette(routes=[Route("/feed.xml", fake.feed)])
    async with serve(app) as base, safe_client(allow_loopback=True) as client:
        config = SourceConfig.create("rss", event.slug, url=f"{base}/feed.xml")
        source = FeedSource(config, store, client, poll_interval=0.05)
        task = asyncio.create_task(run_source(store, event, source))
        try:
            await eventually(lambda: _count(store, event, 1), message="the entry after the 429")
        finally:
            await stop_task(task, what="source")
    first, second = (float(r["at"]) for r in fake.requests[:2])
    assert second - first >= 0.9
