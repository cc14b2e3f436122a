"""The join page, the wall's QR target: post a photo or follow live, on one phone screen."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import HTMLResponse, Response

from server.pages import event_or_404
from server.services import services
from usecases.uploads import MAX_TEXT


async def join(request: Request) -> Response:
    """What someone who scanned the wall's QR code sees: the upload form, the live page's link
    and the event's hashtag to copy."""
    svc = services(request)
    event = await event_or_404(request)
    html = svc.renderer.page(
        "join.html",
        event=event,
        text="",
        author_name="",
        max_text=MAX_TEXT,
        max_mb=svc.settings.media_max_bytes // 1_000_000,
    )
    return HTMLResponse(html, headers={"cache-control": "no-store"})
