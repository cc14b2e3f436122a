"""The recap page: the build-up chart, totals, the people, the photos and the next event.

The recap itself is built in `usecases/recap.py`; this page renders it.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import HTMLResponse, Response

from server.auth import auth
from server.pages import event_or_404
from server.services import services
from usecases.recap import recap_of

PAGE_PHOTOS = 24


async def recap_page(request: Request) -> Response:
    """The recap of an event; admins also get its export links."""
    svc = services(request)
    event = await event_or_404(request)
    found = await auth(request).current(request)
    html = svc.renderer.page(
        "recap.html",
        event=event,
        recap=await recap_of(svc.store, event),
        photo_limit=PAGE_PHOTOS,
        is_admin=bool(found and found[1].admin),
        archive=False,
    )
    return HTMLResponse(html, headers={"cache-control": "no-cache"})
