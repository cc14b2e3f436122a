"""Security headers on every HTTP response: a strict CSP and friends.

A route may send its own Content-Security-Policy (the embed does, to widen
frame-ancestors); the middleware then keeps it and leaves out X-Frame-Options,
which cannot name a list of sites and would contradict it.
"""

from __future__ import annotations

import re

from starlette.types import ASGIApp, Message, Receive, Scope, Send

# No inline script, no eval (htmx runs with allowEval false), nothing framed, nothing
# loaded from other origins: the photo pipeline stores every photo and avatar locally.
CSP_BASE = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; "
    "connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; "
    "form-action 'self'"
)
CSP = f"{CSP_BASE}; frame-ancestors 'none'"
HEADERS = [
    (b"content-security-policy", CSP.encode()),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"same-origin"),
    (b"x-frame-options", b"DENY"),
]
_ORIGIN = re.compile(r"^https?://[A-Za-z0-9.-]+(:\d{1,5})?$")
_REPLACED_BY_OWN_CSP = {b"content-security-policy", b"x-frame-options"}


def frame_ancestors(origins: str) -> str:
    """The CSP for a page that these origins (space- or comma-separated) may frame.

    Raise ValueError for anything that is not a plain scheme://host[:port] origin, so a
    typo in EMBED_ORIGINS cannot smuggle other directives into the header.
    """
    allowed = [o.rstrip("/") for o in re.split(r"[\s,]+", origins) if o]
    for origin in allowed:
        if not _ORIGIN.fullmatch(origin):
            raise ValueError(f"EMBED_ORIGINS: not an origin: {origin!r}")
    sources = " ".join(allowed) or "'none'"
    return f"{CSP_BASE}; frame-ancestors {sources}"


class SecurityHeaders:
    """Pure ASGI middleware (no BaseHTTPMiddleware: it would buffer and break websockets)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                own = list(message.get("headers", []))
                has_csp = any(k.lower() == b"content-security-policy" for k, _ in own)
                defaults = [h for h in HEADERS if not (has_csp and h[0] in _REPLACED_BY_OWN_CSP)]
                message["headers"] = [*own, *defaults]
            await send(message)

        await self.app(scope, receive, send_with_headers)
