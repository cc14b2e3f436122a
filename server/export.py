"""The admins' export downloads on the recap page; `usecases/exports.py` writes them."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response

from server.auth import require_moderator
from server.pages import event_or_404
from server.services import services
from usecases.exports import approved_posts, archive_zip, csv_text, jsonl_text

DOWNLOADS = ("jsonl", "csv", "zip")


async def download(request: Request) -> Response:
    """GET /e/{slug}/export.{jsonl,csv,zip}: an admin downloads the event's approved posts."""
    svc = services(request)
    slug, kind = request.path_params["slug"], request.path_params["kind"]
    if kind not in DOWNLOADS:
        raise HTTPException(404, "Exports are .jsonl, .csv or .zip.")
    _, moderator = await require_moderator(request, slug)
    if not moderator.admin:
        raise HTTPException(403, "Only admins export events.")
    event = await event_or_404(request)
    posts = await approved_posts(svc.store, slug)
    stamp = datetime.now(UTC).strftime("%Y%m%d")
    name = f"{slug}-{stamp}.{kind}"
    if kind == "jsonl":
        body: bytes = jsonl_text(posts).encode()
        media_type = "application/x-ndjson"
    elif kind == "csv":
        body, media_type = csv_text(posts).encode(), "text/csv; charset=utf-8"
    else:
        body = await asyncio.to_thread(
            archive_zip, event, posts, media_dir=svc.settings.media_dir, renderer=svc.renderer
        )
        media_type = "application/zip"
    headers = {
        "content-disposition": f'attachment; filename="{name}"',
        "cache-control": "no-store",
    }
    return Response(body, media_type=media_type, headers=headers)
