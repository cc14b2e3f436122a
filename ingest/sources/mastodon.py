"""Mastodon: a hashtag's statuses, streamed with a token or polled over REST without one."""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import AsyncIterator
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

import httpx
import nh3
from websockets.exceptions import ConnectionClosed

from ingest.cancel import stop_if_asked
from ingest.fetch import safe_connect
from ingest.media import USER_AGENT
from ingest.sources.base import Deleted, Edited, PolledSource, SourceItem
from wall.models import MAX_PHOTOS, Author, Photo, Post, PostError, parse_time
from wall.privacy import says_nowall

log = logging.getLogger(__name__)

PAGE = 40  # the most Mastodon returns at once
MAX_WAIT = 300.0  # never pause longer than this for a rate limit, whatever the server says


class StatusError(ValueError):
    """A payload that is not a status we can show; the message says why."""


def id_key(status_id: str) -> tuple[int, str]:
    """Mastodon ids are numeric strings of growing length: compare them as numbers."""
    return len(status_id), status_id


def status_post(status: Any, host: str) -> Post | None:
    """A status as a Post; None for a boost or an author opted out (skipped); StatusError if malformed."""
    if not isinstance(status, dict):
        raise StatusError("status is not an object")
    if status.get("reblog"):
        return None
    status_id, account = status.get("id"), status.get("account")
    if not isinstance(status_id, str) or not status_id:
        raise StatusError("status without a string id")
    if not isinstance(account, dict) or not isinstance(account.get("acct"), str):
        raise StatusError(f"status {status_id}: no account.acct")
    acct = account["acct"] if "@" in account["acct"] else f"{account['acct']}@{host}"
    content = status.get("content") or ""
    if not isinstance(content, str):
        raise StatusError(f"status {status_id}: content is not a string")
    if says_nowall(str(account.get("note") or ""), str(account.get("display_name") or "")):
        log.info("status %s: not taken: author opted out (#nowall in their profile)", status_id)
        return None
    photos = []
    for attachment in status.get("media_attachments") or []:
        if isinstance(attachment, dict) and attachment.get("type") == "image":
            original = (attachment.get("meta") or {}).get("original") or {}
            photos.append(
                Photo(
                    url=str(attachment.get("url") or ""),
                    width=int(original.get("width") or 0),
                    height=int(original.get("height") or 0),
                    alt=str(attachment.get("description") or ""),
                )
            )
    try:
        return Post(
            source="mastodon",
            native_id=f"{host}:{status_id}",
            author=Author(
                handle=f"@{acct}",
                display_name=str(account.get("display_name") or ""),
                avatar_url=str(account.get("avatar_static") or account.get("avatar") or ""),
                profile_url=str(account.get("url") or ""),
            ),
            text=nh3.clean(content, tags=set()).strip(),
            html=content,
            created_at=parse_time(status.get("created_at")),
            photos=tuple(p for p in photos if p.url)[:MAX_PHOTOS],
            url=str(status.get("url") or status.get("uri") or ""),
            hashtags=tuple(
                str(t["name"]).casefold()
                for t in status.get("tags") or []
                if isinstance(t, dict) and t.get("name")
            ),
            sensitive=bool(status.get("sensitive")),
            content_warning=str(status.get("spoiler_text") or ""),
            language=str(status.get("language") or ""),
        )
    except (PostError, TypeError, ValueError) as exc:
        raise StatusError(f"status {status_id}: {exc}") from exc


class MastodonSource(PolledSource):
    """One hashtag on one Mastodon server; the newest status id seen is the cursor (`min_id`)."""

    _cursor: str | None = None
    _pause_until = 0.0

    @property
    def host(self) -> str:
        """The server's host, part of every post id from it."""
        return urlsplit(self.config.server).netloc

    @property
    def cursor_key(self) -> str:
        """Where the newest status id taken is kept."""
        return f"mastodon:{self.host}:{self.config.tag}:{self.config.event}"

    def items(self) -> AsyncIterator[SourceItem]:
        """Stream when a token is configured (Mastodon 4.2+ requires one), else poll."""
        return self._stream() if self.config.token else self._poll()

    # -- REST -----------------------------------------------------------------------
    async def _get(self, path: str, params: dict[str, str | int]) -> Any:
        """GET a JSON resource, honouring X-RateLimit-* and waiting out a 429."""
        headers = {"User-Agent": USER_AGENT, "Accept": "application/json"}
        if self.config.token:
            headers["Authorization"] = f"Bearer {self.config.token}"
        while True:
            pause = self._pause_until - time.time()
            if pause > 0:
                log.info("%s: rate limited; waiting %.1fs", self.name, pause)
                await asyncio.sleep(pause)
            response = await self.client.get(
                f"{self.config.server}{path}", params=params, headers=headers
            )
            self._note_rate_limit(response)
            if response.status_code == 429:
                if self._pause_until <= time.time():
                    self._pause_until = time.time() + 60.0
                continue
            response.raise_for_status()
            return response.json()

    def _note_rate_limit(self, response: httpx.Response) -> None:
        remaining = response.headers.get("x-ratelimit-remaining", "")
        if response.status_code != 429 and remaining != "0":
            return
        reset = response.headers.get("x-ratelimit-reset", "")
        retry_after = response.headers.get("retry-after", "")
        until = time.time() + 60.0
        try:
            if reset:
                until = datetime.fromisoformat(reset.replace("Z", "+00:00")).timestamp()
            elif retry_after.isdigit():
                until = time.time() + int(retry_after)
        except ValueError:
            log.warning("%s: unreadable X-RateLimit-Reset %r", self.name, reset[:40])
        self._pause_until = min(max(until, time.time() + 0.1), time.time() + MAX_WAIT)

    async def _page(self, cursor: str | None) -> list[Any]:
        params: dict[str, str | int] = {"limit": PAGE}
        if cursor:
            params["min_id"] = cursor
        body = await self._get(f"/api/v1/timelines/tag/{self.config.tag}", params)
        if not isinstance(body, list):
            raise StatusError("timeline is not a list")
        return body

    async def _catch_up(self) -> AsyncIterator[SourceItem]:
        """Every status after the cursor, oldest first, page by page."""
        while True:
            stop_if_asked()
            page = await self._page(self._cursor)
            ordered = sorted(
                (s for s in page if isinstance(s, dict) and isinstance(s.get("id"), str)),
                key=lambda s: id_key(s["id"]),
            )
            for bad in (
                s for s in page if not (isinstance(s, dict) and isinstance(s.get("id"), str))
            ):
                log.warning("%s: skipped a status without an id: %.200r", self.name, bad)
            for status in ordered:
                item = self._parse(status)
                if item is not None:
                    yield item
                await self._advance(status["id"])
            # With min_id, a full page means there may be more right behind it.
            if len(page) < PAGE or not self._cursor:
                return

    async def _poll(self) -> AsyncIterator[SourceItem]:
        self._cursor = await self.store.get_cursor(self.cursor_key)
        while True:
            async for item in self._catch_up():
                yield item
            stop_if_asked()  # a swallowed cancel must not keep a stopped source polling
            await asyncio.sleep(self.poll_interval)

    def _parse(self, status: Any, *, edited: bool = False) -> SourceItem | None:
        try:
            post = status_post(status, self.host)
        except StatusError as exc:
            log.warning("%s: skipped malformed status: %s", self.name, exc)
            return None
        if post is None:
            return None
        return Edited(post) if edited else post

    async def _advance(self, status_id: str) -> None:
        # Runs after the item before it was applied (the generator resumes only then).
        if self._cursor is None or id_key(status_id) > id_key(self._cursor):
            self._cursor = status_id
            await self.store.set_cursor(self.cursor_key, status_id)

    # -- streaming ------------------------------------------------------------------
    async def _stream(self) -> AsyncIterator[SourceItem]:
        self._cursor = await self.store.get_cursor(self.cursor_key)
        ws_base = "ws" + self.config.server.removeprefix("http")
        async with safe_connect(
            self.client,
            f"{ws_base}/api/v1/streaming",
            additional_headers={"Authorization": f"Bearer {self.config.token}"},
            user_agent_header=USER_AGENT,
            open_timeout=10,
        ) as socket:
            await socket.send(
                json.dumps({"type": "subscribe", "stream": "hashtag", "tag": self.config.tag})
            )
            log.info("%s: streaming #%s", self.name, self.config.tag)
            # The stream has no replay: fetch what came since the cursor over REST first.
            # Anything in both is taken once: ingesting a known id changes nothing.
            async for item in self._catch_up():
                yield item
            try:
                async for message in socket:
                    for item in self._event(message):
                        yield item
                        if isinstance(item, Post):
                            await self._advance(item.native_id.rpartition(":")[2])
            except ConnectionClosed as exc:
                raise ConnectionError(f"stream closed: {exc}") from exc
        raise ConnectionError("stream closed by the server")

    def _event(self, message: str | bytes) -> list[SourceItem]:
        """The items in one streaming message; malformed ones are logged and skipped."""
        try:
            data = json.loads(message)
            kind, payload = data["event"], data.get("payload")
        except (ValueError, TypeError, KeyError) as exc:
            log.warning(
                "%s: skipped malformed stream message (%s): %.200r", self.name, exc, message
            )
            return []
        if kind == "delete":
            if not isinstance(payload, str) or not payload:
                log.warning("%s: skipped delete without an id", self.name)
                return []
            return [Deleted(f"mastodon:{self.host}:{payload}")]
        if kind not in ("update", "status.update"):
            return []  # notifications, filters_changed, ...: not for a wall
        try:
            status = json.loads(payload) if isinstance(payload, str) else payload
        except ValueError as exc:
            log.warning("%s: skipped %s with malformed payload: %s", self.name, kind, exc)
            return []
        item = self._parse(status, edited=kind == "status.update")
        return [item] if item is not None else []
