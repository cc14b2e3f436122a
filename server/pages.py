"""HTTP pages: the event list and the health check (the wall: wall_page; the live page: live)."""

from __future__ import annotations

import asyncio
from typing import Any

from redis.exceptions import RedisClusterException, RedisError
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import HTMLResponse, PlainTextResponse, Response

from server.services import services
from wall.models import Event
from wall.moderation import State


async def event_or_404(request: Request) -> Event:
    """The event the URL's `{slug}` names; 404 with a clear message when there is none."""
    event = await services(request).store.get_event(request.path_params["slug"])
    if event is None:
        raise HTTPException(404, f"No event called {request.path_params['slug']!r}.")
    services(request).renderer.remember(event)  # live pushes show times in its zone
    return event


async def index(request: Request) -> Response:
    """Every event, with links to its screens."""
    svc = services(request)
    events = await svc.store.list_events()
    return HTMLResponse(svc.renderer.page("index.html", events=events))


async def screen_extras(request: Request, slug: str) -> dict[str, Any]:
    """What every public screen shows beside its posts: the announcement and the spotlight."""
    svc = services(request)
    mod = svc.stores.mod
    spotlight = None
    for post_id in await mod.pinned(slug):
        if await svc.store.get_state(slug, post_id) == State.APPROVED:
            spotlight = await svc.store.get_post(slug, post_id)
    return {"announcement": await mod.announcement(slug), "spotlight": spotlight}


async def healthz(request: Request) -> Response:
    """200 when Redis answers, 503 when it does not."""
    try:
        await asyncio.wait_for(services(request).redis.ping(), 2)
    except (RedisError, RedisClusterException, OSError, TimeoutError) as exc:
        return PlainTextResponse(f"redis unreachable: {type(exc).__name__}\n", status_code=503)
    return PlainTextResponse("ok\n")
