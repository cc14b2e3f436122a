"""A fake Mastodon server: the REST hashtag timeline and the streaming websocket, on loopback.

Payloads are written in Mastodon's real formats (API v1 statuses, streaming events with a
JSON-encoded `payload` string) so the source under test parses exactly what it would in
production.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route, WebSocketRoute
from starlette.websockets import WebSocket, WebSocketDisconnect

TOKEN = "s3cret-token"


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

    def app(self) -> Starlette:
        """The Starlette app serving this fake."""
        return Starlette(
            routes=[
                Route("/api/v1/timelines/tag/{tag}", self.timeline),
                WebSocketRoute("/api/v1/streaming", self.streaming),
                Route("/system/{name}", self.file),
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
            return JSONResponse(
                {"error": "Too many requests"},
                429,
                headers={
                    "X-RateLimit-Limit": "300",
                    "X-RateLimit-Remaining": "0",
                    "X-RateLimit-Reset": self._reset_header(),
                },
            )
        if self.raw_timeline is not None:
            return JSONResponse(self.raw_timeline)
        tag = request.path_params["tag"]
        limit = min(int(params.get("limit", 20)), 40)
        matching = [s for s in self.statuses if any(t["name"] == tag for t in s["tags"])]
        matching.sort(key=lambda s: int(s["id"]))
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

    async def file(self, request: Request) -> Response:
        """A media file, as a Mastodon server's /system/ folder serves it."""
        name = request.path_params["name"]
        if name not in self.files:
            return Response("not found", 404)
        return Response(self.files[name], media_type="image/jpeg")

    async def streaming(self, socket: WebSocket) -> None:
        """The streaming API: a token is required; subscribe messages name the hashtag."""
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
