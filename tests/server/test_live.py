"""The live page and its history over plain HTTP: what a reader without JavaScript gets."""

from __future__ import annotations

import dataclasses
import re
from datetime import UTC, datetime, timedelta
from html.parser import HTMLParser

import httpx
import pytest

from server.app import create_app
from server.headers import frame_ancestors
from tests.helpers import post_dict
from wall.models import Event, Post
from wall.moderation import State
from wall.settings import Settings
from wall.store import Store

BASE = datetime(2026, 5, 1, 19, 0, tzinfo=UTC)


def at(native_id: str, minute: int, **extra: object) -> Post:
    created = (BASE + timedelta(minutes=minute)).isoformat()
    return Post.from_dict(post_dict(native_id, created_at=created, **extra))


class Page(HTMLParser):
    """The bits of a page the tests look at: article ids, links, meta tags, images."""

    def __init__(self, html: str) -> None:
        super().__init__()
        self.articles: list[str] = []
        self.links: dict[str, str] = {}
        self.meta: dict[str, str] = {}
        self.images: list[dict[str, str | None]] = []
        self.attrs_by_id: dict[str, dict[str, str | None]] = {}
        self.feed(html)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if a.get("id"):
            self.attrs_by_id[str(a["id"])] = a
        if tag == "article":
            self.articles.append(str(a["id"]))
        elif tag == "a" and a.get("id"):
            self.links[str(a["id"])] = str(a.get("href"))
        elif tag == "meta" and (a.get("property") or a.get("name")):
            self.meta[str(a.get("property") or a.get("name"))] = str(a.get("content"))
        elif tag == "img":
            self.images.append(a)


async def seed(store: Store, event: Event, count: int) -> list[Post]:
    posts = [at(f"p{i:02d}", i) for i in range(count)]
    for post in posts:
        await store.ingest(event.slug, post, State.APPROVED)
    return posts


async def test_live_page_without_javascript_shows_latest_and_links_older(
    client: httpx.AsyncClient, store: Store, event: Event
) -> None:
    """Without JavaScript the live page lists the newest page of approved posts, photos
    sized, and a plain link that pages back through the rest."""
    photo = {"url": "/media/a.jpg", "width": 800, "height": 600, "alt": "The stage"}
    await seed(store, event, 7)
    await store.ingest(event.slug, at("photo", 30, photos=[photo]), State.APPROVED)
    await store.ingest(event.slug, at("pending", 40), State.PENDING)
    response = await client.get("/e/testevent/live")
    assert response.status_code == 200
    assert response.headers["cache-control"] == "no-store"
    page = Page(response.text)
    assert page.articles == ["post-test_photo", *[f"post-test_p{i:02d}" for i in (6, 5, 4, 3)]]
    stage = next(i for i in page.images if i.get("alt") == "The stage")
    assert (stage["width"], stage["height"]) == ("800", "600")
    assert page.attrs_by_id["posts"]["aria-live"] == "polite"
    assert page.meta["og:title"] == "Test Event"
    assert page.meta["og:url"] == "http://wall.test/e/testevent/live"
    assert page.meta["og:image"] == "http://wall.test/media/a.jpg"
    assert "/e/testevent/embed" in response.text  # the embed snippet

    older = await client.get(page.links["load-older"])
    assert older.status_code == 200 and "etag" in older.headers
    history = Page(older.text)
    assert history.articles == [f"post-test_p{i:02d}" for i in (2, 1, 0)]
    assert "ws-connect" not in older.text
    assert "load-older" not in history.links  # the first post has been reached


async def test_load_older_partial_never_skips_or_repeats_while_posts_arrive(
    client: httpx.AsyncClient, store: Store, event: Event
) -> None:
    """Paging the htmx partial by the last post's cursor, with posts arriving between
    requests (even ones timed before the cursor), shows each earlier post exactly once."""
    initial = await seed(store, event, 13)
    page = Page((await client.get("/e/testevent/live")).text)
    shown = list(page.articles)
    before = page.attrs_by_id["load-older"]["data-before"]
    arrivals = iter(range(100, 200))
    while before:
        for _ in range(3):
            await store.ingest(event.slug, at(f"new{next(arrivals)}", 50), State.APPROVED)
        response = await client.get("/e/testevent/posts", params={"before": before})
        assert response.status_code == 200
        part = Page(response.text)
        shown += part.articles
        nav = part.attrs_by_id["older-nav"]
        assert nav["hx-swap-oob"] == "outerHTML"
        before = (part.attrs_by_id.get("load-older") or {}).get("data-before")
    assert len(shown) == len(set(shown))
    assert shown == [p.dom_id for p in reversed(initial)]


@pytest.mark.parametrize(
    "path", ["/e/testevent/feed.json", "/e/testevent/feed.atom", "/e/testevent/gallery"]
)
async def test_history_pages_answer_304_to_a_matching_etag(
    client: httpx.AsyncClient, store: Store, event: Event, path: str
) -> None:
    """History pages carry an ETag and answer 304 while nothing changed, 200 after."""
    await seed(store, event, 2)
    first = await client.get(path)
    etag = first.headers["etag"]
    again = await client.get(path, headers={"if-none-match": etag})
    assert again.status_code == 304 and again.content == b""
    await store.ingest(event.slug, at("late", 9, photos=[{"url": "/media/b.jpg"}]), State.APPROVED)
    changed = await client.get(path, headers={"if-none-match": etag})
    assert changed.status_code == 200 and changed.headers["etag"] != etag


async def test_older_partial_answers_304_and_rejects_bad_cursor(
    client: httpx.AsyncClient, store: Store, event: Event
) -> None:
    """A page before a cursor is cacheable by ETag; a malformed cursor is a 400."""
    await seed(store, event, 8)
    cursor = Page((await client.get("/e/testevent/live")).text).attrs_by_id["load-older"]
    params = {"before": str(cursor["data-before"])}
    first = await client.get("/e/testevent/posts", params=params)
    again = await client.get(
        "/e/testevent/posts", params=params, headers={"if-none-match": first.headers["etag"]}
    )
    assert again.status_code == 304
    assert (await client.get("/e/testevent/posts", params={"before": "nope"})).status_code == 400
    assert (await client.get("/e/testevent/live", params={"before": "x.y"})).status_code == 400


async def test_embed_alone_may_be_framed_by_the_configured_sites(
    client: httpx.AsyncClient, store: Store, event: Event
) -> None:
    """The embed's CSP names EMBED_ORIGINS as frame-ancestors; every other page stays unframeable."""
    await seed(store, event, 1)
    embed = await client.get("/e/testevent/embed")
    assert embed.status_code == 200
    csp = embed.headers["content-security-policy"]
    assert "frame-ancestors https://organizer.example https://blog.example:8443" in csp
    assert "script-src 'self'" in csp
    assert "x-frame-options" not in embed.headers
    assert len(embed.headers.get_list("content-security-policy")) == 1
    assert "post-test_p00" in embed.text and 'ws-connect="/e/testevent/ws?page=embed"' in embed.text
    live = await client.get("/e/testevent/live")
    assert "frame-ancestors 'none'" in live.headers["content-security-policy"]
    assert live.headers["x-frame-options"] == "DENY"


def test_frame_ancestors_accepts_origins_only() -> None:
    """EMBED_ORIGINS takes plain origins; anything else (a directive smuggled in) is refused."""
    assert frame_ancestors("").endswith("frame-ancestors 'none'")
    assert frame_ancestors("https://a.example, http://b.example:81/").endswith(
        "frame-ancestors https://a.example http://b.example:81"
    )
    for bad in ["https://a.example; script-src *", "javascript:x", "https://a.example/path"]:
        with pytest.raises(ValueError, match="EMBED_ORIGINS"):
            frame_ancestors(bad)


async def test_live_page_shows_event_info_and_next_event(
    client: httpx.AsyncClient, store: Store
) -> None:
    """Title, date, venue, description, hashtag and the next event are on the page."""
    await store.save_event(
        Event(
            slug="meetup",
            title="Python Meetup",
            hashtags=("pymeet",),
            description="Talks and pizza.",
            extra={
                "starts_at": "2026-05-01T19:00",
                "venue": "Hall <B>",
                "next_event": {"title": "June meetup", "url": "https://example.org/june"},
            },
        )
    )
    text = (await client.get("/e/meetup/live")).text
    for expected in [
        "Python Meetup",
        '<time datetime="2026-05-01T19:00">Fri 1 May 2026, 19:00</time>',
        "Hall &lt;B&gt;",
        "Talks and pizza.",
        "#pymeet",
        '<a href="https://example.org/june">June meetup</a>',
    ]:
        assert expected in text
    assert re.search(r"No posts yet", text)
    assert (await client.get("/e/nothing/live")).status_code == 404


async def test_first_load_is_under_100_kb_on_the_wire(
    app_settings: Settings, store: Store, event: Event
) -> None:
    """The live page with 50 posts, its CSS and JS weigh under 100 KB as sent (photos aside)."""
    text = "Great talk on async Python tonight, slides at https://example.org/slides #testevent"
    for i in range(60):
        photos = [{"url": f"/media/{i}.jpg", "width": 1200, "height": 800, "alt": "Stage"}]
        await store.ingest(event.slug, at(f"m{i}", i, text=text, photos=photos), State.APPROVED)
    app = create_app(dataclasses.replace(app_settings, page_size=50))
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://wall.test") as http:
            page = await http.get("/e/testevent/live")
            assert page.text.count("<article") == 50
            total = page.num_bytes_downloaded
            assets = re.findall(r'(?:src|href)="(/static/[^"]+)"', page.text)
            assert {"/static/live.js", "/static/live.css", "/static/vendor/htmx.min.js"} <= set(
                assets
            )
            for asset in assets:
                response = await http.get(asset)
                assert response.status_code == 200
                total += response.num_bytes_downloaded
    assert total < 100_000, f"first load is {total} bytes"
