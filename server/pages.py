"""HTTP pages: the event list, the wall, the live page, and the health check."""

from __future__ import annotations

import asyncio

from redis.exceptions import RedisError
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import HTMLResponse, PlainTextResponse, Response

from server.services import services
from wall.mod_store import ModerationStore
from wall.models import Event
from wall.moderation import State


async def _event(request: Request) -> Event:
    event = await services(request).store.get_event(request.path_params["slug"])
    if event is None:
        raise HTTPException(404, f"No event called {request.path_params['slug']!r}.")
    return event


async def index(request: Request) -> Response:
    """Every event, with links to its screens."""
    svc = services(request)
    events = await svc.store.list_events()
    return HTMLResponse(svc.renderer.page("index.html", events=events))


async def _screen(request: Request, template: str) -> Response:
    svc = services(request)
    event = await _event(request)
    since, posts = await svc.store.snapshot(event.slug, limit=svc.settings.page_size)
    mod = ModerationStore(svc.redis)
    announcement = await mod.announcement(event.slug)
    spotlight = None
    for post_id in await mod.pinned(event.slug):
        if await svc.store.get_state(event.slug, post_id) == State.APPROVED:
            spotlight = await svc.store.get_post(event.slug, post_id)
    html = svc.renderer.page(
        template,
        event=event,
        posts=posts,
        since=since,
        announcement=announcement,
        spotlight=spotlight,
    )
    return HTMLResponse(html, headers={"cache-control": "no-store"})


async def wall(request: Request) -> Response:
    """The projector wall: approved posts, newest first, live."""
    return await _screen(request, "wall.html")


async def live(request: Request) -> Response:
    """The live page for remote followers."""
    return await _screen(request, "live.html")


async def healthz(request: Request) -> Response:
    """200 when Redis answers, 503 when it does not."""
    try:
        await asyncio.wait_for(services(request).redis.ping(), 2)
    except (RedisError, OSError, TimeoutError) as exc:
        return PlainTextResponse(f"redis unreachable: {type(exc).__name__}\n", status_code=503)
    return PlainTextResponse("ok\n")
