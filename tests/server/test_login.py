"""Logging in: a stranger can't lock an account's owner out, and hashing never stalls the loop."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest
from redis.asyncio import Redis
from starlette.testclient import TestClient

from server.app import create_app
from server.auth import COOKIE, IP_FREE
from tests.server.moderation_helpers import login, seed
from wall.accounts import Accounts, Hashing
from wall.settings import Settings

STRANGER = ("203.0.113.9", 40000)  # documentation addresses: ASGI scope values, no traffic
OWNER = ("198.51.100.7", 40000)


@pytest.fixture
def app(redis_url: str, tmp_path: Path) -> Iterator[Settings]:
    """Settings for the real app on the test Redis."""
    yield Settings(redis_url=redis_url, data_dir=tmp_path / "data", demo=False)


def client_from(settings: Settings, address: tuple[str, int]) -> TestClient:
    """A client of a fresh app, its requests coming from `address`."""
    return TestClient(create_app(settings), base_url="http://testserver", client=address)


def test_a_stranger_failing_on_purpose_cannot_lock_out_the_owner(
    app: Settings, redis_url: str
) -> None:
    """Failures slow down the address that makes them, for that account: the stranger gets
    429, the owner logging in from elsewhere with the right password gets in at once."""
    seed(redis_url, moderators={"mod@example.org": "testevent"})
    with client_from(app, STRANGER) as stranger:
        codes = [login(stranger, "mod@example.org", "guess").status_code for _ in range(8)]
    assert codes[:5] == [401] * 5 and 429 in codes
    with client_from(app, OWNER) as owner:
        assert login(owner, "mod@example.org").status_code == 303
        assert COOKIE in owner.cookies


def test_one_address_trying_many_accounts_is_slowed(app: Settings, redis_url: str) -> None:
    """Password spraying from one address (a new account each time) is slowed down too."""
    seed(redis_url, moderators={"mod@example.org": "testevent"})
    with client_from(app, STRANGER) as stranger:
        codes = [
            login(stranger, f"user{n}@example.org", "guess").status_code for n in range(IP_FREE + 1)
        ]
        assert codes[:IP_FREE] == [401] * IP_FREE
        assert codes[IP_FREE] == 429
        assert login(stranger, "mod@example.org").status_code == 429
    with client_from(app, OWNER) as owner:
        assert login(owner, "mod@example.org").status_code == 303


async def test_password_hashing_runs_off_the_event_loop_a_few_at_a_time(redis: Redis) -> None:
    """Eight logins at once: at most the cap hash together, in threads, while the event loop
    keeps running other work (a ticker that a blocking hash would starve)."""
    hashing = Hashing(limit=2)
    accounts = Accounts(redis, hashing=hashing)
    await accounts.add("mod@example.org", "correct horse battery", event="testevent")
    ticks = 0
    done = asyncio.Event()

    async def ticker() -> None:
        nonlocal ticks
        while not done.is_set():
            ticks += 1
            await asyncio.sleep(0)

    task = asyncio.create_task(ticker())
    results = await asyncio.gather(
        *(
            accounts.authenticate("mod@example.org", "correct horse battery" if n % 2 else "x")
            for n in range(8)
        )
    )
    done.set()
    await task
    assert [r is not None for r in results] == [n % 2 == 1 for n in range(8)]
    assert hashing.peak == 2 and hashing.running == 0
    # Eight hashes take a good part of a second; a loop blocked by them would tick ~16 times.
    assert ticks > 200
