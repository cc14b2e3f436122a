"""Reading a pub/sub subscription that may go silent without saying so.

redis-py may reconnect a subscription by itself, and one was once seen to come back
silent; a cluster node may stop answering. So after a short silence the reader sends a
heartbeat through the subscription (a message to itself, or a ping), and a heartbeat
that does not come back in time ends the read with ConnectionError: the caller then
resubscribes and catches up from the change logs.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, Awaitable, Callable
from typing import Any

from redis.asyncio.client import PubSub
from redis.exceptions import ConnectionError

HEARTBEAT_IDLE = 2.0  # seconds without a message before a heartbeat is sent
HEARTBEAT_TIMEOUT = 3.0  # seconds a heartbeat may take to come back


async def messages(
    pubsub: PubSub, beat: Callable[[], Awaitable[Any]], *, silent: str
) -> AsyncGenerator[dict[str, Any], None]:
    """Every item the subscription delivers (its heartbeats' answers too), for ever;
    ConnectionError(`silent`) when a heartbeat (`beat()`) is not answered in time."""
    loop = asyncio.get_running_loop()
    heard, beat_at = loop.time(), None
    task = asyncio.current_task()
    while True:
        # A cancellation can be swallowed by a wait that completes at the same moment
        # (asyncio.wait_for on 3.11, redis-py's own timeouts): honour it here, or the
        # shutdown would wait for this loop forever.
        if task is not None and task.cancelling():
            raise asyncio.CancelledError
        # asyncio.timeout, not wait_for: no Task per message, and no swallowed cancel.
        async with asyncio.timeout(10.0):
            item = await pubsub.get_message(timeout=1.0)
        now = loop.time()
        if item is None:
            if beat_at is not None and now - beat_at > HEARTBEAT_TIMEOUT:
                raise ConnectionError(silent)
            if beat_at is None and now - heard > HEARTBEAT_IDLE:
                await beat()
                beat_at = now
            continue
        heard, beat_at = now, None
        yield item
