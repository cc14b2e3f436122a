"""/metrics: behind METRICS_TOKEN when it is set; without it, no private per-event counts."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator

import httpx
import pytest

from server.app import create_app
from tests.helpers import post_dict
from wall.models import Event, Post
from wall.moderation import State
from wall.settings import Settings
from wall.store import Store


@pytest.fixture
async def seeded(store: Store, event: Event) -> Event:
    """An event with a post in each state."""
    for n, state in enumerate(State):
        await store.ingest(event.slug, Post.from_dict(post_dict(f"m{n}")), state)
    return event


async def _client(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://wall.test") as http:
            yield http


async def test_without_a_token_metrics_count_only_public_posts(
    app_settings: Settings, seeded: Event
) -> None:
    """Open /metrics tells nobody how many posts an event holds pending, rejected or hidden."""
    async for http in _client(app_settings):
        text = (await http.get("/metrics")).text
    assert f'eventwall_posts{{event="{seeded.slug}",state="approved"}} 1.0' in text
    for private in ("pending", "rejected", "hidden"):
        assert f'state="{private}"' not in text
    assert "eventwall_clients " in text


async def test_with_a_token_metrics_are_for_its_bearers_only(
    app_settings: Settings, seeded: Event
) -> None:
    """With METRICS_TOKEN: 401 without it or with a wrong one; every state for its bearer."""
    settings = dataclasses.replace(app_settings, metrics_token="s3cret-token")
    async for http in _client(settings):
        assert (await http.get("/metrics")).status_code == 401
        wrong = await http.get("/metrics", headers={"authorization": "Bearer nope"})
        assert wrong.status_code == 401 and "eventwall_posts" not in wrong.text
        right = await http.get("/metrics", headers={"authorization": "Bearer s3cret-token"})
    assert right.status_code == 200
    for state in State:
        assert f'eventwall_posts{{event="{seeded.slug}",state="{state.value}"}} 1.0' in right.text
