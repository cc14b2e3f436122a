"""Exports of an event's approved posts: JSONL (replayable), CSV, and a static HTML archive.

One implementation for `eventwall export` and the admins' downloads on the recap page;
the archive's page is rendered by whatever `render_page` the caller passes (the web's
Jinja renderer), so this layer needs nothing from the web server.
The archive is a folder: `index.html` (the recap, then every post), `style.css`, and the
local photos under `media/`, with every URL relative, so it opens from file:// with no
network request and no script.
"""

from __future__ import annotations

import csv
import io
import logging
import shutil
import tempfile
import zipfile
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

from usecases.recap import build_recap
from wall.export import CSV_COLUMNS, archive_post, csv_row, jsonl_line, media_files, media_path
from wall.models import Event, Post
from wall.store import Store

log = logging.getLogger(__name__)
Progress = Callable[[int, int], None]
FORMATS = ("jsonl", "csv", "html")
STATIC = Path(__file__).resolve().parent.parent / "static"
ARCHIVE_CSS = ("eventwall.css", "live.css", "recap.css")


def _quiet(done: int, total: int) -> None:
    pass


class PageRenderer(Protocol):
    """Renders a named template with its context (the web's `Renderer.page`)."""

    def page(self, name: str, **context: Any) -> str:
        """The rendered page."""
        ...


async def approved_posts(store: Store, slug: str, progress: Progress = _quiet) -> list[Post]:
    """Every approved post of the event, oldest first (progress per batch read)."""
    return await store.all_posts(slug, progress=progress)


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
    renderer: PageRenderer,
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


def archive_zip(
    event: Event, posts: list[Post], *, media_dir: Path, renderer: PageRenderer
) -> bytes:
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
