"""Retrying a Redis step through an outage: bounded backoff, the reason logged once a state.

The worker and `eventwall ingest replay` must outlive Redis restarts and blips: a step that
fails because Redis is away is tried again (after about 0.2 s, doubling to at most RETRY_MAX,
jittered as `ingest/backoff.py` does for sources), and the log says so when it starts failing
and when it works again, not at every try.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import TypeVar

from ingest.backoff import Backoff
from ingest.buffer import UNREACHABLE
from ingest.cancel import stop_if_asked

log = logging.getLogger(__name__)

T = TypeVar("T")
RETRY_FIRST = 0.2
RETRY_MAX = 5.0


async def until_redis_answers(what: str, step: Callable[[], Awaitable[T]]) -> T:
    """Run `step` until it gets past Redis being unreachable; errors of other kinds propagate."""
    backoff = Backoff(RETRY_FIRST, RETRY_MAX)
    failing = False
    while True:
        try:
            result = await step()
        except UNREACHABLE as exc:
            if not failing:
                log.warning("%s: redis unreachable (%s); retrying until it answers", what, exc)
                failing = True
            stop_if_asked()
            await asyncio.sleep(backoff.failed())
            continue
        if failing:
            log.info("%s: redis answers again; carrying on", what)
        return result
