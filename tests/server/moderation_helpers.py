"""Helpers for the moderation tests: seed Redis synchronously, log in through the real form."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from redis.asyncio import Redis
from starlette.testclient import TestClient

from tests.helpers import post_dict
from wall.accounts import Accounts
from wall.mod_store import ModerationStore
from wall.models import Event, Post
from wall.moderation import State
from wall.store import Store

T = TypeVar("T")
PASSWORD = "correct horse battery"


def run(redis_url: str, work: Callable[[Store, Accounts, ModerationStore], Awaitable[T]]) -> T:
    """Run async setup against the test Redis from a synchronous test."""

    async def main() -> T:
        redis = Redis.from_url(redis_url, decode_responses=True)
        try:
            return await work(Store(redis), Accounts(redis), ModerationStore(redis))
        finally:
            await redis.aclose()

    return asyncio.run(main())


def seed(
    redis_url: str,
    *,
    moderators: dict[str, str] | None = None,
    admins: tuple[str, ...] = (),
    pending: tuple[str, ...] = (),
    events: tuple[str, ...] = ("testevent", "other"),
) -> None:
    """Flush Redis; create events (pre-moderated), moderators (email -> event) and pending posts."""

    async def work(store: Store, accounts: Accounts, mod: ModerationStore) -> None:
        await store.redis.flushall()
        for slug in events:
            await store.save_event(Event(slug=slug, title=slug.title()))
        for email, slug in (moderators or {}).items():
            await accounts.add(email, PASSWORD, event=slug)
        for email in admins:
            await accounts.add(email, PASSWORD, admin=True)
        for native_id in pending:
            await store.ingest("testevent", Post.from_dict(post_dict(native_id)), State.PENDING)

    run(redis_url, work)


def login(client: TestClient, email: str, password: str = PASSWORD) -> Any:
    """Log in through the login form (with its CSRF cookie); returns the response."""
    page = client.get("/login")
    token = re.search(r'name="csrf" value="([^"]+)"', page.text)
    assert token, page.text
    return client.post(
        "/login",
        data={"email": email, "password": password, "csrf": token.group(1), "next": "/"},
        follow_redirects=False,
    )


def csrf_of(client: TestClient, slug: str = "testevent") -> str:
    """The CSRF token the console page gives this session."""
    page = client.get(f"/e/{slug}/moderate")
    assert page.status_code == 200, page.text
    match = re.search(r'<meta name="csrf-token" content="([^"]+)"', page.text)
    assert match
    return match.group(1)


def state_of(redis_url: str, post_id: str, slug: str = "testevent") -> str | None:
    """A post's state, read straight from the store."""

    async def work(store: Store, accounts: Accounts, mod: ModerationStore) -> str | None:
        state = await store.get_state(slug, post_id)
        return state.value if state else None

    return run(redis_url, work)
