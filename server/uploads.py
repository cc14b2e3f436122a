"""Attendee uploads at /e/{slug}/post, the wall's QR target: no account, into moderation."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from starlette.datastructures import UploadFile
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.staticfiles import StaticFiles
from starlette.types import Scope

from ingest.media import LocalStorage, MediaError, PhotoPipeline
from ingest.pipeline import take
from server.pages import event_or_404
from server.services import services
from wall.models import Author, Event, Photo, Post
from wall.moderation import State

MAX_TEXT = 500
MAX_NAME = 60
HONEYPOT = "website"  # hidden from people by CSS; bots fill every field they find


def _page(
    request: Request,
    event: Event,
    *,
    status: int = 200,
    error: str = "",
    thanks: str = "",
    text: str = "",
    name: str = "",
) -> Response:
    svc = services(request)
    html = svc.renderer.page(
        "post_form.html",
        event=event,
        error=error,
        thanks=thanks,
        text=text,
        author_name=name,
        max_text=MAX_TEXT,
        max_mb=svc.settings.media_max_bytes // 1_000_000,
    )
    return HTMLResponse(html, status_code=status, headers={"cache-control": "no-store"})


async def _within_rate(request: Request, event: Event) -> bool:
    svc = services(request)
    ip = request.client.host if request.client else "unknown"
    key = f"ew:rl:upload:{event.slug}:{ip}"
    count = int(await svc.redis.incr(key))
    if count == 1:
        await svc.redis.expire(key, svc.settings.upload_window)
    return count <= svc.settings.upload_rate


async def post_form(request: Request) -> Response:
    """GET: the form. POST: take an attendee's text and photo into the moderation queue."""
    event = await event_or_404(request)
    if request.method == "GET":
        return _page(request, event)
    svc = services(request)
    limit = svc.settings.media_max_bytes
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit + 100_000:
        return _page(
            request,
            event,
            status=413,
            error=f"That photo is too big: at most {limit // 1_000_000} MB.",
        )
    async with request.form(max_files=1, max_fields=8) as form:
        text = str(form.get("text") or "").strip()
        name = str(form.get("name") or "").strip()[:MAX_NAME]
        photo = form.get("photo")
        if form.get(HONEYPOT):
            # Look like success, so the bot learns nothing.
            return _page(request, event, thanks="Thanks! Your post is waiting for a moderator.")
        if len(text) > MAX_TEXT:
            return _page(
                request,
                event,
                status=400,
                error=f"Please keep it under {MAX_TEXT} characters (yours has {len(text)}).",
                text=text,
                name=name,
            )
        data = b""
        if isinstance(photo, UploadFile) and photo.filename:
            data = await photo.read(limit + 1)
            if len(data) > limit:
                return _page(
                    request,
                    event,
                    status=413,
                    error=f"That photo is too big: at most {limit // 1_000_000} MB.",
                    text=text,
                    name=name,
                )
    if not text and not data:
        return _page(request, event, status=400, error="Write something or add a photo.", name=name)
    if not await _within_rate(request, event):
        return _page(
            request,
            event,
            status=429,
            error="You have posted a lot just now. Please wait a few minutes and try again.",
            text=text,
            name=name,
        )
    photos: tuple[Photo, ...] = ()
    if data:
        pipeline = PhotoPipeline(
            LocalStorage(svc.settings.media_dir),
            None,
            max_bytes=limit,
            max_pixels=svc.settings.media_max_pixels,
        )
        try:
            photos = (await pipeline.store_bytes(data, alt=text[:200] or "Photo from an attendee"),)
        except MediaError:
            return _page(
                request,
                event,
                status=400,
                error="We couldn't read that photo. Please send a JPEG, PNG, GIF or WebP picture.",
                text=text,
                name=name,
            )
    post = Post(
        source="upload",
        native_id=uuid.uuid4().hex,
        author=Author(handle=name or "Attendee", display_name=name),
        text=text,
        created_at=datetime.now(UTC),
        photos=photos,
        hashtags=event.hashtags[:1],
    )
    await take(svc.store, event, post, state=State.PENDING)
    return _page(request, event, status=201, thanks="Thanks! Your post is waiting for a moderator.")


class MediaFiles(StaticFiles):
    """Media files; content-addressed ones never change, so they are cached for a year."""

    async def get_response(self, path: str, scope: Scope) -> Response:
        response = await super().get_response(path, scope)
        if path.startswith("p/") and response.status_code == 200:
            response.headers["cache-control"] = "public, max-age=31536000, immutable"
        return response
