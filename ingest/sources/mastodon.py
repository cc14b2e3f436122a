"""Mastodon: a hashtag's statuses, streamed with a token or polled over REST without one."""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

import httpx
from websockets.asyncio.client import ClientConnection
from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidURI

from ingest.cancel import stop_if_asked
from ingest.fetch import safe_open
from ingest.media import USER_AGENT
from ingest.sources.base import Backfill, Deleted, Edited, Notice, PolledSource, SourceItem
from ingest.sources.kinds import Option, SourceKind, register
from ingest.sources.mastodon_status import StatusError, status_post
from wall.details import event_time
from wall.models import Post

__all__ = ["MastodonSource", "StatusError", "id_key", "status_post"]

log = logging.getLogger(__name__)

PAGE = 40  # the most Mastodon returns at once
WINDOW = 200  # recently taken statuses checked each poll for deletions and edits
BACKFILL_PAGES = 10  # a new source looks back at most this many pages (400 statuses)


def id_key(status_id: str) -> tuple[int, str]:
    """Mastodon ids are numeric strings of growing length: compare them as numbers."""
    return len(status_id), status_id


class MastodonSource(PolledSource):
    """One hashtag on one Mastodon server; the newest status id seen is the cursor (`min_id`).

    Polling also looks at the newest page each round and compares it with the statuses it
    took recently (the window): one gone from the server is deleted here, one with a new
    `edited_at` replaced. A source with no cursor first looks back to the event's start.
    """

    _cursor: str | None = None
    _cursor_loaded = False
    _window: dict[str, str] | None = None  # status id -> its edited_at, newest WINDOW taken

    @property
    def host(self) -> str:
        """The server's host, part of every post id from it."""
        return urlsplit(self.config.server).netloc

    @property
    def cursor_key(self) -> str:
        """Where the newest status id taken is kept."""
        return f"mastodon:{self.host}:{self.config.tag}:{self.config.event}"

    @property
    def window_key(self) -> str:
        """Where the recently taken statuses (and their edit times) are kept."""
        return f"{self.cursor_key}:window"

    def items(self) -> AsyncIterator[SourceItem]:
        """Stream when a token is configured (Mastodon 4.2+ requires one), else poll."""
        return self._stream() if self.config.token else self.poll()

    # -- REST -----------------------------------------------------------------------
    async def _get(self, path: str, params: dict[str, str | int]) -> Any:
        """GET a JSON resource (waiting as the server's rate limit or Retry-After asks)."""
        headers = {"Accept": "application/json"}
        if self.config.token:
            headers["Authorization"] = f"Bearer {self.config.token}"
        response = await self.fetch(f"{self.config.server}{path}", params=params, headers=headers)
        response.raise_for_status()
        return response.json()

    async def _page(self, cursor: str | None, *, max_id: str | None = None) -> list[Any]:
        params: dict[str, str | int] = {"limit": PAGE}
        if cursor:
            params["min_id"] = cursor
        if max_id:
            params["max_id"] = max_id
        body = await self._get(f"/api/v1/timelines/tag/{self.config.tag}", params)
        if not isinstance(body, list):
            raise StatusError("timeline is not a list")
        return body

    def _valid(self, page: list[Any]) -> list[dict[str, Any]]:
        """The page's statuses with an id, oldest first; the others logged and skipped."""
        for bad in (s for s in page if not (isinstance(s, dict) and isinstance(s.get("id"), str))):
            log.warning("%s: skipped a status without an id: %.200r", self.name, bad)
        return sorted(
            (s for s in page if isinstance(s, dict) and isinstance(s.get("id"), str)),
            key=lambda s: id_key(s["id"]),
        )

    async def _catch_up(self) -> AsyncIterator[SourceItem]:
        """Every status after the cursor, oldest first, page by page."""
        if self._cursor is None:
            async for item in self._backfill():
                yield item
            return
        while True:
            stop_if_asked()
            page = await self._page(self._cursor)
            for status in self._valid(page):
                taken = self._parse(status)
                if taken is not None:
                    await self._remember(status)
                    yield taken
                await self._advance(status["id"])
            # With min_id, a full page means there may be more right behind it.
            if len(page) < PAGE or not self._cursor:
                return

    async def _backfill(self) -> AsyncIterator[SourceItem]:
        """A new source's look back: pages older and older until the event's start (or the
        newest page only when the event has no start), at most BACKFILL_PAGES of them."""
        event = await self.store.get_event(self.config.event)
        start = event_time(event, "starts_at") if event is not None else None
        statuses: list[dict[str, Any]] = []
        max_id: str | None = None
        for _ in range(BACKFILL_PAGES if start is not None else 1):
            stop_if_asked()
            page = self._valid(await self._page(None, max_id=max_id))
            statuses = page + statuses
            if not page or len(page) < PAGE or start is None:
                break
            if _created(page[0]) is not None and _created(page[0]) < start:  # type: ignore[operator]
                break
            max_id = page[0]["id"]
        for status in statuses:
            created = _created(status)
            # Statuses before the event are not part of its story.
            if start is None or created is None or created >= start:
                item = self._parse(status)
                if isinstance(item, Post):
                    await self._remember(status)
                    yield Backfill(item)
            # After each one (the generator resumes once it is applied): a restart mid-way
            # goes on from here instead of looking back again.
            await self._advance(status["id"])
        if not statuses:
            self._cursor = ""  # looked back once: from now on, only what is new

    async def _reconcile(self) -> AsyncIterator[SourceItem]:
        """Compare the newest page with the statuses taken recently: deletions and edits."""
        window = await self._load_window()
        if not window:
            return
        page = self._valid(await self._page(None))
        on_server = {s["id"]: str(s.get("edited_at") or "") for s in page}
        oldest = id_key(page[0]["id"]) if page else (0, "")
        for status_id in sorted(window, key=id_key):
            # A full page covers everything from its oldest status on; older ones fell off it.
            if status_id not in on_server and (id_key(status_id) >= oldest or not page):
                log.info("%s: status %s is gone from the server", self.name, status_id)
                del window[status_id]
                yield Deleted(f"mastodon:{self.host}:{status_id}")
        for status in page:
            known = window.get(status["id"])
            if known is not None and on_server[status["id"]] != known:
                window[status["id"]] = on_server[status["id"]]
                item = self._parse(status, edited=True)
                if item is not None:
                    yield item
        await self.store.set_cursor(self.window_key, json.dumps(window))

    async def poll_once(self) -> AsyncIterator[SourceItem]:
        """The statuses after the cursor, then the recent ones checked for deletions and edits."""
        if not self._cursor_loaded:
            self._cursor = await self.load_cursor() or None
            self._cursor_loaded = True
        async for item in self._catch_up():
            yield item
        async for item in self._reconcile():
            yield item

    async def _load_window(self) -> dict[str, str]:
        if self._window is None:
            saved = await self.store.get_cursor(self.window_key)
            try:
                loaded = json.loads(saved) if saved else {}
            except ValueError:
                loaded = {}
            self._window = (
                {str(k): str(v) for k, v in loaded.items()} if isinstance(loaded, dict) else {}
            )
        return self._window

    async def _remember(self, status: dict[str, Any]) -> None:
        window = await self._load_window()
        window[status["id"]] = str(status.get("edited_at") or "")
        if len(window) > WINDOW:
            for old in sorted(window, key=id_key)[: len(window) - WINDOW]:
                del window[old]
        await self.store.set_cursor(self.window_key, json.dumps(window))

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
        if not self._cursor or id_key(status_id) > id_key(self._cursor):
            self._cursor = status_id
            await self.save_cursor(status_id)

    # -- streaming ------------------------------------------------------------------
    async def _streaming_url(self) -> str:
        """The streaming API's base the server names (`configuration.urls.streaming`), or ""."""
        try:
            instance = await self._get("/api/v2/instance", {})
            url = instance["configuration"]["urls"]["streaming"]
        except (httpx.HTTPError, ValueError, KeyError, TypeError) as exc:
            log.info("%s: no streaming URL from the instance: %s", self.name, exc)
            return ""
        return str(url).rstrip("/") if str(url).startswith(("ws://", "wss://")) else ""

    async def _open(self, base: str) -> ClientConnection:
        return await safe_open(
            self.client,
            f"{base}/api/v1/streaming",
            additional_headers={"Authorization": f"Bearer {self.config.token}"},
            user_agent_header=USER_AGENT,
            open_timeout=10,
        )

    async def _connect(self) -> tuple[ClientConnection | None, str]:
        """A streaming connection, or None and why streaming is refused."""
        base = "ws" + self.config.server.removeprefix("http")
        try:
            # A redirect to another host is followed without the token (websockets drops
            # credentials cross-origin) and refused there: the instance then says where to go.
            return await self._open(base), ""
        except (InvalidHandshake, InvalidURI) as exc:
            reason = f"{base}: {exc}"
        streaming = await self._streaming_url()
        if streaming and streaming != base:
            try:
                socket = await self._open(streaming)
                log.info("%s: streaming from %s, as the server says", self.name, streaming)
                return socket, ""
            except (InvalidHandshake, InvalidURI) as exc:
                reason = f"{streaming}: {exc}"
        return None, reason

    async def _stream(self) -> AsyncIterator[SourceItem]:
        self._cursor = await self.load_cursor() or None
        self._cursor_loaded = True
        socket, reason = await self._connect()
        if socket is None:
            note = f"streaming refused ({reason}); polling every {self.poll_interval:g}s"
            log.warning("%s: %s", self.name, note)
            yield Notice(note[:300])
            async for item in self.poll():
                yield item
            return
        async with socket:
            await socket.send(
                json.dumps({"type": "subscribe", "stream": "hashtag", "tag": self.config.tag})
            )
            log.info("%s: streaming #%s", self.name, self.config.tag)
            yield Notice("streaming")
            # The stream has no replay: fetch what came since the cursor over REST first.
            # Anything in both is taken once: ingesting a known id changes nothing.
            async for item in self._catch_up():
                yield item
            try:
                async for message in socket:
                    for event in self._event(message):
                        yield event
                        if isinstance(event, Post):
                            await self._advance(event.native_id.rpartition(":")[2])
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


def _created(status: dict[str, Any]) -> datetime | None:
    try:
        return datetime.fromisoformat(str(status.get("created_at")).replace("Z", "+00:00"))
    except ValueError:
        return None


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
