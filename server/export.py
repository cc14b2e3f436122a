"""The admins' export downloads on the recap page; `usecases/exports.py` writes them."""

from __future__ import annotations

import asyncio
import shutil
import tempfile
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse

from server.auth import require_moderator
from server.pages import event_or_404
from server.services import services
from usecases.exports import export_chunks, write_archive, zip_folder

DOWNLOADS = ("jsonl", "csv", "zip")


async def _file_chunks(path: Path, tmp: Path) -> AsyncIterator[bytes]:
    try:
        with path.open("rb") as handle:
            while chunk := await asyncio.to_thread(handle.read, 256 * 1024):
                yield chunk
    finally:
        await asyncio.to_thread(shutil.rmtree, tmp, True)


async def _encoded(chunks: AsyncIterator[str]) -> AsyncIterator[bytes]:
    async for chunk in chunks:
        yield chunk.encode()


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
    stamp = datetime.now(UTC).strftime("%Y%m%d")
    headers = {
        "content-disposition": f'attachment; filename="{slug}-{stamp}.{kind}"',
        "cache-control": "no-store",
    }
    # Streamed as read, so memory stays flat and other requests go on meanwhile.
    if kind in ("jsonl", "csv"):
        media_type = "application/x-ndjson" if kind == "jsonl" else "text/csv; charset=utf-8"
        chunks = _encoded(export_chunks(svc.store, slug, kind))
        return StreamingResponse(chunks, media_type=media_type, headers=headers)
    tmp = Path(await asyncio.to_thread(tempfile.mkdtemp, prefix="eventwall-archive-"))
    try:
        folder = tmp / event.slug
        await write_archive(
            svc.store, folder, event, media_dir=svc.settings.media_dir, renderer=svc.renderer
        )
        target = tmp / "archive.zip"
        await asyncio.to_thread(zip_folder, folder, target)
    except BaseException:
        await asyncio.to_thread(shutil.rmtree, tmp, True)
        raise
    return StreamingResponse(
        _file_chunks(target, tmp), media_type="application/zip", headers=headers
    )
