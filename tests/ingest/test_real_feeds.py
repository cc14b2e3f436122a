"""Recorded feeds through the real path: loopback feed server → run_source → Redis → HTML."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from ingest.sources.rss import FeedSource
from server.render import Renderer
from tests.fake_feed import FakeFeeds
from tests.fakes import serve
from tests.helpers import eventually
from tests.ingest.sourcekit import running_source
from tests.ingest.test_media import jpeg
from wall.mod_store import ModerationStore
from wall.models import Event, Post
from wall.moderation import State
from wall.sources import SourceConfig, SourceRegistry
from wall.store import Store


@pytest.fixture
async def feeds() -> AsyncIterator[tuple[FakeFeeds, str]]:
    """The feed server and its base URL."""
    fake = FakeFeeds(image=jpeg((120, 90)))
    async with serve(fake.app()) as base:
        yield fake, base


def running(
    store: Store,
    event: Event,
    url: str,
    tmp_path: Path,
    *,
    tag: str = "",
    registry: SourceRegistry | None = None,
) -> contextlib.AbstractAsyncContextManager[FeedSource]:
    """A feed source running through run_source with a real photo pipeline."""
    config = SourceConfig.create("rss", event.slug, url=url, tag=tag)
    return running_source(
        store,
        event,
        lambda client: FeedSource(config, store, client, poll_interval=0.05),
        media=tmp_path / "media",
        registry=registry,
    )


async def taken(store: Store, event: Event, n: int, state: State = State.APPROVED) -> list[Post]:
    """Wait for n posts in a state; them, oldest first."""

    async def enough() -> bool:
        return await store.count(event.slug, state) >= n

    await eventually(enough, timeout=20, message=f"{n} feed items taken")
    return await store.all_posts(event.slug, state)


def html_of(post: Post) -> str:
    """The post as every screen renders it."""
    return Renderer().post(post, zone="UTC")


async def test_mastodon_tag_feed_items_have_their_own_authors_alt_and_ratings(
    store: Store, event: Event, feeds: tuple[FakeFeeds, str], tmp_path: Path
) -> None:
    """A Mastodon tag feed: each item's author comes from its link, alt from
    media:description, an adult rating marks it sensitive, long links show folded."""
    fake, base = feeds
    fake.load("mastodon_tag.rss", base)
    async with running(store, event, f"{base}/feeds/mastodon_tag.rss", tmp_path, tag="eventwall"):
        posts = await taken(store, event, 3)
    by_author = {p.author.handle: p for p in posts}
    assert set(by_author) == {"@nova@m.cmx.im", "@board@ovo.st"}
    first = next(p for p in posts if "Minsal" in p.text)
    assert "Minsal\n\nhttps://letters.acacess.com/weekly-136/" in first.text  # not glued
    assert ">letters.acacess.com/weekly-136…</a>" in html_of(first)
    stage = by_author["@board@ovo.st"]
    assert stage.photos[0].alt == "Two people on a stage under a spotlight"
    assert "Portraits from the hall & the stage" in stage.text  # entity decoded
    floor = next(p for p in posts if "After-party" in p.text)
    assert floor.sensitive and not stage.sensitive


async def test_wordpress_feed_authors_no_gravatar_and_relative_links(
    store: Store, event: Event, feeds: tuple[FakeFeeds, str], tmp_path: Path
) -> None:
    """WordPress: dc:creator is the author, the gravatar is not the post's photo, a relative
    link gets its href, entities and &nbsp; are text, <br> keeps words apart."""
    fake, base = feeds
    fake.load("wordpress.xml", base)
    async with running(store, event, f"{base}/feeds/wordpress.xml", tmp_path, tag="eventwall"):
        posts = await taken(store, event, 2)
    programme = next(p for p in posts if "programme" in p.text)
    assert programme.author.display_name == "Teodora Piskova"
    assert programme.photos == ()
    assert not any("gravatar" in path for path in fake.media_requests)
    assert programme.text.startswith("It’s here: the programme & the speakers")  # noqa: RUF001
    assert "The programme is out.\nDoors open at nine. See the venue page." in programme.text
    assert f'href="{base}/2024/12/venue/"' in html_of(programme)
    authors = {p.author.handle for p in posts}
    assert len(authors) == 2  # two people, two handles: the flood rule counts them apart


async def test_youtube_thumbnail_and_podcast_without_dates(
    store: Store, event: Event, feeds: tuple[FakeFeeds, str], tmp_path: Path
) -> None:
    """YouTube: media:thumbnail is the picture. A podcast's items with a missing or
    unreadable date are taken at arrival, behind dated history on the first poll."""
    fake, base = feeds
    fake.load("youtube.xml", base)
    fake.load("podcast.xml", base)
    async with running(store, event, f"{base}/feeds/youtube.xml", tmp_path, tag="eventwall"):
        [video] = await taken(store, event, 1)
    assert video.photos[0].url.startswith("/media/")
    assert "What does America's 250th anniversary mean to Native Americans?" in video.text
    assert video.author.display_name == "Reuters"
    async with running(store, event, f"{base}/feeds/podcast.xml", tmp_path, tag="eventwall"):
        posts = await taken(store, event, 3)
    episodes = [p for p in posts if "Episode" in p.text]
    assert len(episodes) == 2
    assert all(p.author.display_name == "Sam Rivera" for p in episodes)


async def test_items_without_identity_are_skipped_with_a_reason(
    store: Store,
    event: Event,
    feeds: tuple[FakeFeeds, str],
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """feedparser's own cases: an item with no guid, link or title is skipped and logged;
    a relative entry link resolves against the feed's address; RSS 0.9 titles are read."""
    fake, base = feeds
    for name in (
        "feedparser_item_dc_creator.xml",
        "feedparser_http_entry_link_base_docuri.xml",
        "feedparser_rss090_item_title.xml",
        "feedparser_media_thumbnail.xml",
    ):
        fake.load(name, base)
    caplog.set_level(logging.INFO, logger="ingest.sources.rss")
    async with running(store, event, f"{base}/feeds/feedparser_item_dc_creator.xml", tmp_path):
        await eventually(lambda: "no guid, link or title" in caplog.text, message="skip logged")
    async with running(store, event, f"{base}/feeds/feedparser_rss090_item_title.xml", tmp_path):
        [titled] = await taken(store, event, 1)
    assert titled.text == "Item title"
    async with running(store, event, f"{base}/feeds/feedparser_media_thumbnail.xml", tmp_path):
        posts = await taken(store, event, 2)
    thumb = next(p for p in posts if p.text == "Example Atom")
    assert thumb.photos and thumb.photos[0].url.startswith("/media/")


async def test_first_poll_is_not_flood_held_and_a_feed_without_etag_is_counted_once(
    store: Store, event: Event, feeds: tuple[FakeFeeds, str], tmp_path: Path
) -> None:
    """A feed's first poll is history: no flood hold even with a limit of 1; a feed served
    without an ETag is not counted again on every poll."""
    fake, base = feeds
    fake.etag = False
    fake.load("mastodon_tag.rss", base)
    await ModerationStore(store.redis).set_rules(
        event.slug, blocked_words=[], blocked_tags=[], flood_limit=1, hold_duplicates=True
    )
    registry = SourceRegistry(store.redis)
    async with running(
        store, event, f"{base}/feeds/mastodon_tag.rss", tmp_path, registry=registry
    ) as source:
        await taken(store, event, 3)
        polls = len(fake.requests)
        await eventually(lambda: len(fake.requests) >= polls + 3, message="three more polls")
        status = await registry.status(source.name)
    assert status.taken == 3
    assert await store.count(event.slug, State.PENDING) == 0


async def test_an_undated_item_in_the_history_does_not_jump_to_the_top(
    store: Store, event: Event, feeds: tuple[FakeFeeds, str], tmp_path: Path
) -> None:
    """First poll: an item without a readable date goes behind the dated history; one that
    appears later without a date is taken at its arrival."""
    fake, base = feeds
    dated = "<item><guid>a</guid><title>Dated</title><pubDate>Thu, 19 Dec 2024 11:33:37 +0000</pubDate></item>"
    undated = "<item><guid>b</guid><title>Undated</title><pubDate>not a date</pubDate></item>"
    later = "<item><guid>c</guid><title>Later</title></item>"
    fake.feeds["mixed.xml"] = (
        f'<rss version="2.0"><channel><title>T</title>{dated}{undated}</channel></rss>'
    )
    async with running(store, event, f"{base}/feeds/mixed.xml", tmp_path):
        posts = await taken(store, event, 2)
        fake.feeds["mixed.xml"] = fake.feeds["mixed.xml"].replace(dated, later + dated)
        posts = await taken(store, event, 3)
    times = {p.text: p.created_at for p in posts}
    assert times["Undated"] <= times["Dated"]
    assert times["Later"] > times["Dated"]
    newest = (await store.posts(event.slug, State.APPROVED, limit=1))[0]
    assert newest.text == "Later"
