"""The hub's per-client queues: bounded, ordered, deduplicated, slow clients detected."""

from __future__ import annotations

import asyncio

import pytest

from server.hub import Client, Message, SlowClient, pump


def message(n: int) -> Message:
    return Message(f"{n}-0", (n, 0), f"<p>{n}</p>")


async def test_overflow_marks_client_slow() -> None:
    """Offering more than the queue holds marks the client slow instead of blocking."""
    client = Client("e", "public", maxsize=2)
    for n in range(1, 4):
        client.offer(message(n))
    assert client.overflowed
    with pytest.raises(SlowClient):
        await client.next()


async def test_already_sent_messages_skipped() -> None:
    """A live message at or before the last id sent (replayed already) is not sent again."""
    client = Client("e", "public", maxsize=10)
    client.last = (2, 0)
    for n in (1, 2, 3):
        client.offer(message(n))
    assert (await client.next()).id == "3-0"


async def test_pump_sends_in_order_and_times_out() -> None:
    """The writer sends in order and gives up with SlowClient when one send stalls."""
    client = Client("e", "public", maxsize=10)
    sent: list[str] = []
    stall = asyncio.Event()

    async def send(data: str) -> None:
        if data == "<p>3</p>":
            await stall.wait()
        sent.append(data)

    for n in (1, 2, 3):
        client.offer(message(n))
    with pytest.raises(SlowClient):
        await pump(client, send, timeout=0.05)
    assert sent == ["<p>1</p>", "<p>2</p>"]
    assert client.last == (2, 0)
