"""The hub's per-client queues: bounded, ordered, deduplicated, slow clients detected."""

from __future__ import annotations

import asyncio

import pytest

from server.hub import Client, Message, SlowClient, drain


def message(n: int) -> Message:
    return Message(f"{n}-0", (n, 0), f"<p>{n}</p>")


async def test_overflow_marks_client_slow() -> None:
    """Offering more than the queue holds marks the client slow instead of blocking."""
    client = Client("e", "public", maxsize=2)
    for n in range(1, 4):
        client.offer(message(n))
    assert client.overflowed
    with pytest.raises(SlowClient):
        client.next_queued()


async def test_already_sent_messages_skipped() -> None:
    """A live message at or before the last id sent (replayed already) is not sent again."""
    client = Client("e", "public", maxsize=10)
    client.last = (2, 0)
    for n in (1, 2, 3):
        client.offer(message(n))
    queued = client.next_queued()
    assert queued is not None and queued.id == "3-0"


async def test_drain_sends_in_order_and_times_out() -> None:
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
        await drain(client, send, timeout=0.05)
    assert sent == ["<p>1</p>", "<p>2</p>"]
    assert client.last == (2, 0)


class Socket:
    """A direct frame writer standing in for a socket; `open` False refuses like a closing one."""

    def __init__(self) -> None:
        self.frames: list[bytes] = []
        self.open = True

    def __call__(self, frame: bytes) -> bool:
        if self.open:
            self.frames.append(frame)
        return self.open


def framed(n: int) -> Message:
    return Message(f"{n}-0", (n, 0), f"<p>{n}</p>", f"frame {n}".encode())


async def test_caught_up_client_gets_the_frame_directly() -> None:
    """With its writer idle and nothing queued, a message is written at once, not queued."""
    socket = Socket()
    client = Client("e", "public", maxsize=10, direct=socket)
    client.live = True
    client.offer(framed(1))
    client.offer(framed(2))
    assert socket.frames == [b"frame 1", b"frame 2"]
    assert client.queued == 0 and client.last == (2, 0)


async def test_direct_path_waits_for_the_replay_and_for_a_send_under_way() -> None:
    """During the replay, or while a writer drains the queue, messages queue in order."""
    socket = Socket()
    client = Client("e", "public", maxsize=10, direct=socket)
    client.offer(framed(1))  # not live yet: the missed changes are being replayed
    client.live = True
    client.writer = asyncio.current_task()  # a writer holding a message it is sending
    client.offer(framed(2))
    assert socket.frames == [] and client.queued == 2
    queued = client.next_queued()
    assert queued is not None and queued.id == "1-0"


async def test_refused_frame_falls_back_to_the_queue() -> None:
    """A socket that refuses (backed up or closing) leaves the message to the writer."""
    socket = Socket()
    socket.open = False
    client = Client("e", "public", maxsize=10, direct=socket)
    client.live = True
    client.offer(framed(1))
    assert client.queued == 1 and client.last == (0, 0)


async def test_direct_path_skips_what_was_already_sent() -> None:
    """A live message at or before the last id sent is not written again."""
    socket = Socket()
    client = Client("e", "public", maxsize=10, direct=socket)
    client.live, client.last = True, (2, 0)
    client.offer(framed(2))
    assert socket.frames == [] and client.queued == 0


async def test_writer_runs_only_while_messages_are_queued() -> None:
    """An idle client has no writer; a queued message starts one, which ends with the queue."""
    socket = Socket()
    sent: list[str] = []

    async def send(data: str) -> None:
        sent.append(data)

    def start_writer(client: Client) -> asyncio.Task[None]:
        return asyncio.create_task(drain(client, send, timeout=1))

    client = Client("e", "public", maxsize=10, direct=socket, start_writer=start_writer)
    client.offer(framed(1))  # queued during the replay: no writer before it is live
    assert client.writer is None
    client.go_live()
    writer = client.writer
    assert writer is not None
    client.offer(framed(2))  # behind the queued one, not straight to the socket
    await writer
    assert sent == ["<p>1</p>", "<p>2</p>"] and socket.frames == []
    client.offer(framed(3))  # caught up again: direct, no writer
    assert socket.frames == [b"frame 3"] and client.writer is None
    assert client.queued == 0 and client.last == (3, 0)
