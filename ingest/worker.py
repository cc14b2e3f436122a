"""The ingest worker: runs each configured source and applies what it yields to the store."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time

import httpx
from redis.exceptions import RedisClusterException, RedisError

from ingest.backoff import Backoff
from ingest.buffer import UNREACHABLE, BufferedCursors, IngestBuffer
from ingest.cancel import stop_if_asked, stopping
from ingest.fetch import safe_client
from ingest.media import PhotoPipeline
from ingest.pipeline import apply
from ingest.retry import until_redis_answers
from ingest.sources import kinds
from ingest.sources.base import Backfill, Notice, Source, SourceItem
from ingest.sources.demo import DemoSource, demo_event
from wall.mod_store import ModerationStore
from wall.models import Event, Post
from wall.settings import Settings
from wall.sources import SourceConfig, SourceRegistry
from wall.store import Outcome, Store

log = logging.getLogger(__name__)


async def run_source(
    store: Store,
    event: Event,
    source: Source,
    photos: PhotoPipeline | None = None,
    registry: SourceRegistry | None = None,
    buffer: IngestBuffer | None = None,
) -> None:
    """Apply every item a source yields; restart it with backoff and jitter when it fails.

    With a buffer, an item taken while Redis is away waits in it instead of failing the source.
    """
    backoff = Backoff()

    async def status(**fields: str | int) -> None:
        # Best effort: the status page must not stop a source while Redis is away.
        if registry is not None:
            with contextlib.suppress(*UNREACHABLE):
                await registry.set_status(source.name, **fields)

    while True:
        try:
            await status(connected=1)
            async for item in source.items():
                if isinstance(item, Notice):
                    await status(note=item.message)
                    continue
                try:
                    if buffer is None:
                        outcome: Outcome | None = await apply(store, event, item, photos)
                    else:
                        # Shielded: a stopping worker finishes the item it has begun.
                        outcome = await asyncio.shield(buffer.take(event, item, photos))
                except (RedisError, RedisClusterException, OSError):
                    raise
                except Exception:
                    # One bad item must not stop the others.
                    log.exception("source %s: skipped item %r", source.name, item)
                    continue
                # Only a post newly stored counts, and only it is "the last item": a repeat,
                # an edit, a deletion or a post not taken (opted out) is none of that. A post
                # held while Redis is away counts when it is written, unseen here.
                if registry is not None and _is_new(item) and outcome and outcome.changed:
                    with contextlib.suppress(*UNREACHABLE):
                        await registry.count_taken(source.name)
                    now = time.time()
                    await status(last_event=f"{now:.3f}", lag=f"{_lag(item, now):.3f}")
                stop_if_asked()
                backoff.reset()
            log.info("source %s finished", source.name)
            await status(connected=0)
            return
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            if stopping():
                raise  # a cancellation that surfaced as another error: stop, don't restart
            wait = backoff.failed()
            log.warning("source %s failed (%s); restarting in %.1fs", source.name, exc, wait)
            await status(connected=0, last_error=f"{time.time():.3f} {exc}"[:500])
            await asyncio.sleep(wait)


def _is_new(item: SourceItem) -> bool:
    return isinstance(item, Post | Backfill)


def _lag(item: SourceItem, now: float) -> float:
    """Seconds between a post's creation at its source and its taking here (for /metrics)."""
    post = item if isinstance(item, Post) else getattr(item, "post", None)
    return max(0.0, now - post.created_at.timestamp()) if isinstance(post, Post) else 0.0


def build_source(
    config: SourceConfig, store: Store, client: httpx.AsyncClient, settings: Settings
) -> Source:
    """The source a configuration describes (its kind's registered factory)."""
    return kinds.get(config.kind).build(config, store, client, settings)


async def run_configured(
    settings: Settings,
    store: Store,
    client: httpx.AsyncClient,
    photos: PhotoPipeline,
    buffer: IngestBuffer | None = None,
) -> None:
    """Run the sources configured in Redis, starting and stopping them as the config changes."""
    registry = SourceRegistry(store.redis)
    running: dict[str, asyncio.Task[None]] = {}
    unreadable = False  # logged once when the config can't be read, once when it can again
    try:
        while True:
            try:
                wanted = {c.id: c for c in await registry.list()}
            except UNREACHABLE as exc:
                if stopping():
                    raise
                # Keep the running sources (they buffer); look at the config again later.
                if not unreadable:
                    log.warning("cannot read the sources from redis (%s); retrying", exc)
                    unreadable = True
                await asyncio.sleep(settings.source_reload)
                continue
            if unreadable:
                log.info("reading the sources from redis again")
                unreadable = False
            for source_id in running.keys() - wanted.keys():
                log.info("source %s removed; stopping it", source_id)
                running.pop(source_id).cancel()
            for source_id, config in wanted.items():
                if source_id in running and not running[source_id].done():
                    continue
                try:
                    event = await store.get_event(config.event)
                except UNREACHABLE:
                    continue
                if event is None:
                    continue  # not created yet; checked again next round
                try:
                    source = build_source(config, store, client, settings)
                except ValueError as exc:
                    log.warning("source %s: %s", source_id, exc)
                    continue
                log.info("starting source %s: %s", source_id, config.describe)
                running[source_id] = asyncio.create_task(
                    run_source(store, event, source, photos, registry, buffer),
                    name=f"source-{source_id}",
                )
            stop_if_asked()
            await asyncio.sleep(settings.source_reload)
    finally:
        for task in running.values():
            task.cancel()
        for task in running.values():
            with contextlib.suppress(asyncio.CancelledError):
                await task


async def run_worker(settings: Settings, store: Store) -> None:
    """Run the demo (if enabled) and every configured source until cancelled.

    Cancelled (SIGTERM), it finishes the item in hand and writes what it holds, for at most
    SHUTDOWN_TIMEOUT seconds.
    """
    buffer = IngestBuffer(store, maxlen=settings.ingest_buffer)
    try:
        await _run_sources(settings, store, buffer)
    finally:
        log.info("worker stopping; %d items held", len(buffer))
        await buffer.drain(settings.shutdown_timeout)
        log.info("worker stopped")


async def _run_sources(settings: Settings, store: Store, buffer: IngestBuffer) -> None:
    # Sources record their cursors through the buffer, behind the items it holds.
    cursors = BufferedCursors(store, buffer)
    timeout = httpx.Timeout(30.0, connect=10.0)
    async with safe_client(allow_loopback=settings.fetch_allow_loopback, timeout=timeout) as client:
        photos = PhotoPipeline.from_settings(settings, client)
        async with asyncio.TaskGroup() as group:
            if settings.demo:
                event = demo_event()
                # Redis may not answer yet (a worker started before it): wait, don't exit.
                await until_redis_answers("demo setup", lambda: _prepare_demo(store, event))
                source = DemoSource(
                    cursors, settings.media_dir, rate=settings.demo_rate, loop=settings.demo_loop
                )
                group.create_task(
                    run_source(store, event, source, buffer=buffer), name="source-demo"
                )
            group.create_task(
                run_configured(settings, cursors, client, photos, buffer), name="sources"
            )
            group.create_task(buffer.run(), name="ingest-buffer")


async def _prepare_demo(store: Store, event: Event) -> None:
    """Create the demo event and its rules, unless they are there already."""
    if await store.get_event(event.slug) is None:
        await store.save_event(event)
    moderation = ModerationStore(store.redis, log_maxlen=store.log_maxlen)
    if not await moderation.has_rules(event.slug):
        # The demo corpus loops every few minutes with the same texts, and its first
        # round (the event's history) arrives at once: duplicate and flood holds
        # would freeze the demo wall.
        await moderation.set_rules(
            event.slug,
            blocked_words=[],
            blocked_tags=[],
            flood_limit=0,
            hold_duplicates=False,
        )
