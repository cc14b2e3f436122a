"""The sources feeding each event, as admins add and remove them from `/admin` and the CLI."""

from __future__ import annotations

import time

from ingest.sources import kinds
from usecases import Refused, Stores
from wall.sources import SourceConfig


async def add_source(stores: Stores, kind: str, event: str, **fields: str) -> SourceConfig:
    """Add a source for an existing event; SourceError or Refused names the field at fault."""
    config = kinds.configure(kind, event, **fields)
    if await stores.posts.get_event(config.event) is None:
        raise Refused(f"event: no event {config.event!r}")
    await stores.sources.add(config)
    return config


async def remove_source(stores: Stores, source_id: str) -> None:
    """Remove a source by id; Refused if there is none."""
    if not await stores.sources.remove(source_id):
        raise Refused(f"source: no source {source_id!r}")


async def sources_with_status(stores: Stores) -> list[tuple[SourceConfig, str]]:
    """Every configured source with its one-line status."""
    now = time.time()
    registry = stores.sources
    return [(c, (await registry.status(c.id)).summary(now)) for c in await registry.list()]
