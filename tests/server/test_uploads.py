"""Attendee uploads at /e/{slug}/post against the real web server (uvicorn) and Redis."""

from __future__ import annotations

import asyncio
import io
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from PIL import Image

from tests.images import gps_exif, jpeg
from tests.processes import WebServer
from wall.models import Event
from wall.moderation import State
from wall.store import Store


@pytest.fixture
async def web(
    env: dict[str, str], event: Event
) -> AsyncIterator[tuple[WebServer, httpx.AsyncClient]]:
    """The real web server with a small upload limit and rate limit, and a client for it."""
    server = WebServer({**env, "UPLOAD_RATE": "3", "MEDIA_MAX_BYTES": "200000"}).start()
    try:
        async with httpx.AsyncClient(base_url=server.base, timeout=10) as client:
            yield server, client
    finally:
        server.stop()


async def test_upload_with_gps_photo_lands_pending_with_a_clean_local_photo(
    web: tuple[WebServer, httpx.AsyncClient], store: Store, event: Event, env: dict[str, str]
) -> None:
    """An attendee's text and photo go to the moderation queue; the photo is local, GPS gone, cached long."""
    _, client = web
    form = await client.get(f"/e/{event.slug}/post")
    assert (
        form.status_code == 200
        and 'accept="image/*"' in form.text
        and 'name="website"' in form.text
    )
    response = await client.post(
        f"/e/{event.slug}/post",
        data={"text": "Great talk!", "name": "Zoé", "website": ""},
        files={"photo": ("IMG_0001.JPG", jpeg((80, 40), gps_exif()), "image/jpeg")},
    )
    assert response.status_code == 201 and "waiting for a moderator" in response.text
    assert await store.count(event.slug, State.APPROVED) == 0
    [post] = await store.posts(event.slug, State.PENDING)
    assert post.text == "Great talk!" and post.author.name == "Zoé" and post.source == "upload"
    media = await client.get(post.photos[0].url)
    assert media.status_code == 200 and "immutable" in media.headers["cache-control"]
    stored = Image.open(io.BytesIO(media.content))
    assert not stored.getexif() and (stored.width, stored.height) == (40, 80)
    local = Path(env["DATA_DIR"], "media", post.photos[0].url.removeprefix("/media/"))
    assert await asyncio.to_thread(local.is_file)


async def test_refusals_have_clear_messages_and_store_nothing(
    web: tuple[WebServer, httpx.AsyncClient], store: Store, event: Event
) -> None:
    """Too long, too big, not an image, empty: each refused with a message saying why."""
    _, client = web
    url = f"/e/{event.slug}/post"
    long = await client.post(url, data={"text": "x" * 501})
    assert long.status_code == 400 and "under 500 characters" in long.text
    script = await client.post(
        url,
        data={"text": "hi"},
        files={"photo": ("cat.jpg", b"<script>alert(1)</script>", "image/jpeg")},
    )
    assert script.status_code == 400 and "couldn&#39;t read that photo" in script.text
    big = await client.post(url, files={"photo": ("big.jpg", b"\xff" * 400_000, "image/jpeg")})
    assert big.status_code == 413 and "too big" in big.text
    empty = await client.post(url, data={"text": "  "})
    assert empty.status_code == 400 and "Write something" in empty.text
    assert await store.count(event.slug, State.PENDING) == 0


async def test_honeypot_and_rate_limit(
    web: tuple[WebServer, httpx.AsyncClient], store: Store, event: Event
) -> None:
    """A filled honeypot is silently dropped; past the per-IP limit uploads get 429."""
    _, client = web
    url = f"/e/{event.slug}/post"
    bot = await client.post(url, data={"text": "buy now", "website": "http://spam.example"})
    assert bot.status_code == 200 and "waiting for a moderator" in bot.text
    assert await store.count(event.slug, State.PENDING) == 0
    codes = [(await client.post(url, data={"text": f"post {i}"})).status_code for i in range(4)]
    assert codes == [201, 201, 201, 429]
    assert await store.count(event.slug, State.PENDING) == 3
