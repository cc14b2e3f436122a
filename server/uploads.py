"""Attendee uploads at /e/{slug}/post, the wall's QR target: no account, into moderation."""

from __future__ import annotations

from starlette.datastructures import UploadFile
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.staticfiles import StaticFiles
from starlette.types import Scope

from ingest.media import LocalStorage, PhotoPipeline
from server.pages import event_or_404
from server.services import services
from usecases import uploads
from wall.models import Event

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
        max_text=uploads.MAX_TEXT,
        max_mb=svc.settings.media_max_bytes // 1_000_000,
    )
    return HTMLResponse(html, status_code=status, headers={"cache-control": "no-store"})


async def post_form(request: Request) -> Response:
    """GET: the form. POST: take an attendee's text and photo into the moderation queue."""
    event = await event_or_404(request)
    if request.method == "GET":
        return _page(request, event)
    svc = services(request)
    limit = svc.settings.media_max_bytes
    too_big = f"That photo is too big: at most {limit // 1_000_000} MB."
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit + 100_000:
        return _page(request, event, status=413, error=too_big)
    async with request.form(max_files=1, max_fields=8) as form:
        text = str(form.get("text") or "").strip()
        name = str(form.get("name") or "").strip()[: uploads.MAX_NAME]
        photo = form.get("photo")
        if form.get(HONEYPOT):
            # Look like success, so the bot learns nothing.
            return _page(request, event, thanks=uploads.THANKS)
        if len(text) > uploads.MAX_TEXT:
            # Refused before reading the photo: the use-case gives the message.
            photo = None
        data = b""
        if isinstance(photo, UploadFile) and photo.filename:
            data = await photo.read(limit + 1)
            if len(data) > limit:
                return _page(request, event, status=413, error=too_big, text=text, name=name)
    if len(text) <= uploads.MAX_TEXT and (text or data):
        ip = request.client.host if request.client else "unknown"
        settings = svc.settings
        if not await uploads.within_rate(
            svc.stores, event.slug, ip, rate=settings.upload_rate, window=settings.upload_window
        ):
            return _page(
                request,
                event,
                status=429,
                error="You have posted a lot just now. Please wait a few minutes and try again.",
                text=text,
                name=name,
            )
    pipeline = PhotoPipeline(
        LocalStorage(svc.settings.media_dir),
        None,
        max_bytes=limit,
        max_pixels=svc.settings.media_max_pixels,
    )
    result = await uploads.submit(svc.stores, event, pipeline, text=text, name=name, photo=data)
    if not result.ok:
        return _page(request, event, status=400, error=result.message, text=text, name=name)
    return _page(request, event, status=201, thanks=result.message)


class MediaFiles(StaticFiles):
    """Media files; content-addressed ones never change, so they are cached for a year."""

    async def get_response(self, path: str, scope: Scope) -> Response:
        response = await super().get_response(path, scope)
        if path.startswith("p/") and response.status_code == 200:
            response.headers["cache-control"] = "public, max-age=31536000, immutable"
        return response
