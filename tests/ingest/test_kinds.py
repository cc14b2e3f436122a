"""Source kinds register themselves: one module gives the CLI flags, the admin form and the worker."""

from __future__ import annotations

import asyncio
import importlib
from collections.abc import Iterator

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from ingest.fetch import safe_client
from ingest.sources import kinds
from ingest.worker import build_source, run_source
from server.cli import build_parser
from tests.fakes import serve
from tests.helpers import eventually, stop_task
from wall.models import Event
from wall.moderation import State
from wall.settings import Settings
from wall.sources import SourceError
from wall.store import Store


@pytest.fixture
def jsonfeed() -> Iterator[kinds.SourceKind]:
    """The example kind of docs/sources.md, registered for one test and taken out after."""
    from tests.ingest import jsonfeed_kind

    importlib.reload(jsonfeed_kind)  # its import registers it, again after an earlier test
    yield kinds.KINDS["jsonfeed"]
    del kinds.KINDS["jsonfeed"]


def test_built_in_kinds_are_found() -> None:
    """Mastodon, RSS and Bluesky are each found in their own module."""
    assert {"mastodon", "rss", "bluesky"} <= set(kinds.discover())


def test_a_registered_kind_is_in_the_cli_and_the_form(jsonfeed: kinds.SourceKind) -> None:
    """A new kind's options become `source add` flags and admin form fields; its checks apply."""
    args = build_parser().parse_args(
        ["source", "add", "jsonfeed", "--url", "http://127.0.0.1:9/f.json", "--event", "e"]
    )
    assert (args.kind, args.url) == ("jsonfeed", "http://127.0.0.1:9/f.json")
    assert any(kind.name == "jsonfeed" for kind, _ in kinds.options()["url"])
    with pytest.raises(SourceError, match="jsonfeed needs --url"):
        kinds.configure("jsonfeed", "e")
    with pytest.raises(SourceError, match="jsonfeed takes no --tag"):
        kinds.configure("jsonfeed", "e", url="http://127.0.0.1:9/f.json", tag="x")


async def test_the_worker_runs_a_registered_kind(
    jsonfeed: kinds.SourceKind, store: Store, event: Event
) -> None:
    """The worker builds the kind through the registry and takes its posts, each once."""
    items = [
        {
            "id": str(n),
            "author": {"name": "Ada"},
            "content_text": f"item {n}",
            "date_published": "2026-11-23T19:00:00Z",
        }
        for n in (2, 1)
    ]

    async def feed(request: Request) -> JSONResponse:
        return JSONResponse({"version": "https://jsonfeed.org/version/1.1", "items": items})

    async with serve(Starlette(routes=[Route("/f.json", feed)])) as base:
        config = kinds.configure("jsonfeed", event.slug, url=f"{base}/f.json")
        async with safe_client(allow_loopback=True) as client:
            source = build_source(config, store, client, Settings(poll_interval=0.05))
            task = asyncio.create_task(run_source(store, event, source))
            try:
                await eventually(
                    lambda: _approved(store, event, 2), message="both items on the wall"
                )
            finally:
                await stop_task(task, what="source")
    texts = sorted(p.text for p in await store.posts(event.slug, State.APPROVED))
    assert texts == ["item 1", "item 2"]


async def _approved(store: Store, event: Event, n: int) -> bool:
    return await store.count(event.slug, State.APPROVED) == n
