"""Exports are written as they are read: a batch at a time, one header, every post once."""

from __future__ import annotations

import csv
import io
import json
import threading
from pathlib import Path

import pytest

from server.render import Renderer
from tests.helpers import eventwall, post_dict
from usecases import exports
from usecases.exports import export_chunks, write_archive
from wall import store as store_module
from wall.models import Event, Post
from wall.moderation import State
from wall.store import Store


async def _seed(store: Store, event: Event, n: int) -> None:
    for i in range(n):
        created = f"2026-11-23T{10 + i // 60:02d}:{i % 60:02d}:00Z"
        post = Post.from_dict(post_dict(f"{i:04d}", created_at=created))
        await store.ingest(event.slug, post, State.APPROVED)
    await store.ingest(event.slug, Post.from_dict(post_dict("held")), State.PENDING)


async def test_jsonl_and_csv_come_a_batch_at_a_time(
    store: Store, event: Event, monkeypatch: pytest.MonkeyPatch
) -> None:
    """More posts than a batch give several chunks; together they hold every approved post
    once, oldest first, and the CSV has one header row."""
    await _seed(store, event, 25)
    monkeypatch.setattr(exports, "BATCH", 10)  # a small batch, so 25 posts make three
    jsonl = [c async for c in export_chunks(store, event.slug, "jsonl")]
    table = [c async for c in export_chunks(store, event.slug, "csv")]
    assert len(jsonl) == 3 and len(table) == 3
    ids = [json.loads(line)["id"] for line in "".join(jsonl).splitlines()]
    assert ids == [f"test:{i:04d}" for i in range(25)]
    rows = list(csv.reader(io.StringIO("".join(table))))
    assert rows[0][0] == "id" and [r[0] for r in rows[1:]] == ids


async def test_each_batch_is_parsed_off_the_event_loop(
    store: Store, event: Event, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A download's batches are parsed in a thread (the event loop only waits for each),
    and the bytes are those of the posts serialized at once."""
    await _seed(store, event, 25)
    monkeypatch.setattr(exports, "BATCH", 10)
    posts = await store.load(event.slug, await store.post_ids(event.slug))
    expected = {"jsonl": exports.jsonl_text(posts), "csv": exports.csv_text(posts)}
    parsed_on: list[int] = []
    parse = store_module._readable

    def recorded(raw: list[object]) -> list[Post]:
        parsed_on.append(threading.get_ident())
        return parse(raw)

    monkeypatch.setattr(store_module, "_readable", recorded)
    for kind in ("jsonl", "csv"):
        chunks = [c async for c in export_chunks(store, event.slug, kind)]
        assert "".join(chunks).encode() == expected[kind].encode()
    assert len(parsed_on) == 6 and threading.get_ident() not in parsed_on


async def test_empty_event_csv_still_has_its_header(store: Store, event: Event) -> None:
    """An event with no approved post exports a CSV with the header row alone."""
    table = "".join([c async for c in export_chunks(store, event.slug, "csv")])
    assert table.splitlines()[0].startswith("id,created_at")
    assert len(table.splitlines()) == 1


async def test_archive_lists_every_post_after_the_recap(
    store: Store, event: Event, tmp_path: Path
) -> None:
    """The archive's page has the recap, then every approved post in order, then its end."""
    await _seed(store, event, 12)
    posts, _ = await write_archive(
        store, tmp_path / "a", event, media_dir=tmp_path / "media", renderer=Renderer()
    )
    html = (tmp_path / "a" / "index.html").read_text()
    assert posts == 12
    assert "Every post (12)" in html and html.rstrip().endswith("</html>")
    found = [html.index(f'id="post-test_{i:04d}"') for i in range(12)]
    assert found == sorted(found) and html.index("total-posts") < found[0]
    assert "post-test_held" not in html


async def test_progress_shows_rate_and_time_left(
    store: Store, event: Event, env: dict[str, str], tmp_path: Path
) -> None:
    """The export's progress bar says posts per second and the time left."""
    await _seed(store, event, 3)
    out = str(tmp_path / "out.csv")
    shown = eventwall("export", event.slug, "--format", "csv", "--out", out, "--progress", env=env)
    assert shown.returncode == 0, shown.stderr
    assert "3/3" in shown.stderr and " posts/s ETA 0:00" in shown.stderr
