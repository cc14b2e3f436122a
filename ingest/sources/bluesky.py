"""Bluesky through Jetstream: the whole post firehose as JSON, filtered to the event's tag.

The cursor is the `time_us` of the last event handled; Jetstream replays from it on
reconnect, so a restart leaves no gap (and a replayed post is ingested once: ids are stable).
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import httpx
from websockets.exceptions import ConnectionClosed

from ingest.cancel import stop_if_asked
from ingest.fetch import safe_connect
from ingest.media import USER_AGENT
from ingest.sources.base import CursorSource, Deleted, Edited, SourceItem
from ingest.sources.kinds import Option, SourceKind, register
from wall.models import MAX_PHOTOS, Author, Photo, Post, PostError, parse_time
from wall.privacy import says_nowall
from wall.sources import SourceConfig
from wall.store import Store

log = logging.getLogger(__name__)

APPVIEW = "https://public.api.bsky.app"
CDN = "https://cdn.bsky.app"
JETSTREAM = "wss://jetstream2.us-east.bsky.network"
"""The public Jetstream a Bluesky source reads when no server is given."""
COLLECTION = "app.bsky.feed.post"
PROFILE_TTL = 3600.0
CURSOR_EVERY = 5.0  # seconds between cursor saves while nothing matches


@dataclass(frozen=True, slots=True)
class Commit:
    """One Jetstream commit for a post: who, which record, what happened, and when."""

    did: str
    rkey: str
    operation: str
    time_us: int
    record: dict[str, Any]

    @property
    def native_id(self) -> str:
        """The post's stable id: its at:// URI without the scheme."""
        return f"{self.did}/{self.rkey}"


class JetstreamError(ValueError):
    """A message that is not a post commit we can read."""


def parse_commit(message: str | bytes) -> Commit | None:
    """A post commit from a Jetstream message; None for other kinds; JetstreamError if malformed."""
    try:
        data = json.loads(message)
    except ValueError as exc:
        raise JetstreamError(f"not JSON: {exc}") from exc
    if not isinstance(data, dict):
        raise JetstreamError("message is not an object")
    time_us = data.get("time_us")
    if not isinstance(time_us, int):
        raise JetstreamError("no integer time_us")
    if data.get("kind") != "commit":
        return Commit("", "", "", time_us, {})  # identity/account events: only the time counts
    commit = data.get("commit")
    did = data.get("did")
    if not isinstance(commit, dict) or not isinstance(did, str):
        raise JetstreamError("commit without did or commit object")
    if commit.get("collection") != COLLECTION:
        return Commit("", "", "", time_us, {})
    rkey, operation = commit.get("rkey"), commit.get("operation")
    if not isinstance(rkey, str) or operation not in ("create", "update", "delete"):
        raise JetstreamError("commit without rkey or with an unknown operation")
    record = commit.get("record") or {}
    if not isinstance(record, dict):
        raise JetstreamError("record is not an object")
    return Commit(did, rkey, str(operation), time_us, record)


def record_tags(record: dict[str, Any]) -> set[str]:
    """The record's hashtags: from its rich-text facets and its `tags` list, case-folded."""
    tags = {str(t).casefold() for t in record.get("tags") or [] if isinstance(t, str)}
    for facet in record.get("facets") or []:
        if not isinstance(facet, dict):
            continue
        for feature in facet.get("features") or []:
            if (
                isinstance(feature, dict)
                and feature.get("$type") == "app.bsky.richtext.facet#tag"
                and isinstance(feature.get("tag"), str)
            ):
                tags.add(feature["tag"].casefold())
    return tags


def commit_post(commit: Commit, author: Author, cdn: str = CDN) -> Post:
    """A create/update commit as a Post; PostError if the record is unusable."""
    record = commit.record
    text = record.get("text")
    if not isinstance(text, str):
        raise PostError("record.text: required string")
    photos = []
    embed = record.get("embed") or {}
    if isinstance(embed, dict) and embed.get("$type") == "app.bsky.embed.recordWithMedia":
        embed = embed.get("media") or {}
    if isinstance(embed, dict) and embed.get("$type") == "app.bsky.embed.images":
        for item in embed.get("images") or []:
            link = ((item or {}).get("image") or {}).get("ref", {}).get("$link")
            if isinstance(link, str):
                ratio = item.get("aspectRatio") or {}
                photos.append(
                    Photo(
                        url=f"{cdn}/img/feed_fullsize/plain/{commit.did}/{link}@jpeg",
                        width=int(ratio.get("width") or 0),
                        height=int(ratio.get("height") or 0),
                        alt=str(item.get("alt") or ""),
                    )
                )
    langs = record.get("langs") or []
    labels = (record.get("labels") or {}).get("values") or []
    return Post(
        source="bluesky",
        native_id=commit.native_id,
        author=author,
        text=text,
        created_at=parse_time(record.get("createdAt")),
        photos=tuple(photos[:MAX_PHOTOS]),
        url=f"https://bsky.app/profile/{commit.did}/post/{commit.rkey}",
        hashtags=tuple(sorted(record_tags(record))),
        sensitive=bool(labels),
        language=str(langs[0]) if langs and isinstance(langs[0], str) else "",
    )


class BlueskySource(CursorSource):
    """The event's tag on Bluesky, from a Jetstream server (`config.server`)."""

    def __init__(
        self,
        config: SourceConfig,
        store: Store,
        client: httpx.AsyncClient,
        *,
        appview: str = APPVIEW,
        cdn: str = CDN,
    ) -> None:
        self.config = config
        self.store = store
        self.client = client
        self.appview = appview.rstrip("/")
        self.cdn = cdn.rstrip("/")
        self.name = config.id
        self._profiles: dict[str, tuple[float, Author]] = {}
        self._opted_out: set[str] = set()  # DIDs whose profile says #nowall
        self._cursor = 0
        self._saved_at = 0.0
        self._needle = config.tag.casefold()

    @property
    def cursor_key(self) -> str:
        """Where the `time_us` of the last event handled is kept."""
        return f"bluesky:{self.config.tag}:{self.config.event}"

    async def author(self, did: str) -> Author:
        """Handle, display name and avatar of a DID, via getProfiles, cached for an hour."""
        cached = self._profiles.get(did)
        if cached and cached[0] > time.monotonic():
            return cached[1]
        author = Author(handle=did, profile_url=f"https://bsky.app/profile/{did}")
        try:
            response = await self.client.get(
                f"{self.appview}/xrpc/app.bsky.actor.getProfiles",
                params={"actors": did},
                headers={"User-Agent": USER_AGENT},
            )
            response.raise_for_status()
            for profile in response.json().get("profiles", []):
                if profile.get("did") == did:
                    if says_nowall(
                        str(profile.get("description") or ""),
                        str(profile.get("displayName") or ""),
                    ):
                        self._opted_out.add(did)
                    else:
                        self._opted_out.discard(did)
                    author = Author(
                        handle=f"@{profile.get('handle') or did}",
                        display_name=str(profile.get("displayName") or ""),
                        avatar_url=str(profile.get("avatar") or ""),
                        profile_url=f"https://bsky.app/profile/{profile.get('handle') or did}",
                    )
        except (httpx.HTTPError, ValueError, AttributeError) as exc:
            log.warning("%s: profile of %s not resolved: %s", self.name, did, exc)
        self._profiles[did] = (time.monotonic() + PROFILE_TTL, author)
        return author

    def matches(self, message: str | bytes) -> bool:
        """Cheap pre-filter: could this message concern us (our tag, or a delete)?"""
        lowered = (
            message.lower()
            if isinstance(message, str)
            else message.decode("utf-8", "replace").lower()
        )
        return self._needle in lowered or '"delete"' in lowered

    async def _save(self, time_us: int, *, force: bool = False) -> None:
        self._cursor = max(self._cursor, time_us)
        now = time.monotonic()
        if force or now - self._saved_at > CURSOR_EVERY:
            self._saved_at = now
            await self.save_cursor(str(self._cursor))

    async def items(self) -> AsyncIterator[SourceItem]:
        """Posts with the event's tag, edits and deletions, from the Jetstream firehose."""
        saved = await self.load_cursor()
        self._cursor = max(self._cursor, int(saved) if saved.isdigit() else 0)
        params = {"wantedCollections": COLLECTION}
        if self._cursor:
            params["cursor"] = str(self._cursor)
        url = f"{self.config.server}/subscribe?{urlencode(params)}"
        async with safe_connect(
            self.client, url, user_agent_header=USER_AGENT, open_timeout=10, max_size=2**20
        ) as socket:
            log.info("%s: following #%s on %s", self.name, self.config.tag, self.config.server)
            try:
                async for message in socket:
                    item, time_us = await self._handle(message)
                    if item is not None:
                        yield item
                    if time_us:
                        await self._save(time_us, force=item is not None)
                    stop_if_asked()  # a cancel swallowed in a Redis call must still stop us
            except ConnectionClosed as exc:
                raise ConnectionError(f"jetstream closed: {exc}") from exc
        raise ConnectionError("jetstream closed the connection")

    async def _handle(self, message: str | bytes) -> tuple[SourceItem | None, int]:
        if not self.matches(message):
            # Most of the firehose: only the cursor matters. Pull time_us without parsing all.
            text = message if isinstance(message, str) else message.decode("utf-8", "replace")
            start = text.find('"time_us":')
            digits = (
                text[start + 10 : start + 40].lstrip().split(",")[0].split("}")[0]
                if start >= 0
                else ""
            )
            return None, int(digits) if digits.isdigit() else 0
        try:
            commit = parse_commit(message)
        except JetstreamError as exc:
            log.warning("%s: skipped malformed message (%s): %.200r", self.name, exc, message)
            return None, 0
        if commit is None or not commit.did:
            return None, commit.time_us if commit else 0
        post_id = f"bluesky:{commit.native_id}"
        if commit.operation == "delete":
            # The firehose deletes thousands of posts we never took: only pass on ours.
            if await self.store.get_state(self.config.event, post_id) is None:
                return None, commit.time_us
            return Deleted(post_id), commit.time_us
        if self._needle not in record_tags(commit.record):
            return None, commit.time_us
        author = await self.author(commit.did)
        if commit.did in self._opted_out:
            log.info("%s: %s not taken: author opted out (#nowall in profile)", self.name, post_id)
            return None, commit.time_us
        try:
            post = commit_post(commit, author, self.cdn)
        except (PostError, TypeError, ValueError, AttributeError) as exc:
            log.warning("%s: skipped malformed post %s: %s", self.name, commit.native_id, exc)
            return None, commit.time_us
        return (Edited(post) if commit.operation == "update" else post), commit.time_us


register(
    SourceKind(
        "bluesky",
        "a hashtag on Bluesky, from a Jetstream firehose",
        options=(
            Option("tag", "the hashtag to follow", True),
            Option("server", "a Jetstream URL (optional: the public one)"),
        ),
        build=lambda config, store, client, settings: BlueskySource(config, store, client),
        default_server=JETSTREAM,
    )
)
