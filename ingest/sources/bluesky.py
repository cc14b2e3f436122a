"""Bluesky through Jetstream: the whole post firehose as JSON, filtered to the event's tag.

The cursor is the `time_us` of the last event handled; Jetstream replays from it on
reconnect, so a restart leaves no gap (and a replayed post is ingested once: ids are stable).
"""

from __future__ import annotations

import dataclasses
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
from ingest.sources.bluesky_record import embed_media, quote_of, quoted_uri, record_html
from ingest.sources.kinds import Option, SourceKind, register
from wall.models import Author, Post, PostError, Quote, parse_time
from wall.moderation import State
from wall.privacy import says_nowall
from wall.settings import Settings
from wall.sources import SourceConfig
from wall.store import Store

log = logging.getLogger(__name__)

APPVIEW = "https://public.api.bsky.app"
CDN = "https://cdn.bsky.app"
VIDEO = "https://video.bsky.app"
PLC = "https://plc.directory"
REWIND_US = 5_000_000  # reconnect a few seconds back: events in flight are replayed, not lost
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


def commit_post(
    commit: Commit,
    author: Author,
    cdn: str = CDN,
    video: str = VIDEO,
    quote: Quote | None = None,
) -> Post:
    """A create/update commit as a Post; PostError if the record is unusable."""
    record = commit.record
    text = record.get("text")
    if not isinstance(text, str):
        raise PostError("record.text: required string")
    photos, card = embed_media(record.get("embed"), commit.did, cdn, video)
    langs = record.get("langs") or []
    labels = (record.get("labels") or {}).get("values") or []
    return Post(
        source="bluesky",
        native_id=commit.native_id,
        author=author,
        text=text,
        html=record_html(record),
        created_at=parse_time(record.get("createdAt")),
        photos=photos,
        url=f"https://bsky.app/profile/{commit.did}/post/{commit.rkey}",
        hashtags=tuple(sorted(record_tags(record))),
        sensitive=bool(labels),
        language=str(langs[0]) if langs and isinstance(langs[0], str) else "",
        card=card,
        quote=quote,
    )


class BlueskySource(CursorSource):
    """The event's tag on Bluesky, from a Jetstream server (`config.server`).

    Besides posts, the firehose says when an account is taken down or deactivated (its
    posts leave the wall) and when a handle changes (its posts show the new one).
    """

    def __init__(
        self,
        config: SourceConfig,
        store: Store,
        client: httpx.AsyncClient,
        *,
        appview: str = APPVIEW,
        cdn: str = CDN,
        video: str = VIDEO,
        plc: str = PLC,
    ) -> None:
        self.config = config
        self.store = store
        self.client = client
        self.appview = appview.rstrip("/")
        self.cdn = cdn.rstrip("/")
        self.video = video.rstrip("/")
        self.plc = plc.rstrip("/")
        self.name = config.id
        self._profiles: dict[str, tuple[float, Author]] = {}
        self._opted_out: set[str] = set()  # DIDs whose profile says #nowall
        self._authors: set[str] | None = None  # DIDs with posts here (see `_ours`)
        self._cursor = 0
        self._saved_at = 0.0
        self._needle = config.tag.casefold()

    @property
    def cursor_key(self) -> str:
        """Where the `time_us` of the last event handled is kept."""
        return f"bluesky:{self.config.tag}:{self.config.event}"

    async def author(self, did: str) -> Author:
        """Handle, display name and avatar of a DID, via getProfiles, cached for an hour.

        When the AppView can't say, the DID document names the handle: a reader sees
        "@name.example", never a bare DID (unless no handle can be found at all).
        """
        cached = self._profiles.get(did)
        if cached and cached[0] > time.monotonic():
            return cached[1]
        author: Author | None = None
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
        if author is None:
            handle = await self._handle_of(did)
            author = Author(
                handle=f"@{handle}" if handle else did,
                profile_url=f"https://bsky.app/profile/{handle or did}",
            )
        self._profiles[did] = (time.monotonic() + PROFILE_TTL, author)
        return author

    async def _handle_of(self, did: str) -> str:
        """The handle a DID document claims (`alsoKnownAs`), or ""."""
        if did.startswith("did:web:"):
            return did.removeprefix("did:web:")
        if not did.startswith("did:plc:"):
            return ""
        try:
            response = await self.client.get(
                f"{self.plc}/{did}", headers={"User-Agent": USER_AGENT}
            )
            response.raise_for_status()
            names = response.json().get("alsoKnownAs") or []
        except (httpx.HTTPError, ValueError, AttributeError) as exc:
            log.warning("%s: DID document of %s not resolved: %s", self.name, did, exc)
            return ""
        for name in names:
            if isinstance(name, str) and name.startswith("at://"):
                return name.removeprefix("at://")
        return ""

    async def _quote(self, uri: str) -> Quote | None:
        """The quoted post, compactly; its URL alone when the AppView can't show it."""
        if not uri:
            return None
        view = None
        try:
            response = await self.client.get(
                f"{self.appview}/xrpc/app.bsky.feed.getPosts",
                params={"uris": uri},
                headers={"User-Agent": USER_AGENT},
            )
            response.raise_for_status()
            posts = response.json().get("posts") or []
            view = posts[0] if posts else None
        except (httpx.HTTPError, ValueError, AttributeError) as exc:
            log.info("%s: quoted post %s not resolved: %s", self.name, uri, exc)
        return quote_of(uri, view)

    def matches(self, message: str | bytes) -> bool:
        """Cheap pre-filter: could this message concern us (our tag, a delete, an account)?

        Case-folded like the tag match itself, so `Straße` or `ΣΊΣΥΦΟΣ` get through.
        """
        text = message if isinstance(message, str) else message.decode("utf-8", "replace")
        return (
            self._needle in text.casefold()
            or '"delete"' in text
            or '"commit"' not in text  # identity and account events: rare, all read
        )

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
            # Rewound: what was in flight when the last connection broke comes again, and
            # a post seen twice is taken once (its id is stable).
            params["cursor"] = str(max(0, self._cursor - REWIND_US))
        url = f"{self.config.server}/subscribe?{urlencode(params)}"
        async with safe_connect(
            self.client, url, user_agent_header=USER_AGENT, open_timeout=10, max_size=2**20
        ) as socket:
            log.info("%s: following #%s on %s", self.name, self.config.tag, self.config.server)
            try:
                async for message in socket:
                    found, time_us = await self._handle(message)
                    for item in found:
                        yield item
                    if time_us:
                        await self._save(time_us, force=bool(found))
                    stop_if_asked()  # a cancel swallowed in a Redis call must still stop us
            except ConnectionClosed as exc:
                raise ConnectionError(f"jetstream closed: {exc}") from exc
        raise ConnectionError("jetstream closed the connection")

    async def _ours(self, did: str) -> list[str]:
        """The ids of this author's posts stored for the event, whatever their state.

        The firehose carries many account and identity events a second: the DIDs with posts
        here are read once and kept, so an unknown DID costs no Redis read.
        """
        if self._authors is None:
            self._authors = set()
            for state in State:
                for post_id in await self.store.post_ids(self.config.event, state):
                    self._authors.add(post_id.removeprefix("bluesky:").partition("/")[0])
        if did not in self._authors:
            return []
        prefix = f"bluesky:{did}/"
        ids: list[str] = []
        for state in State:
            ids += [
                i
                for i in await self.store.post_ids(self.config.event, state)
                if i.startswith(prefix)
            ]
        if not ids:
            self._authors.discard(did)
        return ids

    async def _account(self, data: dict[str, Any]) -> list[SourceItem]:
        """A takedown or deactivation removes the author's posts; a handle change shows."""
        did = data.get("did")
        if not isinstance(did, str):
            return []
        if data.get("kind") == "account":
            account = _obj(data.get("account"))
            if account.get("active") is not False:
                return []
            ids = await self._ours(did)
            if ids:
                log.info(
                    "%s: account %s is %s: removing its %d posts",
                    self.name,
                    did,
                    account.get("status") or "inactive",
                    len(ids),
                )
            return [Deleted(i) for i in ids]
        if data.get("kind") == "identity":
            ids = await self._ours(did)
            if not ids:
                return []
            self._profiles.pop(did, None)
            author = await self.author(did)
            identity = _obj(data.get("identity"))
            handle = identity.get("handle")
            if isinstance(handle, str) and handle and author.handle != f"@{handle}":
                # The event names the new handle even when the AppView has not caught up.
                author = dataclasses.replace(
                    author, handle=f"@{handle}", profile_url=f"https://bsky.app/profile/{handle}"
                )
                self._profiles[did] = (time.monotonic() + PROFILE_TTL, author)
            edits: list[SourceItem] = []
            for post in await self.store.load(self.config.event, ids):
                if post.author.handle != author.handle:
                    edits.append(
                        Edited(
                            dataclasses.replace(
                                post,
                                author=dataclasses.replace(
                                    author, avatar_url=post.author.avatar_url
                                ),
                            )
                        )
                    )
            return edits
        return []

    async def _handle(self, message: str | bytes) -> tuple[list[SourceItem], int]:
        if not self.matches(message):
            # Most of the firehose: only the cursor matters. Pull time_us without parsing all.
            text = message if isinstance(message, str) else message.decode("utf-8", "replace")
            start = text.find('"time_us":')
            digits = (
                text[start + 10 : start + 40].lstrip().split(",")[0].split("}")[0]
                if start >= 0
                else ""
            )
            return [], int(digits) if digits.isdigit() else 0
        try:
            commit = parse_commit(message)
        except JetstreamError as exc:
            log.warning("%s: skipped malformed message (%s): %.200r", self.name, exc, message)
            return [], 0
        if commit is None:
            return [], 0
        if not commit.did:
            data = json.loads(message)
            if data.get("kind") in ("account", "identity"):
                return await self._account(data), commit.time_us
            return [], commit.time_us
        post_id = f"bluesky:{commit.native_id}"
        if commit.operation == "delete":
            # The firehose deletes thousands of posts we never took: only pass on ours.
            if await self.store.get_state(self.config.event, post_id) is None:
                return [], commit.time_us
            return [Deleted(post_id)], commit.time_us
        if self._needle not in record_tags(commit.record):
            return [], commit.time_us
        author = await self.author(commit.did)
        if commit.did in self._opted_out:
            log.info("%s: %s not taken: author opted out (#nowall in profile)", self.name, post_id)
            return [], commit.time_us
        try:
            quote = await self._quote(quoted_uri(commit.record.get("embed")))
            post = commit_post(commit, author, self.cdn, self.video, quote)
        except (PostError, TypeError, ValueError, AttributeError) as exc:
            log.warning("%s: skipped malformed post %s: %s", self.name, commit.native_id, exc)
            return [], commit.time_us
        if self._authors is not None:
            self._authors.add(commit.did)
        return [Edited(post) if commit.operation == "update" else post], commit.time_us


def _obj(value: Any) -> dict[str, Any]:
    """The value if it is a JSON object, else an empty one."""
    return value if isinstance(value, dict) else {}


def _build(
    config: SourceConfig, store: Store, client: httpx.AsyncClient, settings: Settings
) -> BlueskySource:
    # No server given: BLUESKY_JETSTREAM, read when the worker starts the source.
    server = config.server or settings.bluesky_jetstream.rstrip("/")
    return BlueskySource(
        dataclasses.replace(config, server=server),
        store,
        client,
        appview=settings.bluesky_appview,
        plc=settings.bluesky_plc,
    )


register(
    SourceKind(
        "bluesky",
        "a hashtag on Bluesky, from a Jetstream firehose",
        options=(
            Option("tag", "the hashtag to follow", True),
            Option("server", "a Jetstream URL (optional: BLUESKY_JETSTREAM)"),
        ),
        build=_build,
    )
)
