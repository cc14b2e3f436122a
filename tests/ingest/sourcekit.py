"""A source running as the worker runs it, for tests against loopback fakes."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import TypeVar

import httpx

from ingest.fetch import safe_client
from ingest.media import LocalStorage, PhotoPipeline
from ingest.sources.base import Source
from ingest.worker import run_source
from tests.helpers import stop_task
from wall.models import Event
from wall.sources import SourceRegistry
from wall.store import Store

S = TypeVar("S", bound=Source)


@contextlib.asynccontextmanager
async def running_source(
    store: Store,
    event: Event,
    build: Callable[[httpx.AsyncClient], S],
    *,
    media: Path | None = None,
    registry: SourceRegistry | None = None,
) -> AsyncIterator[S]:
    """The source `build` makes, running under `run_source` (with a real photo pipeline
    writing to `media` when given) until the block ends."""
    async with safe_client(allow_loopback=True, timeout=10) as client:
        source = build(client)
        photos = PhotoPipeline(LocalStorage(media), client) if media else None
        task = asyncio.create_task(run_source(store, event, source, photos, registry))
        try:
            yield source
        finally:
            await stop_task(task, what=f"source {source.name}")
