"""`eventwall export SLUG --format jsonl|csv|html --out PATH`, with a text progress bar."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TextIO

from server.render import Renderer
from usecases.exports import FORMATS, approved_posts, csv_text, jsonl_text, write_archive
from wall.models import Event, Post
from wall.settings import Settings
from wall.store import Store

BAR_WIDTH = 30


class TextBar:
    """A one-line progress bar, redrawn in place with a carriage return."""

    def __init__(self, stream: TextIO, label: str) -> None:
        self.stream = stream
        self.label = label
        self.drawn = False

    def __call__(self, done: int, total: int) -> None:
        """Draw `done` of `total`; a newline when complete."""
        filled = BAR_WIDTH * done // total if total else BAR_WIDTH
        bar = "#" * filled + "-" * (BAR_WIDTH - filled)
        self.stream.write(f"\r{self.label:<8} [{bar}] {done}/{total}")
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


async def load(store: Store, args: argparse.Namespace) -> tuple[Event, list[Post]] | None:
    """The event and its approved posts, oldest first; None (and a message) if no such event."""
    event = await store.get_event(args.slug)
    if event is None:
        print(f"error: no event called {args.slug!r}", file=sys.stderr)
        return None
    progress = TextBar(sys.stderr, "posts") if _show(args) else _silent
    return event, await approved_posts(store, event.slug, progress)


def write(settings: Settings, args: argparse.Namespace, event: Event, posts: list[Post]) -> int:
    """Write the export to --out; 2 for an unusable path."""
    out: Path = args.out
    if args.export_format == "html":
        if out.exists() and not out.is_dir():
            print(f"error: --out: {out} is a file; the archive is a folder", file=sys.stderr)
            return 2
        copied = write_archive(
            out,
            event,
            posts,
            media_dir=settings.media_dir,
            renderer=Renderer(),
            progress=TextBar(sys.stderr, "photos") if _show(args) else _silent,
        )
        print(f"exported {len(posts)} posts and {copied} media files to {out / 'index.html'}")
        return 0
    text = jsonl_text(posts) if args.export_format == "jsonl" else csv_text(posts)
    if str(out) == "-":
        sys.stdout.write(text)
        return 0
    if out.is_dir():
        print(f"error: --out: {out} is a folder; give a file name", file=sys.stderr)
        return 2
    # newline="": the CSV writer has already chosen its line ends.
    with out.open("w", encoding="utf-8", newline="") as handle:
        handle.write(text)
    print(f"exported {len(posts)} posts to {out}")
    return 0
