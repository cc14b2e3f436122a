"""Turns for batches taken side by side, so that what they store keeps the order they were read.

An archive is replayed with a batch being stored while the next is parsed and its photos
fetched. A batch that finishes its photos first must still store after the one before it:
walls put each post they are sent on top, so a change log out of the archive's order would
put older posts above newer ones, and a busy wall keeps only its newest few.
"""

from __future__ import annotations

import asyncio
from types import TracebackType


class InOrder:
    """Hands out turns: each is taken only once the one handed out before it is done."""

    def __init__(self) -> None:
        self._last: asyncio.Future[None] | None = None
        self.waiting = 0  # turns waiting for an earlier one, now

    def next(self) -> Turn:
        """The turn after every turn handed out so far."""
        previous, self._last = self._last, asyncio.get_running_loop().create_future()
        return Turn(self, previous, self._last)


class Turn:
    """`async with turn:` waits for the earlier turn to be done; leaving it without an error
    marks this one done. A failed try leaves it open, for a retry to take it again."""

    def __init__(
        self, order: InOrder, previous: asyncio.Future[None] | None, mine: asyncio.Future[None]
    ) -> None:
        self.order = order
        self.previous = previous
        self.mine = mine

    async def __aenter__(self) -> None:
        if self.previous is None or self.previous.done():
            return
        self.order.waiting += 1
        try:
            # Shielded: a waiter cancelled (the replay stopping) leaves the earlier turn be.
            await asyncio.shield(self.previous)
        finally:
            self.order.waiting -= 1

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if exc_type is None and not self.mine.done():
            self.mine.set_result(None)
