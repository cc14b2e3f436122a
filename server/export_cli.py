"""`eventwall export SLUG --format jsonl|csv|html --out PATH`, with a text progress bar."""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from pathlib import Path
from typing import TextIO

from server.render import Renderer
from usecases.exports import FORMATS, Progress, export_chunks, write_archive
from wall.models import Event
from wall.settings import Settings
from wall.store import Store

BAR_WIDTH = 30


class TextBar:
    """A one-line progress bar with the rate and the time left, redrawn in place."""

    def __init__(self, stream: TextIO, label: str) -> None:
        self.stream = stream
        self.label = label
        self.started = time.monotonic()

    def __call__(self, done: int, total: int) -> None:
        """Draw `done` of `total` with posts/s and an ETA; a newline when complete."""
        filled = BAR_WIDTH * done // total if total else BAR_WIDTH
        bar = "#" * filled + "-" * (BAR_WIDTH - filled)
        elapsed = time.monotonic() - self.started
        rate = done / elapsed if elapsed > 0 else 0.0
        left = (total - done) / rate if rate > 0 else 0.0
        self.stream.write(
            f"\r{self.label:<8} [{bar}] {done}/{total} {rate:,.0f} {self.label}/s"
            f" ETA {int(left) // 60}:{int(left) % 60:02d}"
        )
        if done >= total:
            self.stream.write("\n")
        self.stream.flush()


def _silent(done: int, total: int) -> None:
    pass


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register the `export` command."""
    export = sub.add_parser("export", help="export an event's approved posts")
    export.add_argument("slug")
    export.add_argument("--format", choices=FORMATS, required=True, dest="export_format")
    export.add_argument(
        "--out", required=True, type=Path, help="file (jsonl, csv; '-' for stdout) or folder (html)"
    )
    export.add_argument(
        "--progress",
        action="store_true",
        help="draw the progress bar on stderr even when it is not a terminal",
    )


def _show(args: argparse.Namespace) -> bool:
    # A bar only for a person watching: a terminal, or asked for with --progress.
    return bool(args.progress) or sys.stderr.isatty()


def _bad_out(out: Path, kind: str) -> str:
    if str(out) != "-" and not out.parent.is_dir():
        return f"no folder {out.parent}; create it first"
    if kind == "html" and out.exists() and not out.is_dir():
        return f"{out} is a file; the archive is a folder"
    if kind != "html" and str(out) != "-" and out.is_dir():
        return f"{out} is a folder; give a file name"
    return ""


async def run(store: Store, settings: Settings, args: argparse.Namespace) -> int:
    """Write the export to --out as the posts are read; 2 for an unknown event or a bad path."""
    event = await store.get_event(args.slug)
    if event is None:
        print(f"error: no event called {args.slug!r}", file=sys.stderr)
        return 2
    out: Path = args.out
    progress = TextBar(sys.stderr, "posts") if _show(args) else _silent
    problem = await asyncio.to_thread(_bad_out, out, args.export_format)
    if problem:
        print(f"error: --out: {problem}", file=sys.stderr)
        return 2
    try:
        return await _write(store, settings, args, event, progress)
    except OSError as exc:
        print(f"error: --out: cannot write {out}: {exc.strerror or exc}", file=sys.stderr)
        return 2


async def _write(
    store: Store, settings: Settings, args: argparse.Namespace, event: Event, progress: Progress
) -> int:
    out: Path = args.out
    if args.export_format == "html":
        posts, copied = await write_archive(
            store,
            out,
            event,
            media_dir=settings.media_dir,
            renderer=Renderer(),
            progress=progress,
        )
        print(f"exported {posts} posts and {copied} media files to {out / 'index.html'}")
        return 0
    written = 0

    def count(done: int, total: int) -> None:
        nonlocal written
        written = done
        progress(done, total)

    chunks = export_chunks(store, event.slug, args.export_format, count)
    if str(out) == "-":
        async for chunk in chunks:
            sys.stdout.write(chunk)
        return 0
    # newline="": the CSV writer has already chosen its line ends.
    with out.open("w", encoding="utf-8", newline="") as handle:
        async for chunk in chunks:
            handle.write(chunk)
    print(f"exported {written} posts to {out}")
    return 0
