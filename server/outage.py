"""Redis unreachable (down, or no free connection in time): 503 for pages, 1013 for sockets.

One exception handler for the whole app, so no handler needs its own try/except: a page
gets a short page that retries by itself, a websocket is closed with 1013 (the htmx
websocket extension reconnects on it, with its resume id), and the log gets one line —
at most one per LOG_EVERY seconds, however many requests failed meanwhile.
"""

from __future__ import annotations

import logging
import time

from starlette.requests import HTTPConnection, Request
from starlette.responses import HTMLResponse, JSONResponse, PlainTextResponse, Response
from starlette.websockets import WebSocket, WebSocketState

from server.hub import TRY_AGAIN_LATER

log = logging.getLogger(__name__)

RETRY_AFTER = 5  # seconds; the page reloads itself after as long
LOG_EVERY = 5.0
NOT_SAVED = "Not saved: the server can't reach its database. Try again in a moment."
PAGE = f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="refresh" content="{RETRY_AFTER}">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Back in a moment</title></head>
<body><p>Eventwall can't reach its database right now.
This page tries again by itself in a few seconds.</p></body></html>
"""


class Unavailable:
    """The handler for RedisError; counts what it answered since it last logged."""

    def __init__(self) -> None:
        self.answered = 0
        self._logged_at = 0.0
        self._unlogged = 0

    def _note(self, conn: HTTPConnection, exc: Exception) -> None:
        self.answered += 1
        self._unlogged += 1
        now = time.monotonic()
        if now - self._logged_at >= LOG_EVERY:
            log.warning(
                "redis unavailable (%s: %s); answered %d request(s) with 503/1013, latest %s",
                type(exc).__name__,
                exc,
                self._unlogged,
                conn.url.path,
            )
            self._logged_at, self._unlogged = now, 0

    async def __call__(self, conn: HTTPConnection, exc: Exception) -> Response | None:
        """503 with a page that retries (or plain text for htmx), or a 1013 close."""
        self._note(conn, exc)
        if isinstance(conn, WebSocket):
            await close_try_later(conn)
            return None
        headers = {"Retry-After": str(RETRY_AFTER), "Cache-Control": "no-store"}
        if "application/json" in conn.headers.get("accept", ""):
            # The console's decisions: it shows the message and marks the server unreachable.
            return JSONResponse({"ok": False, "message": NOT_SAVED}, 503, headers)
        if isinstance(conn, Request) and conn.headers.get("hx-request"):
            return PlainTextResponse(NOT_SAVED + "\n", 503, headers)
        return HTMLResponse(PAGE, 503, headers)


async def close_try_later(websocket: WebSocket, reason: str = "redis unavailable") -> None:
    """Close with 1013, accepting first if need be: a close before accept reaches the
    browser as a bare HTTP 403, and the htmx extension only reconnects on a close code."""
    try:
        if websocket.application_state == WebSocketState.CONNECTING:
            await websocket.accept()
        if websocket.application_state == WebSocketState.CONNECTED:
            await websocket.close(code=TRY_AGAIN_LATER, reason=reason)
    except (RuntimeError, OSError):
        pass  # the client went away meanwhile
