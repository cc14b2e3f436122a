"""Stopping for sure: a cancellation some library swallowed still stops our loops."""

from __future__ import annotations

import asyncio


def stopping() -> bool:
    """True once the current task was asked to stop, even if a library swallowed the cancel."""
    task = asyncio.current_task()
    return task is not None and task.cancelling() > 0


def stop_if_asked() -> None:
    """Raise CancelledError if the current task was cancelled and carried on regardless.

    On Python 3.11 a cancellation landing inside a Redis command or an HTTP request can be
    absorbed (redis-py's retry while Redis restarts; a timeout that fires as the call
    completes): a polling loop would then run forever.
    """
    if stopping():
        raise asyncio.CancelledError
