"""A logged-out moderator's console socket closes within seconds, even after a Redis outage."""

from __future__ import annotations

import asyncio
from pathlib import Path

from redis.asyncio import Redis
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from server.auth import COOKIE, Auth
from tests.faults.kit import Valkey, Web
from tests.helpers import deadline, eventually
from wall.accounts import Accounts
from wall.models import Event
from wall.redis_server import free_port
from wall.settings import Settings
from wall.store import Store

OUTAGE = 5.0  # seconds Redis stays away: several session checks fail meanwhile
SECRET = "console-session-test-key"
CLOSED_WITHIN = 2.0  # seconds from logout to the socket's 4401


async def _healthz(web: Web) -> int:
    import httpx

    async with httpx.AsyncClient(timeout=deadline(5)) as http:
        return (await http.get(f"{web.base}/healthz")).status_code


async def test_logout_after_outage_closes_console_socket(valkey: Valkey, tmp_path: Path) -> None:
    """After Redis comes back, logging out closes an open console socket with 4401 within 2 s."""
    redis = Redis.from_url(valkey.url, decode_responses=True)
    await Store(redis).save_event(Event(slug="testevent", title="Test"))
    accounts = Accounts(redis)
    await accounts.add("mod@example.org", "correct horse battery", event="testevent")
    session = await accounts.open_session("mod@example.org")
    settings = Settings(secret_key=SECRET)
    cookie = Auth.create(accounts, settings).cookie_value(session)
    await redis.aclose()
    env = {"REDIS_URL": valkey.url, "DATA_DIR": str(tmp_path / "data"), "SECRET_KEY": SECRET}
    web = await asyncio.to_thread(Web(env, free_port()).start)
    try:
        async with connect(
            f"{web.ws_base}/e/testevent/moderate/ws",
            additional_headers={"Cookie": f"{COOKIE}={cookie}"},
        ) as ws:
            await asyncio.to_thread(valkey.stop)
            loop = asyncio.get_running_loop()
            back_at = loop.time() + OUTAGE
            await eventually(lambda: _is(web, 503), timeout=10, message="the outage seen")
            await asyncio.sleep(max(0.0, back_at - loop.time()))  # the outage itself
            await asyncio.to_thread(valkey.start)
            await eventually(lambda: _is(web, 200), timeout=10, message="healthy again")

            redis = Redis.from_url(valkey.url, decode_responses=True)
            await Accounts(redis).close_session(session.sid)  # what POST /logout does
            logged_out = loop.time()
            code = await _close_code(ws)
            took = loop.time() - logged_out
            tail = "".join(web.lines[-20:])
            assert code == 4401, f"closed with {code} after {took:.1f}s\n{tail}"
            assert took < deadline(CLOSED_WITHIN), f"closed {took:.1f}s after logout\n{tail}"
    finally:
        await asyncio.to_thread(web.stop)
        await redis.aclose()


async def _close_code(ws: ClientConnection) -> int | None:
    """Read until the server closes the socket; its close code (None: none, or still open)."""
    try:
        async with asyncio.timeout(deadline(10 * CLOSED_WITHIN)):
            while True:
                await ws.recv()
    except ConnectionClosed as exc:
        return exc.rcvd.code if exc.rcvd is not None else None
    except TimeoutError:
        return None


async def _is(web: Web, status: int) -> bool:
    return await _healthz(web) == status
