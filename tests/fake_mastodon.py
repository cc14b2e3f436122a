"""A fake Mastodon server: the REST hashtag timeline and the streaming websocket, on loopback.

Payloads are written in Mastodon's real formats (API v1 statuses, streaming events with a
JSON-encoded `payload` string) so the source under test parses exactly what it would in
production.
"""

from __future__ import annotations

import json
import re
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route, WebSocketRoute
from starlette.websockets import WebSocket, WebSocketDisconnect

TOKEN = "s3cret-token"
CORPUS = Path(__file__).resolve().parent / "corpus" / "real" / "mastodon"
# Media a recorded status names (avatars, attachments, emoji, card images) on real hosts.
_MEDIA_KEYS = ("avatar", "avatar_static", "url", "preview_url", "static_url", "image")
_REMOTE = re.compile(r"^https?://[^/]+")


def recorded(name: str) -> Any:
    """A recorded payload from tests/corpus/real/mastodon (see SOURCES.md there)."""
    return json.loads((CORPUS / name).read_text())


def local_media(value: Any, base: str) -> Any:
    """The payload with every media URL moved onto the fake (`{base}/remote/<host>/<path>`),
    so fetching an avatar or an attachment never leaves loopback. Links in text are kept."""
    if isinstance(value, list):
        return [local_media(v, base) for v in value]
    if not isinstance(value, dict):
        return value
    moved: dict[str, Any] = {}
    media = value.get("type") in ("image", "video", "gifv") or "shortcode" in value
    for key, item in value.items():
        if isinstance(item, str) and key in _MEDIA_KEYS and _REMOTE.match(item):
            is_media = key != "url" or media
            moved[key] = (
                _REMOTE.sub(lambda m: f"{base}/remote/{m.group(0).split('//')[1]}", item)
                if is_media
                else item
            )
        else:
            moved[key] = local_media(item, base)
    return moved


def status(
    status_id: int | str,
    text: str = "",
    *,
    tag: str = "testevent",
    acct: str = "ada",
    images: list[dict[str, Any]] | None = None,
    **extra: Any,
) -> dict[str, Any]:
    """A status as GET /api/v1/timelines/tag/:tag returns it."""
    body = {
        "id": str(status_id),
        "created_at": datetime.now(UTC).isoformat().replace("+00:00", "Z"),
        "in_reply_to_id": None,
        "sensitive": False,
        "spoiler_text": "",
        "visibility": "public",
        "language": "en",
        "uri": f"https://fake.example/users/{acct}/statuses/{status_id}",
        "url": f"https://fake.example/@{acct}/{status_id}",
        "replies_count": 0,
        "reblogs_count": 0,
        "favourites_count": 0,
        "edited_at": None,
        "content": f"<p>{text or f'status {status_id}'} "
        f'<a href="https://fake.example/tags/{tag}" class="mention hashtag" rel="tag">#<span>{tag}</span></a></p>',
        "reblog": None,
        "account": {
            "id": "1",
            "username": acct.split("@")[0],
            "acct": acct,
            "display_name": acct.title(),
            "url": f"https://fake.example/@{acct}",
            "avatar": "https://fake.example/avatars/original/missing.png",
            "avatar_static": "https://fake.example/avatars/original/missing.png",
        },
        "media_attachments": images or [],
        "mentions": [],
        "tags": [{"name": tag, "url": f"https://fake.example/tags/{tag}"}],
        "emojis": [],
    }
    body.update(extra)
    return body


def image(url: str, description: str = "") -> dict[str, Any]:
    """A media attachment of type image."""
    return {
        "id": "77",
        "type": "image",
        "url": url,
        "preview_url": url,
        "description": description or None,
        "meta": {"original": {"width": 64, "height": 32}},
    }


@dataclass
class FakeMastodon:
    """State of the fake server; tests add statuses, push stream events, drop sockets."""

    statuses: list[dict[str, Any]] = field(default_factory=list)
    requests: list[dict[str, Any]] = field(default_factory=list)
    rate_limited: int = 0  # answer this many timeline requests with 429 first
    exhaust_after: int = -1  # after this many OK requests, say X-RateLimit-Remaining: 0
    reset_in: float = 1.0
    sockets: list[WebSocket] = field(default_factory=list)
    subscriptions: list[dict[str, Any]] = field(default_factory=list)
    raw_timeline: list[Any] | None = None  # served as is, for malformed payloads
    files: dict[str, bytes] = field(default_factory=dict)  # served at /system/{name}
    any_tag: bool = False  # serve every status whatever tag is asked (recorded ones)
    remote_image: bytes = b""  # served for any /remote/... path (recorded media URLs)
    remote_requests: list[str] = field(default_factory=list)
    instance: dict[str, Any] | None = None  # GET /api/v2/instance; 404 when None
    streaming_redirect: str = ""  # answer the streaming upgrade with a redirect here
    retry_after: str = ""  # with rate_limited: a Retry-After header instead of a reset time

    def app(self) -> Starlette:
        """The Starlette app serving this fake."""
        return Starlette(
            routes=[
                Route("/api/v1/timelines/tag/{tag}", self.timeline),
                Route("/api/v2/instance", self.instance_info),
                WebSocketRoute("/api/v1/streaming", self.streaming),
                Route("/system/{name}", self.file),
                Route("/remote/{path:path}", self.remote),
            ]
        )

    def _reset_header(self) -> str:
        return (datetime.now(UTC) + timedelta(seconds=self.reset_in)).isoformat()

    async def timeline(self, request: Request) -> Response:
        """GET /api/v1/timelines/tag/:tag with min_id / limit, newest first."""
        params = dict(request.query_params)
        self.requests.append(
            {
                "params": params,
                "at": time.monotonic(),
                "ua": request.headers.get("user-agent"),
                "tag": request.path_params["tag"],
            }
        )
        if self.rate_limited > 0:
            self.rate_limited -= 1
            limited = {"X-RateLimit-Limit": "300", "X-RateLimit-Remaining": "0"}
            if self.retry_after:
                limited["Retry-After"] = self.retry_after
            else:
                limited["X-RateLimit-Reset"] = self._reset_header()
            return JSONResponse({"error": "Too many requests"}, 429, headers=limited)
        if self.raw_timeline is not None:
            return JSONResponse(self.raw_timeline)
        tag = request.path_params["tag"]
        limit = min(int(params.get("limit", 20)), 40)
        matching = [
            s for s in self.statuses if self.any_tag or any(t["name"] == tag for t in s["tags"])
        ]
        matching.sort(key=lambda s: int(s["id"]))
        if "max_id" in params:
            matching = [s for s in matching if int(s["id"]) < int(params["max_id"])]
        if "min_id" in params:
            newer = [s for s in matching if int(s["id"]) > int(params["min_id"])]
            page = newer[:limit]
        else:
            page = matching[-limit:]
        remaining = 300 - len(self.requests)
        if self.exhaust_after >= 0 and len(self.requests) > self.exhaust_after:
            remaining = 0
        headers = {
            "X-RateLimit-Limit": "300",
            "X-RateLimit-Remaining": str(remaining),
            "X-RateLimit-Reset": self._reset_header(),
        }
        return JSONResponse(list(reversed(page)), headers=headers)

    async def instance_info(self, request: Request) -> Response:
        """GET /api/v2/instance: where the streaming API lives."""
        if self.instance is None:
            return JSONResponse({"error": "Record not found"}, 404)
        return JSONResponse(self.instance)

    async def remote(self, request: Request) -> Response:
        """A recorded payload's media, moved here by `local_media`."""
        self.remote_requests.append(request.path_params["path"])
        if not self.remote_image:
            return Response("not found", 404)
        return Response(self.remote_image, media_type="image/jpeg")

    def remove(self, status_id: str) -> None:
        """Delete a status, as its author would."""
        self.statuses = [s for s in self.statuses if s["id"] != status_id]

    async def file(self, request: Request) -> Response:
        """A media file, as a Mastodon server's /system/ folder serves it."""
        name = request.path_params["name"]
        if name not in self.files:
            return Response("not found", 404)
        return Response(self.files[name], media_type="image/jpeg")

    async def streaming(self, socket: WebSocket) -> None:
        """The streaming API: a token is required; subscribe messages name the hashtag."""
        if self.streaming_redirect:
            # What a server whose streaming API lives on another host answers.
            await socket.send_denial_response(
                Response(status_code=301, headers={"Location": self.streaming_redirect})
            )
            return
        if socket.headers.get("authorization") != f"Bearer {TOKEN}":
            await socket.close(code=4001)  # Mastodon refuses the upgrade; close is close enough
            return
        await socket.accept()
        self.sockets.append(socket)
        try:
            while True:
                message = json.loads(await socket.receive_text())
                self.subscriptions.append(message)
        except WebSocketDisconnect:
            pass
        finally:
            if socket in self.sockets:
                self.sockets.remove(socket)

    async def push(self, event: str, payload: Any, *, tag: str = "testevent") -> None:
        """Send a streaming event to every subscriber, as Mastodon frames it."""
        body = payload if isinstance(payload, str) else json.dumps(payload)
        frame = json.dumps({"stream": ["hashtag", tag], "event": event, "payload": body})
        await self.push_raw(frame)

    async def push_raw(self, frame: str) -> None:
        """Send a frame as is (for malformed ones)."""
        for socket in list(self.sockets):
            await socket.send_text(frame)

    async def drop(self) -> None:
        """Close every streaming connection, as a restarting server would."""
        for socket in list(self.sockets):
            self.sockets.remove(socket)
            await socket.close(code=1012)
