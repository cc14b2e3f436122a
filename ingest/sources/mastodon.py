"""Mastodon: a hashtag's statuses, streamed with a token or polled over REST without one."""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import urlsplit

import nh3
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from ingest.cancel import stop_if_asked
from ingest.media import USER_AGENT
from ingest.sources.base import Deleted, Edited, PolledSource, SourceItem
from ingest.sources.kinds import Option, SourceKind, register
from wall.models import MAX_PHOTOS, Author, Photo, Post, PostError, parse_time
from wall.privacy import says_nowall

log = logging.getLogger(__name__)

PAGE = 40  # the most Mastodon returns at once


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
        return self._stream() if self.config.token else self.poll()

    # -- REST -----------------------------------------------------------------------
    async def _get(self, path: str, params: dict[str, str | int]) -> Any:
        """GET a JSON resource (waiting as the server's rate limit asks)."""
        headers = {"Accept": "application/json"}
        if self.config.token:
            headers["Authorization"] = f"Bearer {self.config.token}"
        response = await self.fetch(f"{self.config.server}{path}", params=params, headers=headers)
        response.raise_for_status()
        return response.json()

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

    async def poll_once(self) -> AsyncIterator[SourceItem]:
        """Every status after the cursor (loaded on the first poll)."""
        if self._cursor is None:
            self._cursor = await self.load_cursor() or None
        async for item in self._catch_up():
            yield item

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
            await self.save_cursor(status_id)

    # -- streaming ------------------------------------------------------------------
    async def _stream(self) -> AsyncIterator[SourceItem]:
        self._cursor = await self.load_cursor() or None
        ws_base = "ws" + self.config.server.removeprefix("http")
        async with connect(
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


register(
    SourceKind(
        "mastodon",
        "a hashtag on a Mastodon server: streamed with a token, else polled",
        options=(
            Option(
                "server", "the server, e.g. mastodon.social", True, placeholder="mastodon.social"
            ),
            Option("tag", "the hashtag to follow", True, placeholder="pyvalley"),
            Option("token", "an access token: stream instead of poll (optional)", secret=True),
        ),
        build=lambda config, store, client, settings: MastodonSource(
            config, store, client, poll_interval=settings.poll_interval
        ),
    )
)
