"""Absolute links (feeds, embed code, QR code) never come from an untrusted Host header."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import AsyncIterator

import httpx
import pytest

from server.app import create_app
from server.site import is_local_host
from tests.helpers import post_dict
from wall.models import Event, Post
from wall.moderation import State
from wall.settings import Settings
from wall.store import Store


async def _get(settings: Settings, host: str, path: str) -> str:
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url=f"http://{host}") as http:
            response = await http.get(path)
    assert response.status_code == 200
    return response.text


@pytest.fixture
async def shown(store: Store, event: Event) -> AsyncIterator[Event]:
    """An event with one approved post."""
    await store.ingest(event.slug, Post.from_dict(post_dict("one")), State.APPROVED)
    yield event


@pytest.mark.parametrize("path", ["feed.json", "feed.atom", "live", "wall"])
async def test_a_forged_host_never_reaches_the_links(
    app_settings: Settings, shown: Event, path: str
) -> None:
    """Without PUBLIC_URL, a Host that is neither local nor allowed is not used in feeds,
    the embed code or the QR code: the links name the local address instead."""
    text = await _get(app_settings, "evil.example", f"/e/{shown.slug}/{path}")
    text = text.replace("<wbr>", "")  # the wall shows its short URL with line-break hints
    assert "evil.example" not in text
    assert "127.0.0.1:" in text


async def test_allowed_local_and_configured_hosts_are_used(
    app_settings: Settings, shown: Event
) -> None:
    """An allowed host, localhost, or PUBLIC_URL (which wins) builds the links."""
    feed = json.loads(await _get(app_settings, "wall.test", f"/e/{shown.slug}/feed.json"))
    assert feed["home_page_url"].startswith("http://wall.test/")
    local = await _get(app_settings, "localhost:8000", f"/e/{shown.slug}/feed.atom")
    assert "http://localhost:8000/e/" in local
    public = dataclasses.replace(app_settings, public_url="https://wall.example.org/")
    wall = (await _get(public, "evil.example", f"/e/{shown.slug}/wall")).replace("<wbr>", "")
    assert "wall.example.org/e/" in wall and "evil.example" not in wall


def test_local_hosts() -> None:
    """localhost, *.localhost and loopback addresses are this machine; nothing else is."""
    for host in ("localhost", "LOCALHOST.", "wall.localhost", "127.0.0.1", "127.8.9.1", "[::1]"):
        assert is_local_host(host), host
    for host in ("evil.example", "localhost.evil.example", "10.0.0.1", "0.0.0.0"):
        assert not is_local_host(host), host
