"""The ingest worker: runs each configured source and takes its posts into the store."""

from __future__ import annotations

import asyncio
import logging
import random

from redis.exceptions import RedisError

from ingest.pipeline import take
from ingest.sources.base import Source
from ingest.sources.demo import DemoSource, demo_event
from wall.mod_store import ModerationStore
from wall.models import Event
from wall.settings import Settings
from wall.store import Store

log = logging.getLogger(__name__)


async def run_source(store: Store, event: Event, source: Source) -> None:
    """Take every post a source yields; restart it with backoff and jitter when it fails."""
    delay = 0.5
    while True:
        try:
            async for post in source.posts():
                try:
                    await take(store, event, post)
                except (RedisError, OSError):
                    raise
                except Exception:
                    # One bad post must not stop the others.
                    log.exception("source %s: skipped post %s", source.name, post.id)
                delay = 0.5
            log.info("source %s finished", source.name)
            return
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            wait = delay * (0.5 + random.random())
            log.warning("source %s failed (%s); restarting in %.1fs", source.name, exc, wait)
            await asyncio.sleep(wait)
            delay = min(delay * 2, 30.0)


async def run_worker(settings: Settings, store: Store) -> None:
    """Run every configured source until cancelled."""
    async with asyncio.TaskGroup() as group:
        if settings.demo:
            event = demo_event()
            if await store.get_event(event.slug) is None:
                await store.save_event(event)
            moderation = ModerationStore(store.redis, log_maxlen=store.log_maxlen)
            if not await moderation.has_rules(event.slug):
                # The demo corpus loops every few minutes with the same texts: holding them
                # as duplicates would freeze the demo wall after its first round.
                await moderation.set_rules(
                    event.slug,
                    blocked_words=[],
                    blocked_tags=[],
                    flood_limit=5,
                    hold_duplicates=False,
                )
            source = DemoSource(
                store, settings.media_dir, rate=settings.demo_rate, loop=settings.demo_loop
            )
            group.create_task(run_source(store, event, source), name="source-demo")
        else:
            log.info("no sources configured; the worker is idle")
            group.create_task(asyncio.Event().wait())
