"""The live page for remote followers, its history pages, gallery, embed and feeds.

History (older pages, the gallery, the feeds) is read by cursor, never by offset, and
carries an ETag; the live page itself is `no-store`, since it is rendered at a change id.
"""

from __future__ import annotations

import hashlib
from typing import Any

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response

from server.feeds import absolute, atom_feed, json_feed
from server.headers import frame_ancestors
from server.pages import event_or_404, screen_extras
from server.services import Services, services
from server.site import site_base
from wall.details import EventInfo
from wall.models import Post
from wall.ordering import Cursor, next_cursor

GALLERY_POSTS = 200
FEED_POSTS = 50
EMBED_POSTS = 20


def _base(request: Request) -> str:
    return site_base(request, services(request).settings)


def _before(request: Request) -> Cursor | None:
    raw = request.query_params.get("before")
    if raw is None:
        return None
    cursor = Cursor.decode(raw)
    if cursor is None:
        raise HTTPException(400, "before: not a cursor")
    return cursor


async def _older(svc: Services, slug: str, cursor: Cursor) -> list[Post]:
    return await svc.store.posts_before(
        slug, cursor.score, cursor.post_id, limit=svc.settings.page_size
    )


def cached(request: Request, body: str | bytes, media_type: str) -> Response:
    """A response with an ETag of its body; 304 when the client already has it.

    The tag is weak (W/): gzip may re-encode the bytes, the content stays the same.
    """
    data = body.encode() if isinstance(body, str) else body
    opaque = '"' + hashlib.sha256(data).hexdigest()[:32] + '"'
    headers = {"etag": f"W/{opaque}", "cache-control": "no-cache"}
    match = request.headers.get("if-none-match", "")
    if opaque in {t.strip().removeprefix("W/") for t in match.split(",")} or match == "*":
        return Response(status_code=304, headers=headers)
    return Response(data, media_type=media_type, headers=headers)


def _og_image(base: str, posts: list[Post]) -> str:
    for post in posts:
        for photo in post.photos:
            if not post.sensitive and not post.warned:
                return absolute(base, photo.url)
    return ""


async def live_page(request: Request) -> Response:
    """The live page: the newest approved posts, live; with ?before=, an older page."""
    svc = services(request)
    event = await event_or_404(request)
    cursor = _before(request)
    base = _base(request)
    context: dict[str, Any] = {
        "event": event,
        "info": EventInfo.of(event),
        "base": base,
        "page_url": f"{base}/e/{event.slug}/live",
        "page_size": svc.settings.page_size,
    }
    if cursor is not None:
        # A history page: what was before the cursor, for readers without JavaScript.
        posts = await _older(svc, event.slug, cursor)
        context |= {"posts": posts, "since": "", "history": True}
        context["older"] = next_cursor(posts, svc.settings.page_size)
        html = svc.renderer.page("live.html", og_image=_og_image(base, posts), **context)
        return cached(request, html, "text/html; charset=utf-8")
    since, posts = await svc.store.snapshot(event.slug, limit=svc.settings.page_size)
    context |= {"posts": posts, "since": since, "history": False}
    context |= await screen_extras(request, event.slug)
    context["older"] = next_cursor(posts, svc.settings.page_size)
    html = svc.renderer.page("live.html", og_image=_og_image(base, posts), **context)
    return HTMLResponse(html, headers={"cache-control": "no-store"})


async def older_posts(request: Request) -> Response:
    """The htmx partial behind "Load older": one page of posts before the cursor."""
    svc = services(request)
    event = await event_or_404(request)
    cursor = _before(request)
    if cursor is None:
        raise HTTPException(400, "before: required")
    posts = await _older(svc, event.slug, cursor)
    html = svc.renderer.page(
        "_older.html",
        event=event,
        posts=posts,
        older=next_cursor(posts, svc.settings.page_size),
    )
    return cached(request, html, "text/html; charset=utf-8")


async def gallery(request: Request) -> Response:
    """Every photo of the newest approved posts, a grid; a lightbox with JavaScript."""
    svc = services(request)
    event = await event_or_404(request)
    _, posts = await svc.store.snapshot(event.slug, limit=GALLERY_POSTS)
    # Nothing sensitive, and nothing behind a content warning (its caption is its text).
    photos = [
        (post, photo)
        for post in posts
        if not post.sensitive and not post.warned
        for photo in post.photos
    ]
    html = svc.renderer.page("gallery.html", event=event, photos=photos)
    return cached(request, html, "text/html; charset=utf-8")


async def embed(request: Request) -> Response:
    """A compact live view for an iframe; EMBED_ORIGINS says which sites may frame it."""
    svc = services(request)
    event = await event_or_404(request)
    since, posts = await svc.store.snapshot(event.slug, limit=EMBED_POSTS)
    html = svc.renderer.page(
        "embed.html", event=event, posts=posts, since=since, max_posts=EMBED_POSTS
    )
    return HTMLResponse(
        html,
        headers={
            "cache-control": "no-store",
            "content-security-policy": frame_ancestors(svc.settings.embed_origins),
        },
    )


async def feed_json(request: Request) -> Response:
    """The newest approved posts as JSON Feed 1.1."""
    svc = services(request)
    event = await event_or_404(request)
    _, posts = await svc.store.snapshot(event.slug, limit=FEED_POSTS)
    body = json_feed(event, posts, _base(request))
    return cached(request, body, "application/feed+json")


async def feed_atom(request: Request) -> Response:
    """The newest approved posts as an Atom feed."""
    svc = services(request)
    event = await event_or_404(request)
    _, posts = await svc.store.snapshot(event.slug, limit=FEED_POSTS)
    return cached(request, atom_feed(event, posts, _base(request)), "application/atom+xml")
