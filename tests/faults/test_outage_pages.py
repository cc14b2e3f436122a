"""Redis down: pages answer 503 with a page that retries, sockets close with 1013, never a 500;
the moderators' console says a decision was not saved and shows the server unreachable."""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest
from redis.asyncio import Redis
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from server.auth import COOKIE, Auth
from tests.faults.kit import Valkey, Web
from tests.helpers import deadline, post_dict
from wall.accounts import Accounts
from wall.models import Event, Post
from wall.moderation import State
from wall.redis_server import free_port
from wall.settings import Settings
from wall.store import Store

SECRET = "outage-pages-test-key"
PAGES = ["/", "/e/testevent/live", "/e/testevent/wall", "/e/testevent/recap"]
PAGES += ["/e/testevent/feed.json", "/e/testevent/moderate", "/e/testevent/gallery"]


async def _seed(url: str) -> str:
    """An event with one pending post and a moderator; that moderator's session cookie."""
    redis = Redis.from_url(url, decode_responses=True)
    try:
        store = Store(redis)
        await store.save_event(Event(slug="testevent", title="Test"))
        await store.ingest("testevent", Post.from_dict(post_dict("held")), State.PENDING)
        accounts = Accounts(redis)
        await accounts.add("mod@example.org", "correct horse battery", event="testevent")
        session = await accounts.open_session("mod@example.org")
        return Auth.create(accounts, Settings(secret_key=SECRET)).cookie_value(session)
    finally:
        await redis.aclose()


def _web(valkey: Valkey, tmp_path: Path) -> Web:
    env = {"REDIS_URL": valkey.url, "DATA_DIR": str(tmp_path / "data"), "SECRET_KEY": SECRET}
    return Web(env, free_port()).start()


async def _close_code(url: str, cookie: str) -> int | None:
    headers = {"Cookie": f"{COOKIE}={cookie}"}
    try:
        async with connect(url, additional_headers=headers, open_timeout=deadline(10)) as ws:
            async with asyncio.timeout(deadline(10)):
                await ws.recv()
    except ConnectionClosed as exc:
        return exc.rcvd.code if exc.rcvd is not None else None
    return None


async def test_pages_and_sockets_in_an_outage(valkey: Valkey, tmp_path: Path) -> None:
    """Every page 503 with a retrying page (JSON for the console's calls); sockets 1013."""
    cookie = await _seed(valkey.url)
    web = await asyncio.to_thread(_web, valkey, tmp_path)
    try:
        await asyncio.to_thread(valkey.stop)
        cookies = {COOKIE: cookie}
        async with httpx.AsyncClient(base_url=web.base, cookies=cookies, timeout=30) as http:
            for path in PAGES:
                page = await http.get(path)
                assert page.status_code == 503, (path, page.status_code, page.text[:200])
                assert 'http-equiv="refresh"' in page.text and page.headers["retry-after"]
            decided = await http.post(
                "/e/testevent/moderate/decide",
                data={"post_id": "test:held", "action": "approve"},
                headers={"accept": "application/json"},
            )
            assert decided.status_code == 503
            assert decided.json()["message"].startswith("Not saved")
        for path in ("/e/testevent/ws?since=0-0", "/e/testevent/moderate/ws"):
            assert await _close_code(f"{web.ws_base}{path}", cookie) == 1013, path
        bad = [x for x in web.lines if "Traceback" in x or " 500" in x]
        assert not bad, "".join(web.lines[-30:])
    finally:
        await asyncio.to_thread(web.stop)


@pytest.mark.browser
def test_console_says_not_saved_when_redis_is_down(
    browser: Any, valkey: Valkey, tmp_path: Path
) -> None:
    """An approve in an outage: the toast says it was not saved, the dot 'server unreachable'."""
    # In a thread: Playwright's sync API keeps an event loop running in this one.
    with ThreadPoolExecutor(1) as pool:
        cookie = pool.submit(asyncio.run, _seed(valkey.url)).result()
    web = _web(valkey, tmp_path)
    context = browser.new_context()
    try:
        context.add_cookies([{"name": COOKIE, "value": cookie, "url": web.base}])
        page = context.new_page()
        page.goto(f"{web.base}/e/testevent/moderate")
        page.wait_for_selector("body[data-connection=online]", state="attached")
        valkey.stop()
        page.locator("#mod-post-test_held button.approve").click()
        toast = page.locator("#toast")
        toast.wait_for(state="visible", timeout=deadline(30) * 1000)
        assert toast.inner_text().startswith("Not saved"), toast.inner_text()
        status = page.locator("#status")
        assert status.get_attribute("title") == "server unreachable"
        assert page.locator("#mod-post-test_held").count() == 1  # still there to decide later
    finally:
        context.close()
        web.stop()
