"""The projector wall page: layout and theme, the join QR code, stats and faces."""

from __future__ import annotations

import dataclasses
from functools import lru_cache

import segno
from markupsafe import Markup
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response

from server.pages import event_or_404, screen_extras
from server.services import services
from wall.display import Stats, WallOptions, faces, join_prompt, join_url, short_url, wall_options
from wall.models import Event
from wall.screens import Scene, ScreenStore, screen_name


@lru_cache(maxsize=64)
def qr_svg(url: str) -> Markup:
    """The QR code of a URL as inline SVG, dark on light so every phone reads it."""
    code = segno.make(url, error="m", micro=False)
    svg = code.svg_inline(scale=1, border=2, dark="#000", light="#fff", omitsize=True)
    return Markup(svg.replace("<svg ", '<svg role="img" aria-label="QR code" ', 1))


def scene_options(own: WallOptions, scene: Scene) -> WallOptions:
    """The wall's own options (event and URL) with what a moderator chose for its screen."""
    return dataclasses.replace(
        own,
        layout=scene.layout or own.layout,
        theme=scene.theme or own.theme,
        cycle=scene.cycle or own.cycle,
    )


def sponsor_logos(event: Event) -> list[str]:
    """The sponsor strip's logos: local ones only (the CSP would refuse any other)."""
    logos = event.extra.get("sponsors", [])
    if not isinstance(logos, list):
        return []
    return [u for u in logos if isinstance(u, str) and u.startswith("/") and not u.startswith("//")]


async def wall(request: Request) -> Response:
    """The projector wall: approved posts, newest first, live; `?layout=`, `?theme=`."""
    svc = services(request)
    slug = request.path_params["slug"]
    event = await event_or_404(request)
    since, posts = await svc.store.snapshot(slug, limit=svc.settings.page_size)
    await svc.store.aggregates.ensure(slug)
    counts = await svc.store.aggregates.counts(slug)
    stats = Stats(posts=counts.posts, people=counts.people, photos=counts.photos)
    url = join_url(event, svc.settings.public_url or str(request.base_url))
    screen = screen_name(request.query_params.get("screen"))
    scene = await ScreenStore(svc.redis).scene(slug, screen)
    own = wall_options(event, request.query_params)
    html = svc.renderer.page(
        "wall.html",
        event=event,
        posts=posts,
        since=since,
        own=own,
        options=scene_options(own, scene),
        screen=screen,
        scene=scene,
        stats=stats,
        faces=faces(posts),
        join_url=url,
        join_short=short_url(url),
        join_prompt=join_prompt(event),
        qr=qr_svg(url),
        sponsors=sponsor_logos(event),
        **await screen_extras(request, slug),
    )
    return HTMLResponse(html, headers={"cache-control": "no-store"})
