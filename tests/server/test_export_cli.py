"""`eventwall export` and `eventwall event update` through the real command line."""

from __future__ import annotations

import csv
from pathlib import Path

from tests.helpers import eventwall, post_dict, write_jsonl
from wall.models import Post
from wall.moderation import State
from wall.store import Store


def _posts() -> list[dict[str, object]]:
    return [
        post_dict(
            "1",
            "First, with a photo #testevent",
            created_at="2026-11-20T10:00:00+00:00",
            photos=[{"url": "/media/p/aa/one.jpg", "width": 4, "height": 3, "alt": "Room"}],
        ),
        post_dict(
            "2",
            'Commas, "quotes"\nand a new line',
            created_at="2026-11-23T19:30:00+00:00",
            author={"handle": "@bob@example.org", "display_name": "Bob"},
            sensitive=True,
            content_warning="spoilers",
            language="en",
        ),
        post_dict("3", "Grüße 👋", created_at="2026-11-23T20:00:00+00:00", html="<p>Grüße 👋</p>"),
    ]


async def test_export_then_replay_into_a_new_event_gives_the_same_posts(
    store: Store, env: dict[str, str], tmp_path: Path
) -> None:
    """JSONL export -> `ingest replay` into another event -> the same approved posts, and
    a pending post of the first event is in neither."""
    source = write_jsonl(tmp_path / "in.jsonl", _posts())
    assert eventwall("ingest", "replay", str(source), "--event", "first", env=env).returncode == 0
    pending = Post.from_dict(post_dict("secret", "not approved"))
    await store.ingest("first", pending, State.PENDING)
    out = tmp_path / "out.jsonl"
    exported = eventwall("export", "first", "--format", "jsonl", "--out", str(out), env=env)
    assert exported.returncode == 0, exported.stderr
    assert "exported 3 posts" in exported.stdout
    assert len(out.read_text().splitlines()) == 3
    replayed = eventwall("ingest", "replay", str(out), "--event", "second", env=env)
    assert replayed.returncode == 0, replayed.stderr
    first = [p.to_dict() for p in await store.all_posts("first")]
    second = [p.to_dict() for p in await store.all_posts("second")]
    assert len(first) == 3 and second == first
    assert "test:secret" not in out.read_text()


async def test_csv_export_parses_with_a_header_row(
    store: Store, env: dict[str, str], tmp_path: Path
) -> None:
    """The CSV has a header and one row per approved post, quotes and new lines intact."""
    photo = Path(env["DATA_DIR"]) / "media" / "p" / "aa" / "one.jpg"  # a local photo is a file
    photo.parent.mkdir(parents=True, exist_ok=True)
    photo.write_bytes(b"a stored photo")
    source = write_jsonl(tmp_path / "in.jsonl", _posts())
    assert eventwall("ingest", "replay", str(source), "--event", "first", env=env).returncode == 0
    out = tmp_path / "posts.csv"
    result = eventwall("export", "first", "--format", "csv", "--out", str(out), env=env)
    assert result.returncode == 0, result.stderr
    with out.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert [r["id"] for r in rows] == ["test:1", "test:2", "test:3"]
    assert rows[1]["text"] == 'Commas, "quotes"\nand a new line'
    # A handle starts with @, which a spreadsheet would read as a formula: quoted.
    assert rows[1]["author_handle"] == "'@bob@example.org" and rows[1]["sensitive"] == "true"
    assert rows[0]["photo_urls"] == "/media/p/aa/one.jpg" and rows[2]["text"] == "Grüße 👋"


async def test_progress_bar_only_when_asked_or_on_a_terminal(
    store: Store, env: dict[str, str], tmp_path: Path
) -> None:
    """Piped stderr gets no bar; --progress draws it there; stdout never has it."""
    source = write_jsonl(tmp_path / "in.jsonl", _posts())
    assert eventwall("ingest", "replay", str(source), "--event", "first", env=env).returncode == 0
    out = str(tmp_path / "out.jsonl")
    quiet = eventwall("export", "first", "--format", "jsonl", "--out", out, env=env)
    assert quiet.returncode == 0 and "posts    [" not in quiet.stderr
    shown = eventwall("export", "first", "--format", "jsonl", "--out", out, "--progress", env=env)
    assert "posts    [" + "#" * 30 + "] 3/3" in shown.stderr
    assert "#" not in shown.stdout


def test_export_of_unknown_event_fails(env: dict[str, str], tmp_path: Path) -> None:
    """An unknown event: exit 2 and a message naming it."""
    result = eventwall("export", "nope", "--format", "csv", "--out", str(tmp_path / "x"), env=env)
    assert result.returncode == 2
    assert "no event called 'nope'" in result.stderr


async def test_event_update_sets_and_validates_details(store: Store, env: dict[str, str]) -> None:
    """`event update` stores details in extra; a bad value exits 2 naming the field and
    changes nothing; `event create` takes the same options."""
    created = eventwall(
        "event", "create", "--replace", "meet", "--title", "Meet", "--venue", "The Hall",
        "--timezone", "Europe/Paris", env=env,
    )  # fmt: skip
    assert created.returncode == 0, created.stderr
    updated = eventwall(
        "event", "update", "meet", "--starts-at", "2026-11-23T19:00+01:00",
        "--ends-at", "2026-11-23T22:00+01:00", "--next-title", "Meet #2",
        "--next-url", "https://example.org/2", "--next-starts-at", "2026-12-14T19:00+01:00",
        env=env,
    )  # fmt: skip
    assert updated.returncode == 0, updated.stderr
    event = await store.get_event("meet")
    assert event is not None
    assert event.extra == {
        "venue": "The Hall",
        "timezone": "Europe/Paris",
        "starts_at": "2026-11-23T19:00:00+01:00",
        "ends_at": "2026-11-23T22:00:00+01:00",
        "next_event": {
            "title": "Meet #2",
            "url": "https://example.org/2",
            "starts_at": "2026-12-14T19:00:00+01:00",
        },
    }
    for option, value, field in [
        ("--timezone", "Mars/Olympus", "timezone"),
        ("--starts-at", "2026-11-23 19:00", "starts_at"),
        ("--next-url", "javascript:alert(1)", "next_url"),
        ("--ends-at", "2026-11-23T18:00+01:00", "ends_at"),
    ]:
        refused = eventwall("event", "update", "meet", option, value, env=env)
        assert refused.returncode == 2
        assert f"error: {field}:" in refused.stderr
    assert await store.get_event("meet") == event
    missing = eventwall("event", "update", "nope", "--venue", "x", env=env)
    assert missing.returncode == 2 and "no event called 'nope'" in missing.stderr
