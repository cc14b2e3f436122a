"""Exports of an event's approved posts: JSONL (replayable), CSV, and a static HTML archive.

One implementation for `eventwall export` and the admins' downloads on the recap page.
Every export is written as it is read, a batch of posts at a time (`Store.iter_posts`), so
memory stays flat whatever the event's size. The archive's page is rendered by whatever
renderer the caller passes (the web's Jinja renderer), so this layer needs nothing from
the web server. The archive is a folder: `index.html` (the recap, then every post),
`style.css`, and the local photos under `media/`, with every URL relative, so it opens from
file:// with no network request and no script.
"""

from __future__ import annotations

import asyncio
import csv
import dataclasses
import io
import logging
import shutil
import zipfile
from collections.abc import AsyncIterator, Callable, Iterable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

from usecases.recap import load_recap
from wall.export import CSV_COLUMNS, archive_post, csv_row, jsonl_line, media_files, media_path
from wall.models import Event, Post
from wall.moderation import State
from wall.store import Store

log = logging.getLogger(__name__)
Progress = Callable[[int, int], None]
FORMATS = ("jsonl", "csv", "html")
BATCH = 200
"""Posts read, converted and written at a time: small enough that one batch never holds
the event loop long, large enough that Redis round trips don't dominate."""
ARCHIVE_PHOTOS = 200
"""Photos in the archive's recap section; every photo is with its post below it."""
STATIC = Path(__file__).resolve().parent.parent / "static"
ARCHIVE_CSS = ("eventwall.css", "live.css", "recap.css")
_POSTS_SLOT = "<!-- posts -->"


def _quiet(done: int, total: int) -> None:
    pass


class PageRenderer(Protocol):
    """Renders a named template with its context, and one post (the web's `Renderer`)."""

    def page(self, name: str, **context: Any) -> str:
        """The rendered page."""
        ...

    def post(self, post: Post, *, oob: str = "", change_id: str = "", zone: str = "") -> str:
        """One post's partial."""
        ...


async def approved_batches(
    store: Store, slug: str, progress: Progress = _quiet
) -> AsyncIterator[list[Post]]:
    """The event's approved posts, oldest first, a batch at a time (progress after each)."""
    total = await store.count(slug, State.APPROVED)
    done = 0
    progress(0, total)
    async for batch in store.iter_posts(slug, batch=BATCH):
        done += len(batch)
        # Posts approved during the export are included: the total grows with them.
        total = max(total, done)
        progress(done, total)
        yield batch


async def approved_posts(store: Store, slug: str, progress: Progress = _quiet) -> list[Post]:
    """Every approved post of the event, oldest first (for callers that need them all)."""
    return [p async for batch in approved_batches(store, slug, progress) for p in batch]


def jsonl_text(posts: Iterable[Post]) -> str:
    """The posts in the replay format, one a line."""
    return "".join(jsonl_line(p) + "\n" for p in posts)


def csv_text(posts: Iterable[Post], *, header: bool = True) -> str:
    """The posts as CSV, with a header row unless `header` is false (RFC 4180, CRLF)."""
    out = io.StringIO()
    writer = csv.writer(out)
    if header:
        writer.writerow(CSV_COLUMNS)
    writer.writerows(csv_row(p) for p in posts)
    return out.getvalue()


async def export_chunks(
    store: Store, slug: str, kind: str, progress: Progress = _quiet
) -> AsyncIterator[str]:
    """The JSONL or CSV export as text chunks, one per batch, written as the posts are read."""
    first = True
    async for batch in approved_batches(store, slug, progress):
        # Serialized in a thread: the event loop serves other requests meanwhile.
        if kind == "jsonl":
            yield await asyncio.to_thread(jsonl_text, batch)
        else:
            yield await asyncio.to_thread(csv_text, batch, header=first)
        first = False
    if first and kind == "csv":
        yield csv_text([])


class ArchiveWriter:
    """Writes the static archive into a folder a batch of posts at a time (blocking I/O: call
    it from a thread). `index.html` is the recap, then every post, then the page's end."""

    def __init__(self, folder: Path, *, media_dir: Path, renderer: PageRenderer, zone: str) -> None:
        self.folder = folder
        self.media_dir = media_dir
        self.root = media_dir.resolve()
        self.renderer = renderer
        self.zone = zone
        self.copied: set[str] = set()
        self.missing: set[str] = set()
        self.tail = ""
        self.posts = 0
        folder.mkdir(parents=True, exist_ok=True)
        self.index = (folder / "index.html").open("w", encoding="utf-8")

    def copy_media(self, posts: list[Post], slug: str) -> list[Post]:
        """Copy the posts' local media into the archive; the posts with media made relative."""
        for url in media_files(posts):
            relative = media_path(url)
            if relative is None or relative in self.copied:
                continue
            source = (self.media_dir / url.removeprefix("/media/")).resolve()
            if not source.is_relative_to(self.root) or not source.is_file():
                if url not in self.missing:  # said once, however many posts show it
                    log.warning("archive of %s: media file missing: %s", slug, url)
                    self.missing.add(url)
                continue
            target = self.folder / relative
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(source, target)
            self.copied.add(relative)
        return [archive_post(p, self.copied) for p in posts]

    def start(self, page: str) -> None:
        """Write the page up to where the posts go; keep the rest for `finish`."""
        head, _, self.tail = page.partition(_POSTS_SLOT)
        self.index.write(head)

    def add(self, posts: list[Post], slug: str) -> None:
        """Copy a batch's media and append its posts to the page."""
        for post in self.copy_media(posts, slug):
            self.index.write(self.renderer.post(post, zone=self.zone))
        self.posts += len(posts)

    def finish(self) -> int:
        """End the page, write the stylesheet; returns how many media files were copied."""
        self.index.write(self.tail)
        self.index.close()
        css = "\n".join((STATIC / name).read_text(encoding="utf-8") for name in ARCHIVE_CSS)
        (self.folder / "style.css").write_text(css, encoding="utf-8")
        return len(self.copied)


async def write_archive(
    store: Store,
    folder: Path,
    event: Event,
    *,
    media_dir: Path,
    renderer: PageRenderer,
    progress: Progress = _quiet,
) -> tuple[int, int]:
    """Write the static archive into `folder`, reading posts as it writes them; returns how
    many posts and media files it wrote. File work runs in a thread, off the event loop."""
    recap = await load_recap(store, event, photo_limit=ARCHIVE_PHOTOS)
    zone = event.extra.get("timezone")
    writer = await asyncio.to_thread(
        ArchiveWriter,
        folder,
        media_dir=media_dir,
        renderer=renderer,
        zone=zone if isinstance(zone, str) else "",
    )
    try:
        unique = list({p.id: p for p, _ in recap.photos}.values())
        photo_posts = await asyncio.to_thread(writer.copy_media, unique, event.slug)
        archived = {p.id: p for p in photo_posts}
        photos = [(archived[p.id], ph) for p in archived.values() for ph in p.photos]
        page = renderer.page(
            "archive.html",
            event=event,
            recap=dataclasses.replace(recap, photos=photos[:ARCHIVE_PHOTOS]),
            post_count=recap.totals.posts,
            archive=True,
            photo_limit=0,
            made_at=datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        )
        await asyncio.to_thread(writer.start, page)
        async for batch in approved_batches(store, event.slug, progress):
            await asyncio.to_thread(writer.add, batch, event.slug)
    finally:
        copied = await asyncio.to_thread(writer.finish)
    return writer.posts, copied


def zip_folder(folder: Path, target: Path) -> None:
    """Zip `folder` (kept as the top folder inside) into the file `target`."""
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(folder.rglob("*")):
            if path.is_file():
                # Photos are JPEG already: deflating them again only costs time.
                kind = zipfile.ZIP_STORED if path.suffix == ".jpg" else zipfile.ZIP_DEFLATED
                archive.write(path, path.relative_to(folder.parent).as_posix(), kind)
