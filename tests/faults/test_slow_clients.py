"""5 % of clients stop reading: the rest get every post, memory stays bounded, the slow ones
are closed with 1013 and resume exactly once they read again."""

from __future__ import annotations

import asyncio
from pathlib import Path

from redis.asyncio import Redis

from tests.faults.kit import (
    ResumingClient,
    SlowReader,
    Web,
    caught_up,
    last_public_id,
    public_changes,
)
from tests.helpers import deadline, eventually, metric, post_dict
from wall.models import Event, Post
from wall.moderation import State
from wall.redis_server import free_port
from wall.store import Store

CLIENTS = 40
SLOW = CLIENTS // 20  # 5 %
BIG = "lorem ipsum " * 1500  # ~18 KB a post: kernel buffers fill after a few
MAX_GROWTH = 64 * 1024 * 1024  # bytes of server memory growth allowed over the test
SLOW_RATE = 128 * 1024  # bytes a second a slow reader takes
# What may stand between a slow reader and its 1013 once the server gives up on it: what the
# server still holds for it (256 KB before messages queue, and one more message), the
# kernel's bounded send buffer and the client's receive buffer. Left to autotuning, the
# kernel's send buffer alone grows to 4 MB on loopback.
MAX_BACKLOG = 1024 * 1024


def rss(pid: int) -> int:
    """A process's resident memory in bytes."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise AssertionError("no VmRSS")


async def dropped(base: str) -> float:
    """The server's count of slow clients closed with 1013."""
    return await metric(base, "eventwall_slow_clients_dropped_total")


async def test_slow_clients_dropped_resume_and_others_unaffected(
    env: dict[str, str], redis: Redis, store: Store
) -> None:
    """Slow clients are closed with 1013 and resume; fast ones get every post; RSS bounded."""
    await store.save_event(Event(slug="testevent", title="Test"))
    web = await asyncio.to_thread(
        Web({**env, "SEND_TIMEOUT": "0.5", "CLIENT_QUEUE": "32"}, free_port()).start
    )
    assert web.process is not None
    since = await last_public_id(redis, "testevent")
    url = f"{web.ws_base}/e/testevent/ws"
    reading = asyncio.Event()  # cleared: the slow clients read nothing
    slow = [ResumingClient(url, since, read=reading, small_buffer=True) for _ in range(SLOW)]
    fast = [ResumingClient(url, since) for _ in range(CLIENTS - SLOW)]
    clients = [c.start() for c in slow + fast]
    try:
        await eventually(lambda: all(c.connects for c in clients), timeout=20, message="clients")
        before = rss(web.process.pid)
        sent = 0
        # Post until the server has given up on every slow client (their kernel buffers
        # must fill first, so how many posts that takes depends on the machine).
        while await dropped(web.base) < SLOW:
            assert sent < 3000, "the slow clients were never closed"
            for _ in range(25):
                post = Post.from_dict(post_dict(f"n{sent}", BIG))
                await store.ingest("testevent", post, State.APPROVED)
                sent += 1
        expected = await public_changes(redis, "testevent", since)
        await caught_up(fast, expected, web.lines)
        growth = rss(web.process.pid) - before
        assert growth < MAX_GROWTH, f"server memory grew by {growth / 2**20:.0f} MB"

        reading.set()  # the slow ones read again: what was buffered, then 1013, then resume
        await caught_up(slow, expected, web.lines)
        assert all(1013 in c.closes for c in slow), [c.closes for c in slow]
        assert all(c.connects == 1 for c in fast), "a fast client was dropped"
        assert not any(c.duplicates for c in clients)
    finally:
        for client in clients:
            await client.stop()
        await asyncio.to_thread(web.stop)


def established(port: int) -> int:
    """TCP connections the server on `port` holds open (ESTABLISHED), from /proc/net/tcp."""
    count = 0
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        if int(fields[1].split(":")[1], 16) == port and fields[3] == "01":
            count += 1
    return count


async def test_stuck_client_is_cut_after_its_close_grace(
    env: dict[str, str], redis: Redis, store: Store
) -> None:
    """A client that never reads again is counted as slow and cut once its 1013 can't go out."""
    await store.save_event(Event(slug="testevent", title="Test"))
    tight = {**env, "SEND_TIMEOUT": "0.5", "CLIENT_QUEUE": "8", "WS_PING_TIMEOUT": "2"}
    web = await asyncio.to_thread(Web(tight, free_port()).start)
    since = await last_public_id(redis, "testevent")
    never = asyncio.Event()  # never set: this client reads nothing
    stuck = ResumingClient(f"{web.ws_base}/e/testevent/ws", since, read=never, small_buffer=True)
    stuck.start()
    try:
        await eventually(lambda: stuck.connects == 1, timeout=20, message="connected")
        sent = 0
        while await dropped(web.base) < 1:
            assert sent < 3000, "the stuck client was never closed"
            for _ in range(25):
                await store.ingest(
                    "testevent", Post.from_dict(post_dict(f"n{sent}", BIG)), State.APPROVED
                )
                sent += 1
        # Its buffers full, the close frame can't reach it: the server lets go of it.
        await eventually(
            lambda: established(web.port) == 0, timeout=15, message="the connection cut"
        )
        assert await dropped(web.base) == 1
    finally:
        await stuck.stop()
        await asyncio.to_thread(web.stop)


async def post_until_dropped(store: Store, base: str, dropped_before: float = 0) -> int:
    """Post big posts until the server has given up on one more slow client; how many."""
    sent = 0
    while await dropped(base) <= dropped_before:
        assert sent < 1500, "the slow client was never dropped"
        for _ in range(25):
            await store.ingest(
                "testevent", Post.from_dict(post_dict(f"n{sent}", BIG)), State.APPROVED
            )
            sent += 1
    return sent


async def test_slow_reader_gets_its_1013_behind_a_bounded_backlog(
    env: dict[str, str], store: Store
) -> None:
    """A slow reader with the system's kernel buffers reads its 1013 soon after being dropped."""
    await store.save_event(Event(slug="testevent", title="Test"))
    settings = {
        **env,
        "SEND_TIMEOUT": "0.5",
        "CLIENT_QUEUE": "8",
        "WS_PING_INTERVAL": "0",  # only the hub's rule is under test here
        "WS_PING_TIMEOUT": f"{deadline(30):.0f}",  # the close frame's grace: not this test's bound
    }
    web = await asyncio.to_thread(Web(settings, free_port()).start)
    reader = SlowReader(f"{web.ws_base}/e/testevent/ws", SLOW_RATE).start()
    try:
        await asyncio.wait_for(reader.opened.wait(), deadline(20))
        await post_until_dropped(store, web.base)
        dropped_at = reader.received
        await asyncio.wait_for(reader.ended.wait(), deadline(60))
        assert reader.close_code == 1013
        backlog = reader.received - dropped_at
        assert backlog < MAX_BACKLOG, f"{backlog / 1024:.0f} KB stood before the close frame"
        assert await dropped(web.base) == 1
    finally:
        await reader.stop()
        await asyncio.to_thread(web.stop)


async def test_slow_reader_cut_by_the_keepalive_is_counted_and_told_1013(
    env: dict[str, str], store: Store
) -> None:
    """A reader whose ping waits behind unread data is slow, not gone: counted, closed 1013."""
    await store.save_event(Event(slug="testevent", title="Test"))
    settings = {
        **env,
        # The hub never gives up on it: only the keepalive can.
        "SEND_TIMEOUT": "3600",
        "CLIENT_QUEUE": "1000000",
        "WS_PING_INTERVAL": "0.2",
        "WS_PING_TIMEOUT": f"{deadline(3):.1f}",
    }
    web = await asyncio.to_thread(Web(settings, free_port()).start)
    reading = asyncio.Event()  # cleared: it reads nothing, pings included
    reader = SlowReader(f"{web.ws_base}/e/testevent/ws", 10 * 2**20, read=reading).start()
    try:
        await asyncio.wait_for(reader.opened.wait(), deadline(20))
        for n in range(100):  # far more than the kernel's buffers hold
            await store.ingest("testevent", Post.from_dict(post_dict(f"n{n}", BIG)), State.APPROVED)
        # Its next ping waits behind that: the keepalive gives up on it.
        await eventually(lambda: dropped(web.base), timeout=10, message="the slow client dropped")
        reading.set()  # reads again: what was queued for it, then the close frame
        await asyncio.wait_for(reader.ended.wait(), deadline(30))
        assert reader.close_code == 1013
        assert await dropped(web.base) == 1
        assert any("ping went unanswered" in line for line in web.lines)
    finally:
        await reader.stop()
        await asyncio.to_thread(web.stop)
