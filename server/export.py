"""Exports of an event's approved posts: JSONL (replayable), CSV, and a static HTML archive.

One implementation for `eventwall export` and the admins' downloads on the recap page.
The archive is a folder: `index.html` (the recap, then every post), `style.css`, and the
local photos under `media/`, with every URL relative, so it opens from file:// with no
network request and no script.
"""

from __future__ import annotations

import asyncio
import csv
import io
import logging
import shutil
import tempfile
import zipfile
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response

from server.auth import require_moderator
from server.pages import event_or_404
from server.recap import build_recap
from server.render import Renderer
from server.services import services
from wall.export import CSV_COLUMNS, archive_post, csv_row, jsonl_line, media_files, media_path
from wall.models import Event, Post
from wall.store import Store

log = logging.getLogger(__name__)
Progress = Callable[[int, int], None]
FORMATS = ("jsonl", "csv", "html")
DOWNLOADS = ("jsonl", "csv", "zip")
BATCH = 500
STATIC = Path(__file__).resolve().parent.parent / "static"
ARCHIVE_CSS = ("eventwall.css", "live.css", "recap.css")


def _quiet(done: int, total: int) -> None:
    pass


async def approved_posts(store: Store, slug: str, progress: Progress = _quiet) -> list[Post]:
    """Every approved post of the event, oldest first, read in batches (progress per batch)."""
    ids = await store.post_ids(slug)
    posts: list[Post] = []
    progress(0, len(ids))
    for i in range(0, len(ids), BATCH):
        posts += await store.load(slug, ids[i : i + BATCH])
        progress(min(i + BATCH, len(ids)), len(ids))
    return posts


def jsonl_text(posts: list[Post]) -> str:
    """The posts in the replay format, one a line."""
    return "".join(jsonl_line(p) + "\n" for p in posts)


def csv_text(posts: list[Post]) -> str:
    """The posts as CSV with a header row (RFC 4180 quoting, CRLF line ends)."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(CSV_COLUMNS)
    writer.writerows(csv_row(p) for p in posts)
    return out.getvalue()


def write_archive(
    folder: Path,
    event: Event,
    posts: list[Post],
    *,
    media_dir: Path,
    renderer: Renderer,
    progress: Progress = _quiet,
) -> int:
    """Write the static archive into `folder`; returns how many media files it copied."""
    folder.mkdir(parents=True, exist_ok=True)
    root = media_dir.resolve()
    copied: set[str] = set()
    urls = media_files(posts)
    for done, url in enumerate(urls, start=1):
        relative = media_path(url)
        source = (media_dir / url.removeprefix("/media/")).resolve()
        if relative is None or not source.is_relative_to(root) or not source.is_file():
            log.warning("archive of %s: media file missing: %s", event.slug, url)
        else:
            target = folder / relative
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(source, target)
            copied.add(relative)
        progress(done, len(urls))
    archived = [archive_post(p, copied) for p in posts]
    html = renderer.page(
        "archive.html",
        event=event,
        recap=build_recap(event, archived),
        posts=archived,
        archive=True,
        photo_limit=0,
        made_at=datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
    )
    (folder / "index.html").write_text(html, encoding="utf-8")
    css = "\n".join((STATIC / name).read_text(encoding="utf-8") for name in ARCHIVE_CSS)
    (folder / "style.css").write_text(css, encoding="utf-8")
    return len(copied)


def archive_zip(event: Event, posts: list[Post], *, media_dir: Path, renderer: Renderer) -> bytes:
    """The static archive as a zip holding one folder named after the event."""
    with tempfile.TemporaryDirectory(prefix="eventwall-archive-") as tmp:
        folder = Path(tmp) / event.slug
        write_archive(folder, event, posts, media_dir=media_dir, renderer=renderer)
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
            for path in sorted(folder.rglob("*")):
                if path.is_file():
                    # Photos are JPEG already: deflating them again only costs time.
                    kind = zipfile.ZIP_STORED if path.suffix == ".jpg" else zipfile.ZIP_DEFLATED
                    archive.write(path, path.relative_to(Path(tmp)).as_posix(), kind)
        return buffer.getvalue()


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
