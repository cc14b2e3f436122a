"""The ASGI app in-process: pages, health, headers and the live websocket."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Iterator

import pytest
from starlette.testclient import TestClient

from server.app import create_app
from tests.helpers import post_dict
from wall.models import Event, Post
from wall.moderation import State
from wall.settings import Settings
from wall.store import Store


@pytest.fixture
def client(settings: Settings, store: Store, event: Event) -> Iterator[TestClient]:
    with TestClient(create_app(settings)) as client:
        yield client


def ingest(settings: Settings, native_id: str, state: State = State.APPROVED) -> None:
    """Ingest from outside the app's loop, as the worker process would."""

    async def go() -> None:
        from redis.asyncio import Redis

        redis = Redis.from_url(settings.redis_url, decode_responses=True)
        await Store(redis).ingest("testevent", Post.from_dict(post_dict(native_id)), state)
        await redis.aclose()

    asyncio.run(go())


def test_index_lists_events(client: TestClient) -> None:
    """The front page links each event's wall and live page."""
    html = client.get("/").text
    assert "Test Event" in html and "/e/testevent/wall" in html


def test_wall_renders_approved_posts_only(client: TestClient, settings: Settings) -> None:
    """The wall's first render shows approved posts and never pending ones."""
    ingest(settings, "shown")
    ingest(settings, "held", State.PENDING)
    html = client.get("/e/testevent/wall").text
    assert 'id="post-test_shown"' in html
    assert "post-test_held" not in html


def test_unknown_event_is_404(client: TestClient) -> None:
    """A wall for an event that does not exist is a clear 404."""
    response = client.get("/e/nope/wall")
    assert response.status_code == 404


def test_security_headers(client: TestClient) -> None:
    """Pages carry a strict CSP without inline script, and nosniff."""
    response = client.get("/e/testevent/live")
    csp = response.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp
    assert "frame-ancestors 'none'" in csp
    assert response.headers["x-content-type-options"] == "nosniff"


def test_healthz_ok(client: TestClient) -> None:
    """Health is 200 while Redis answers."""
    assert client.get("/healthz").status_code == 200


def test_healthz_reports_redis_outage(settings: Settings) -> None:
    """Health is 503 when Redis is unreachable."""
    from wall.redis_server import free_port

    dead = dataclasses.replace(settings, redis_url=f"redis://127.0.0.1:{free_port()}/0")
    with TestClient(create_app(dead)) as client:
        response = client.get("/healthz")
    assert response.status_code == 503
    assert "redis unreachable" in response.text


def test_websocket_receives_live_fragment(client: TestClient, settings: Settings) -> None:
    """A post ingested while a client is connected arrives as an out-of-band fragment."""
    page = client.get("/e/testevent/wall").text
    since = page.split('data-since="')[1].split('"')[0]
    with client.websocket_connect(f"/e/testevent/ws?since={since}") as ws:
        ingest(settings, "live")
        message = ws.receive_text()
    assert message.startswith('<div hx-swap-oob="afterbegin:#posts" data-change-id="')
    assert 'id="post-test_live"' in message


def test_websocket_unknown_event_closed(client: TestClient) -> None:
    """A websocket for an unknown event is refused."""
    from starlette.websockets import WebSocketDisconnect

    with pytest.raises(WebSocketDisconnect) as closed, client.websocket_connect("/e/nope/ws"):
        pass
    assert closed.value.code == 4404


@pytest.mark.parametrize(
    ("layout", "declared"),
    [
        ("grid", 'data-engine="grid"'),
        ("mosaic", 'data-engine="mosaic"'),
        ("spotlight", 'data-cycles="1" data-fit-photo="1"'),
        ("ticker", 'data-cycles="1"'),
    ],
)
def test_wall_page_declares_what_its_layout_does(
    client: TestClient, layout: str, declared: str
) -> None:
    """The wall's script learns from the page whether the layout cycles or is placed, and how."""
    page = client.get(f"/e/testevent/wall?layout={layout}").text
    assert f'data-layout="{layout}"{" " + declared}' in page
