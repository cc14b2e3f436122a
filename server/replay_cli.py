"""`eventwall ingest replay FILE --event SLUG`: an archive's posts taken into an event.

Each post meets the event's rules and is stored by its own atomic script run, as the worker
stores a live one. All at once (`--rate 0`, the default) the file is read in batches sent as
pipelines, two in flight, so Redis stores one batch while this process parses the next.
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import itertools
import logging
import os
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from ingest.fetch import safe_client
from ingest.media import PhotoPipeline
from ingest.pipeline import ARCHIVE_BATCH, take, take_archive
from ingest.retry import until_redis_answers
from ingest.sources.replay import BadLine, read_jsonl
from ingest.turns import InOrder, Turn
from wall.models import SLUG_RE, Event, Post
from wall.settings import Settings
from wall.store import Outcome, Store

log = logging.getLogger(__name__)
IN_FLIGHT = 2
"""Batches sent and not yet answered: one stored by Redis while the next is prepared."""


@dataclass
class Tally:
    """What a replay did so far."""

    seen: int = 0
    failed: int = 0
    refused: int = 0
    already: int = 0
    states: dict[str, int] = field(default_factory=dict)
    """New posts by the state the event's rules gave them."""

    def count(self, outcomes: list[Outcome]) -> None:
        """Count a batch's outcomes (a new post's outcome names the state it was stored in)."""
        for outcome in outcomes:
            if outcome.changed:
                self.states[outcome.previous] = self.states.get(outcome.previous, 0) + 1
            elif outcome.missing:
                self.refused += 1  # opted out, or nothing left after sanitizing
            else:
                self.already += 1


async def run(store: Store, settings: Settings, args: argparse.Namespace) -> int:
    """Replay `args.file` into `args.event` (created if missing); the exit code."""
    path: Path = args.file
    tally = Tally()
    async with safe_client(allow_loopback=settings.fetch_allow_loopback) as client:
        # Remote photos and avatars are fetched and stored locally, as the worker does:
        # pages only load images from this site.
        photos = PhotoPipeline.from_settings(settings, client)
        # Every Redis step waits out an outage (a Redis restart mid-replay) instead of
        # aborting: taking a post twice changes nothing, so a retried step is safe.
        event = await until_redis_answers(
            "replay", functools.partial(_find_or_create, store, args.event, args.moderation)
        )
        if args.rate > 0:
            await _paced(store, event, _posts(path, tally), photos, tally, args.rate)
        else:
            await _all_at_once(store, event, _posts(path, tally), photos, tally)
    print(summary(path, event.slug, tally))
    return 1 if tally.failed else 0


async def _find_or_create(store: Store, slug: str, moderation: str) -> Event:
    event = await store.get_event(slug)
    if event is None:
        event = Event(slug=slug, title=slug.replace("-", " ").title(), moderation=moderation)
        await store.save_event(event)
        log.info("created event %s", slug)
    return event


def _posts(path: Path, tally: Tally) -> Iterator[Post]:
    """The file's posts, one by one; a bad line is counted and said on stderr."""
    for item in read_jsonl(path):
        if isinstance(item, BadLine):
            tally.failed += 1
            print(f"{path}:{item.line}: skipped: {item.reason}", file=sys.stderr)
            continue
        tally.seen += 1
        yield item


async def _paced(
    store: Store,
    event: Event,
    posts: Iterator[Post],
    photos: PhotoPipeline,
    tally: Tally,
    rate: float,
) -> None:
    # One post at a time, as a live source would send them.
    for post in posts:
        outcome = await until_redis_answers(
            "replay", functools.partial(take, store, event, post, photos, archive=True)
        )
        tally.count([outcome])
        await asyncio.sleep(1 / rate)


async def _all_at_once(
    store: Store, event: Event, posts: Iterator[Post], photos: PhotoPipeline, tally: Tally
) -> None:
    order = InOrder()  # batches side by side, stored in the archive's order

    async def take_batch(batch: list[Post], turn: Turn) -> None:
        tally.count(
            await until_redis_answers(
                "replay", functools.partial(take_archive, store, event, batch, photos, turn=turn)
            )
        )

    in_flight: set[asyncio.Task[None]] = set()

    async def settle(limit: int) -> None:
        while len(in_flight) > limit:
            done, _ = await asyncio.wait(in_flight, return_when=asyncio.FIRST_COMPLETED)
            for task in done:
                in_flight.discard(task)
                task.result()

    try:
        while batch := list(itertools.islice(posts, ARCHIVE_BATCH)):
            in_flight.add(asyncio.create_task(take_batch(batch, order.next())))
            await settle(IN_FLIGHT - 1)
        await settle(0)
    finally:
        for task in in_flight:
            task.cancel()


def summary(path: Path, slug: str, tally: Tally) -> str:
    """What a replay did, by the state its new posts are in: pending ones need a moderator."""
    states = tally.states
    taken = sum(states.values())
    by_state = ", ".join(f"{n} {state}" for state, n in sorted(states.items()))
    line = f"replayed {path}: {taken} new" + (f" ({by_state})" if by_state else "")
    line += f", {tally.already} already there, {tally.failed} skipped"
    if tally.refused:
        line += f", {tally.refused} not taken (author opted out, or nothing to show)"
    if states.get("pending"):
        line += (
            f"\n{states['pending']} pending: {slug} is pre-moderated, so they wait for a "
            f"moderator at /e/{slug}/moderate (or `eventwall event mode {slug} post`)"
        )
    return line


def problem(path: Path, slug: str) -> str:
    """What makes a replay impossible before it starts (file, event slug), or ""."""
    if not SLUG_RE.fullmatch(slug):
        return (
            f"--event: {slug!r} is not a slug: use lower-case letters, digits and '-' "
            "(at most 63), e.g. pycon-2026"
        )
    if path.is_dir():
        return (
            f"{path} is a folder: give a JSONL file, one post a line "
            "(`eventwall export SLUG --format jsonl` writes one)"
        )
    if not path.exists():
        return f"no such file: {path}"
    if not os.access(path, os.R_OK):
        return f"cannot read {path}: permission denied"
    return ""
