"""Recorded Mastodon payloads through the real path: fake server → run_source → Redis → HTML."""

from __future__ import annotations

import contextlib
import json
import re
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from ingest.sources.mastodon import MastodonSource
from server.app import create_app
from server.render import Renderer
from tests.fake_mastodon import CORPUS, TOKEN, FakeMastodon, local_media, recorded
from tests.fakes import serve
from tests.helpers import eventually
from tests.images import jpeg
from tests.ingest.sourcekit import running_source
from wall import details
from wall.models import Event, Post
from wall.moderation import State
from wall.settings import Settings
from wall.sources import SourceConfig, SourceRegistry
from wall.store import Store

STATUSES = (
    "timeline_tag_hoot.json",
    "status_cw.json",
    "status_poll.json",
    "status_card.json",
    "status_video.json",
    "status_edited.json",
    "status_quote.json",
    "status_mention.json",
    "status_docs_link_card.json",
)


def corpus_statuses(base: str) -> list[dict[str, Any]]:
    """Every recorded status, its media moved onto the fake at `base`."""
    found = []
    for name in STATUSES:
        data = recorded(name)
        found += data if isinstance(data, list) else [data]
    return [local_media(s, base) for s in found]


@pytest.fixture
async def fake() -> AsyncIterator[tuple[FakeMastodon, str]]:
    """A fake Mastodon serving the recorded statuses for any tag, and their media."""
    server = FakeMastodon(any_tag=True, remote_image=jpeg((96, 96)))
    async with serve(server.app()) as base:
        yield server, base


@pytest.fixture
async def paris(store: Store, event: Event) -> Event:
    """The test event, in Paris, started long before the recorded statuses."""
    changed = details.apply(
        event, {"timezone": "Europe/Paris", "starts_at": "2019-01-01T00:00:00+00:00"}
    )
    await store.save_event(changed)
    return changed


def running(
    store: Store,
    event: Event,
    base: str,
    tmp_path: Path,
    *,
    token: str = "",
    registry: SourceRegistry | None = None,
) -> contextlib.AbstractAsyncContextManager[MastodonSource]:
    """The Mastodon source running through run_source with a real photo pipeline."""
    config = SourceConfig.create("mastodon", event.slug, server=base, tag="hoot", token=token)
    return running_source(
        store,
        event,
        lambda client: MastodonSource(config, store, client, poll_interval=0.05),
        media=tmp_path / "media",
        registry=registry,
    )


def html_of(post: Post, zone: str = "Europe/Paris") -> str:
    """The post as every screen renders it."""
    return Renderer().post(post, zone=zone)


def behind_warning(html: str) -> str:
    """What a reader sees only after opening the content warning."""
    match = re.search(r"<details class=\"cw\">.*?</summary>(.*)</details>", html, re.DOTALL)
    return match.group(1) if match else ""


async def all_taken(store: Store, event: Event, n: int) -> dict[str, Post]:
    """Wait for n approved posts; them by native status id."""
    await eventually(
        lambda: _count(store, event, n), timeout=30, message=f"{n} posts taken from the corpus"
    )
    posts = await store.all_posts(event.slug)
    return {p.native_id.rpartition(":")[2]: p for p in posts}


async def _count(store: Store, event: Event, n: int) -> bool:
    return await store.count(event.slug, State.APPROVED) >= n


async def test_recorded_statuses_render_as_their_authors_wrote_them(
    store: Store,
    paris: Event,
    fake: tuple[FakeMastodon, str],
    tmp_path: Path,
    redis_url: str,
) -> None:
    """Every recorded status shows its text, links, mentions, warning, media, poll, card,
    quote and time as Mastodon's own client does, through the real source path."""
    server, base = fake
    server.statuses = corpus_statuses(base)
    async with running(store, paris, base, tmp_path):
        posts = await all_taken(store, paris, len(server.statuses))

    guardian = posts["103270115826048975"]
    shown = html_of(guardian)
    assert '<p>"I lost my inheritance with one wrong digit on my sort code"</p>' in shown
    full = "https://www.theguardian.com/money/2019/dec/07/i-lost-my-193000-inheritance-with-one-wrong-digit-on-my-sort-code"
    assert f'href="{full}"' in shown
    assert ">theguardian.com/money/2019/dec…</a>" in shown  # shown folded, as Mastodon does
    assert guardian.text.startswith(
        '"I lost my inheritance with one wrong digit on my sort code"\n\nhttps://www.theguardian'
    )
    assert recorded("status_docs_link_card.json")["card"]["title"] in shown
    assert "8 Dec 2019 04:48" in shown  # 03:48 UTC, in Paris, with its date

    warned = html_of(posts["117020586000687987"])
    assert '<span class="content-warning" dir="auto">Content warning</span>' in warned
    assert "Toot!" in behind_warning(warned)
    assert "Toot!" not in warned.split("<details")[0]

    poll = html_of(posts["117020582690282017"])
    assert re.search(
        r'<ol class="poll".*<li dir="auto">four twenty</li><li dir="auto">sixty-nine</li>', poll
    )

    video = posts["117020576440066974"]
    assert [p.kind for p in video.photos] == ["video"]
    assert video.photos[0].url.startswith("/media/") and video.photos[0].alt == "me when a cat"
    assert '<span class="play"' in html_of(video)

    mention = html_of(posts[recorded("status_mention.json")["id"]])
    assert 'href="http://localhost:3000/@mastodonpy_test"' in mention
    assert "todo funny text here" in mention

    quote = posts["117020582925004921"]
    assert quote.quote is not None and quote.quote.url.endswith("/117020582917124092")
    quoted = html_of(quote)
    assert '<blockquote class="quote">' in quoted and "RE:" not in quoted

    card = html_of(posts["117020609135389699"])
    assert '<a class="card" href="http://example.org/"' in card and "Example Domain" in card

    hoot = posts["117020593741189701"]
    assert hoot.text == "#hoot (hashtag toot)"
    assert "1 Aug 15:55" in html_of(hoot)  # 13:55 UTC on another day, shown in Paris

    # The pages themselves, served by the app from the same Redis.
    settings = Settings(redis_url=redis_url, data_dir=tmp_path / "data", demo=False)
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://wall.test") as http:
            for screen in ("wall", "live"):
                page = (await http.get(f"/e/{paris.slug}/{screen}")).text
                assert "8 Dec 2019 04:48" in page, screen
                article = page.split(f'id="{posts["117020586000687987"].dom_id}"')[1]
                article = article.split("</article>")[0]
                assert "Toot!" in behind_warning(article), screen
                assert "Toot!" not in article.split("</summary>")[0], screen
                assert ">theguardian.com/money/2019/dec…</a>" in page


async def test_custom_emoji_show_as_small_local_images(
    store: Store, paris: Event, fake: tuple[FakeMastodon, str], tmp_path: Path
) -> None:
    """A status's custom emoji (the documented entity) show as images stored here, alt :code:."""
    server, base = fake
    status = recorded("timeline_tag_hoot.json")[0]
    status["content"] = "<p>so cute :blobaww: :unknown:</p>"
    status["emojis"] = [recorded("custom_emoji.json")]
    server.statuses = [local_media(status, base)]
    async with running(store, paris, base, tmp_path):
        posts = await all_taken(store, paris, 1)
    shown = html_of(posts[status["id"]])
    assert re.search(r'<img class="emoji" src="/media/[^"]+" alt=":blobaww:"', shown)
    assert ":unknown:" in shown  # no image for it: the text stays
    assert any("blobaww.png" in path for path in server.remote_requests)


async def test_documented_streaming_frames_add_and_delete(
    store: Store, paris: Event, fake: tuple[FakeMastodon, str], tmp_path: Path
) -> None:
    """The streaming API's documented frames: an update is shown, a delete removes it,
    filters_changed is ignored."""
    server, base = fake
    frames = [
        json.loads(line) for line in (CORPUS / "streaming_frames.jsonl").read_text().splitlines()
    ]
    update, delete, filters = frames
    status = json.loads(update["payload"])
    async with running(store, paris, base, tmp_path, token=TOKEN):
        await eventually(lambda: bool(server.sockets), message="stream subscribed")
        await server.push_raw(json.dumps(update))
        await server.push_raw(json.dumps(filters))
        posts = await all_taken(store, paris, 1)
        shown = html_of(posts[status["id"]])
        assert "exit the inner nvim because I mapped escape to the parent vim instance 😂" in shown
        assert "@tobtobxx@fosstodon.org" in shown
        await server.push_raw(json.dumps({**delete, "payload": status["id"]}))
        await eventually(
            lambda: _gone(store, paris, f"mastodon:{urlhost(base)}:{status['id']}"),
            message="deleted status gone",
        )


def urlhost(base: str) -> str:
    """The host:port of a base URL."""
    return base.split("//", 1)[1]


async def _gone(store: Store, event: Event, post_id: str) -> bool:
    return await store.get_state(event.slug, post_id) is None
