"""An in-process app on the test Redis, its lifespan run, and an httpx client for it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from server.app import create_app
from wall.models import Event
from wall.settings import Settings


@pytest.fixture
def settings(redis_url: str, tmp_path: Path) -> Settings:
    """Settings for the real app on the test Redis, with a private data folder, no demo."""
    return Settings(redis_url=redis_url, data_dir=tmp_path / "data", demo=False)


@pytest.fixture
def app_settings(redis_url: str, tmp_path: Path) -> Settings:
    """Settings for an in-process app: small pages, so paging is exercised with few posts."""
    return Settings(
        redis_url=redis_url,
        data_dir=tmp_path / "data",
        demo=False,
        page_size=5,
        embed_origins="https://organizer.example https://blog.example:8443",
        allowed_hosts="wall.test",  # the in-process client's host, for absolute links
    )


@pytest.fixture
async def client(app_settings: Settings, event: Event) -> AsyncIterator[httpx.AsyncClient]:
    """A plain HTTP client (no JavaScript) of the app, its lifespan running."""
    app = create_app(app_settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://wall.test") as http:
            yield http
