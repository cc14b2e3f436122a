"""Request body size: refuse big bodies with 413 before a handler reads them into memory."""

from __future__ import annotations

import re

from starlette.types import ASGIApp, Message, Receive, Scope, Send

# Attendee uploads carry a photo; every other route takes a small form or nothing.
_UPLOAD = re.compile(r"^/e/[^/]+/post$")
# Room for the multipart envelope and the text fields around an upload's photo. The upload
# handler answers a little past MEDIA_MAX_BYTES itself, with its own page; this is the backstop.
UPLOAD_OVERHEAD = 1_000_000


class BodyTooLarge(Exception):
    """The body went past its limit while it was being read."""


class BodyLimit:
    """Pure ASGI middleware: 413 for a declared or streamed body past the route's limit."""

    def __init__(self, app: ASGIApp, *, max_body: int, max_upload: int) -> None:
        self.app = app
        self.max_body = max_body
        self.max_upload = max_upload + UPLOAD_OVERHEAD

    def limit_for(self, path: str) -> int:
        """The most bytes a request to this path may send."""
        return self.max_upload if _UPLOAD.match(path) else self.max_body

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.limit_for(scope["path"])
        declared = dict(scope["headers"]).get(b"content-length", b"")
        if declared.isdigit() and int(declared) > limit:
            await _too_large(send, limit)
            return
        received = 0
        started = False

        async def counted_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise BodyTooLarge
            return message

        async def tracked_send(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counted_receive, tracked_send)
        except BodyTooLarge:
            if not started:
                await _too_large(send, limit)


async def _too_large(send: Send, limit: int) -> None:
    body = f"Request body too large: at most {limit} bytes are accepted here.\n".encode()
    await send(
        {
            "type": "http.response.start",
            "status": 413,
            "headers": [
                (b"content-type", b"text/plain; charset=utf-8"),
                (b"content-length", str(len(body)).encode()),
                (b"connection", b"close"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
