"""RSS and Atom feeds, polled politely with ETag and If-Modified-Since.

Each item is its own author's post (dc:creator, author, itunes:author; for Mastodon's feeds
the account in the item's link), so one busy feed is many people, not one flooding poster.
The first poll is the feed's history: taken without the flood and duplicate holds.
"""

from __future__ import annotations

import asyncio
import calendar
import hashlib
import html
import json
import logging
import re
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

import feedparser

from ingest.sources.base import Backfill, PolledSource, SourceItem
from ingest.sources.kinds import Option, SourceKind, register
from ingest.sources.markup import fold_link_spans, html_text
from wall.models import MAX_PHOTOS, Author, Photo, Post
from wall.sources import SourceConfig, SourceError

log = logging.getLogger(__name__)

# A Mastodon status link: https://host/@user/123 (the account is in the link, not the item).
_MASTODON_LINK = re.compile(r"^https?://([^/]+)/@([A-Za-z0-9_.-]+(?:@[^/]+)?)/\d+$")
# Author pictures feeds put among an item's media: a face is not the post's photo.
_AVATAR_HOSTS = ("gravatar.com", "wp.com/avatar")
_ADULT = {"adult", "explicit", "yes", "true", "nsfw"}


def _when(entry: Any) -> datetime | None:
    """The item's own date, or None when it has none we can read."""
    # dict.get: feedparser's own get() maps a missing key to the other date, with a warning.
    parsed = dict.get(entry, "published_parsed") or dict.get(entry, "updated_parsed")
    if parsed:
        try:
            return datetime.fromtimestamp(calendar.timegm(parsed), UTC)
        except (OverflowError, ValueError):
            return None
    return None


def _alt(entry: Any) -> str:
    """A media item's description (feedparser files media:description as plain content)."""
    for content in entry.get("content") or []:
        if content.get("type") == "text/plain" and content.get("value"):
            return str(content["value"])
    return ""


def _photos(entry: Any) -> tuple[Photo, ...]:
    urls: list[str] = []
    for link in entry.get("enclosures") or []:
        if str(link.get("type", "")).startswith("image/") and link.get("href"):
            urls.append(str(link["href"]))
    for media in entry.get("media_content") or []:
        medium = str(media.get("medium") or "")
        kind = str(media.get("type") or "")
        if (medium == "image" or kind.startswith("image/")) and media.get("url"):
            urls.append(str(media["url"]))
    if not urls:
        # YouTube and many video feeds: the thumbnail is the picture to show.
        urls += [str(t["url"]) for t in entry.get("media_thumbnail") or [] if t.get("url")]
    urls = [u for u in urls if not any(host in u for host in _AVATAR_HOSTS)]
    unique = list(dict.fromkeys(urls))[:MAX_PHOTOS]
    alt = _alt(entry) if entry.get("media_content") else ""
    return tuple(Photo(url=u, alt=alt) for u in unique)


def _author(entry: Any, feed: Any, feed_url: str) -> Author:
    """Who wrote the item: the account in a Mastodon link, else the item's author on the site."""
    link = str(entry.get("link") or "")
    site_link = str(feed.get("link") or feed_url)
    site = urlsplit(site_link).netloc or urlsplit(feed_url).netloc
    mastodon = _MASTODON_LINK.match(link)
    if mastodon:
        host, user = mastodon.groups()
        account = user if "@" in user else f"{user}@{host}"
        return Author(
            handle=f"@{account}",
            display_name=user.split("@")[0],
            profile_url=f"https://{host}/@{user}",
        )
    name = str(entry.get("author") or "").strip()
    if name:
        # The handle tells the site's authors apart (the flood rule counts per handle).
        return Author(handle=f"{site} · {name}", display_name=name, profile_url=site_link)
    return Author(handle=site, display_name=str(feed.get("title") or site), profile_url=site_link)


def entry_post(
    entry: Any, feed: Any, feed_url: str, *, undated: datetime | None = None
) -> Post | None:
    """A feed entry as a Post; None (logged) when it has nothing to show or no identity.

    An item without a readable date takes `undated` (default: now, its arrival).
    """
    key = str(entry.get("id") or entry.get("link") or entry.get("title") or "")
    if not key:
        log.info("%s: skipped an item with no guid, link or title", feed_url)
        return None
    title = str(entry.get("title") or "")
    heading = f"<p><strong>{html.escape(title)}</strong></p>" if title else ""
    summary = str(entry.get("summary") or "")
    if (entry.get("summary_detail") or {}).get("type") == "text/plain":
        summary = html.escape(summary).replace("\n", "<br>")
    elif "<" not in summary:
        summary = summary.replace("\n", "<br>")  # a plain-text description: its lines are lines
    # The plain copy keeps whole URLs; the HTML shows Mastodon's long links folded.
    text = html_text(heading + summary)
    markup = heading + fold_link_spans(summary)
    photos = _photos(entry)
    if not text and not photos:
        log.info("%s: skipped item %s: nothing to show", feed_url, key[:200])
        return None
    rating = entry.get("media_rating") or {}
    return Post(
        source="rss",
        native_id=hashlib.sha256(f"{feed_url}|{key}".encode()).hexdigest()[:24],
        author=_author(entry, feed, feed_url),
        text=text[:5000],
        html=markup[:20_000],
        created_at=_when(entry) or undated or datetime.now(UTC),
        photos=photos,
        url=str(entry.get("link") or ""),
        hashtags=tuple(
            str(t.get("term", "")).casefold() for t in entry.get("tags") or [] if t.get("term")
        ),
        sensitive=str(rating.get("content", "")).strip().lower() in _ADULT,
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

    def _posts(self, feed: Any, *, first: bool) -> list[Post]:
        """The feed's wanted items, oldest first."""
        dated = [d for d in (_when(e) for e in feed.entries) if d is not None]
        # On the first look, an undated item is history like the rest: it goes behind the
        # oldest dated one instead of jumping to the top. Later, "undated" means "just came".
        undated = min(dated) if first and dated else datetime.now(UTC)
        posts = []
        for entry in feed.entries:
            post = entry_post(entry, feed.feed, self.config.url, undated=undated)
            if post is not None and self._wanted(post):
                posts.append(post)
        return sorted(posts, key=lambda p: p.created_at)

    async def poll_once(self) -> AsyncIterator[SourceItem]:
        """New entries, oldest first; an unchanged feed (304) costs one request.

        The first poll (no validators saved yet) is the feed's history: taken as backfill.
        """
        if self._validators is None:
            saved = await self.load_cursor()
            self._validators = json.loads(saved) if saved else {}
        validators = self._validators
        first = not validators
        headers = {"Accept": "application/atom+xml, application/rss+xml, */*;q=0.5"}
        if validators.get("etag"):
            headers["If-None-Match"] = validators["etag"]
        if validators.get("modified"):
            headers["If-Modified-Since"] = validators["modified"]
        response = await self.fetch(self.config.url, headers=headers)
        if response.status_code == 304:
            return
        response.raise_for_status()
        digest = hashlib.sha256(response.content).hexdigest()[:16]
        if digest == validators.get("digest"):
            return  # a feed without validators sending the same bytes has nothing new
        feed = await asyncio.to_thread(
            feedparser.parse,
            response.content,
            # Relative links in items resolve against where the feed was fetched.
            response_headers={
                "content-location": str(response.url),
                "content-type": response.headers.get("content-type", ""),
            },
        )
        if feed.bozo and not feed.entries:
            log.warning("%s: unreadable feed: %s", self.name, feed.get("bozo_exception"))
        for post in self._posts(feed, first=first):
            yield Backfill(post) if first else post
        self._validators = {
            "etag": response.headers.get("etag", ""),
            "modified": response.headers.get("last-modified", ""),
            "digest": digest,
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
