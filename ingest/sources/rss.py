"""RSS and Atom feeds, polled politely with ETag and If-Modified-Since."""

from __future__ import annotations

import asyncio
import calendar
import hashlib
import json
import logging
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

import feedparser
import nh3

from ingest.sources.base import PolledSource, SourceItem
from ingest.sources.kinds import Option, SourceKind, register
from wall.models import MAX_PHOTOS, Author, Photo, Post
from wall.sources import SourceConfig, SourceError

log = logging.getLogger(__name__)


def _when(entry: Any) -> datetime:
    parsed = entry.get("published_parsed") or entry.get("updated_parsed")
    if parsed:
        return datetime.fromtimestamp(calendar.timegm(parsed), UTC)
    return datetime.now(UTC)


def _photos(entry: Any) -> tuple[Photo, ...]:
    urls: list[str] = []
    for link in entry.get("enclosures") or []:
        if str(link.get("type", "")).startswith("image/") and link.get("href"):
            urls.append(str(link["href"]))
    for media in entry.get("media_content") or []:
        if str(media.get("medium", "image")) == "image" and media.get("url"):
            urls.append(str(media["url"]))
    unique = list(dict.fromkeys(urls))[:MAX_PHOTOS]
    return tuple(Photo(url=u, alt=str(entry.get("title") or "")) for u in unique)


def entry_post(entry: Any, feed: Any, feed_url: str) -> Post | None:
    """A feed entry as a Post; None when it has nothing to show."""
    key = str(entry.get("id") or entry.get("link") or entry.get("title") or "")
    if not key:
        return None
    title = str(entry.get("title") or "")
    summary = str(entry.get("summary") or "")
    html = (f"<p><strong>{nh3.clean_text(title)}</strong></p>" if title else "") + summary
    text = nh3.clean(html, tags=set()).strip()
    if not text:
        return None
    site = urlsplit(str(feed.get("link") or feed_url)).netloc or urlsplit(feed_url).netloc
    return Post(
        source="rss",
        native_id=hashlib.sha256(f"{feed_url}|{key}".encode()).hexdigest()[:24],
        author=Author(
            handle=site,
            display_name=str(entry.get("author") or feed.get("title") or site),
            profile_url=str(feed.get("link") or ""),
        ),
        text=text[:5000],
        html=html[:20_000],
        created_at=_when(entry),
        photos=_photos(entry),
        url=str(entry.get("link") or ""),
        hashtags=tuple(
            str(t.get("term", "")).casefold() for t in entry.get("tags") or [] if t.get("term")
        ),
    )


class FeedSource(PolledSource):
    """One feed for one event; the feed's ETag and Last-Modified are the cursor."""

    _validators: dict[str, str] | None = None

    @property
    def cursor_key(self) -> str:
        """Where the feed's validators are kept: one key per event and feed URL."""
        return (
            f"rss:{self.config.event}:{hashlib.sha256(self.config.url.encode()).hexdigest()[:16]}"
        )

    def _wanted(self, post: Post) -> bool:
        tag = self.config.tag
        return not tag or tag in post.hashtags or f"#{tag}" in post.text.casefold()

    async def poll_once(self) -> AsyncIterator[SourceItem]:
        """New entries, oldest first; an unchanged feed (304) costs one request."""
        if self._validators is None:
            saved = await self.load_cursor()
            self._validators = json.loads(saved) if saved else {}
        validators = self._validators
        headers = {"Accept": "application/atom+xml, application/rss+xml, */*;q=0.5"}
        if validators.get("etag"):
            headers["If-None-Match"] = validators["etag"]
        if validators.get("modified"):
            headers["If-Modified-Since"] = validators["modified"]
        response = await self.fetch(self.config.url, headers=headers)
        if response.status_code == 304:
            return
        response.raise_for_status()
        feed = await asyncio.to_thread(feedparser.parse, response.content)
        if feed.bozo and not feed.entries:
            log.warning("%s: unreadable feed: %s", self.name, feed.get("bozo_exception"))
        posts = []
        for entry in feed.entries:
            post = entry_post(entry, feed.feed, self.config.url)
            if post is not None and self._wanted(post):
                posts.append(post)
        for post in sorted(posts, key=lambda p: p.created_at):
            yield post
        self._validators = {
            "etag": response.headers.get("etag", ""),
            "modified": response.headers.get("last-modified", ""),
        }
        await self.save_cursor(json.dumps(self._validators))


def _http_url(config: SourceConfig) -> None:
    if not config.url.startswith(("http://", "https://")):
        raise SourceError("rss needs --url, an http(s) URL")


register(
    SourceKind(
        "rss",
        "an RSS or Atom feed, polled with ETag and If-Modified-Since",
        options=(
            Option(
                "url", "the feed's http(s) URL", True, placeholder="https://example.org/feed.xml"
            ),
            Option("tag", "take only entries with this hashtag (optional)"),
        ),
        build=lambda config, store, client, settings: FeedSource(
            config, store, client, poll_interval=settings.poll_interval
        ),
        check=_http_url,
    )
)
