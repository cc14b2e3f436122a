"""Fixtures: one real Valkey server for the session, flushed before each test."""

from __future__ import annotations

import ipaddress
import os
import sys
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from redis.asyncio import Redis

from wall.models import Event
from wall.redis_server import EmbeddedRedis
from wall.store import Store


class OffLoopback(RuntimeError):
    """A test tried to open a connection to an address off this machine's loopback."""


def _loopback_only(event: str, args: tuple[object, ...]) -> None:
    """Abort, before it happens, any connect or send of this process off loopback: a broken
    guard under test fails its test instead of sending traffic anywhere."""
    if event not in ("socket.connect", "socket.sendto"):
        return
    address = args[-1]
    if not isinstance(address, tuple) or not address or not isinstance(address[0], str):
        return  # a Unix socket path
    host = address[0].split("%")[0]
    if host == "localhost":
        return
    try:
        ip = ipaddress.ip_address(host)
        if ip.is_loopback or (isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped):
            if ip.is_loopback or ip.ipv4_mapped.is_loopback:  # type: ignore[union-attr]
                return
    except ValueError:
        pass
    raise OffLoopback(f"tests only connect to loopback, not {host}")


sys.addaudithook(_loopback_only)


@pytest.fixture(scope="session")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real Redis: REDIS_URL_TEST if set, else a Valkey server started for the session."""
    external = os.environ.get("REDIS_URL_TEST")
    if external:
        yield external
        return
    server = EmbeddedRedis(tmp_path_factory.mktemp("valkey"))
    yield server.start()
    server.stop()


@pytest.fixture
async def redis(redis_url: str) -> AsyncIterator[Redis]:
    """A client of the test Redis, emptied first so tests don't see each other's data."""
    client = Redis.from_url(redis_url, decode_responses=True)
    await client.flushall()
    yield client
    await client.aclose()


@pytest.fixture
async def store(redis: Redis) -> Store:
    """A store on the emptied test Redis."""
    return Store(redis, log_maxlen=1000)


@pytest.fixture
async def event(store: Store) -> Event:
    """A saved test event."""
    event = Event(slug="testevent", title="Test Event", hashtags=("testevent",), moderation="post")
    await store.save_event(event)
    return event


@pytest.fixture
def env(redis_url: str, tmp_path: Path) -> dict[str, str]:
    """Environment for subprocesses: the test Redis and a private data folder."""
    return {"REDIS_URL": redis_url, "DATA_DIR": str(tmp_path / "data"), "DEMO": "false"}


CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


# Module scope, not session: Playwright's sync API keeps an event loop running in the main
# thread while it is open, and pytest-asyncio cannot run the async tests after it.
@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    """A real headless Chromium (Debian's), driven by Playwright; skipped if not installed."""
    if not Path(CHROMIUM).exists():
        pytest.skip(f"browser tests need Chromium at {CHROMIUM} (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Run tests that use the browser last.

    Playwright's sync API keeps an event loop running in the main thread while the session
    browser is open, which would break the async tests that follow it.
    """
    items.sort(key=lambda item: "browser" in getattr(item, "fixturenames", ()))
