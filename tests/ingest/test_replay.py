"""`eventwall ingest replay`: good lines taken, bad lines reported with their number."""

from __future__ import annotations

from pathlib import Path

from tests.helpers import eventwall, post_dict, write_jsonl
from wall.moderation import State
from wall.store import Store


async def test_replay_skips_bad_lines_and_takes_the_rest(
    env: dict[str, str], tmp_path: Path, store: Store
) -> None:
    """Malformed lines are reported with line number and reason; every other line is taken."""
    path = write_jsonl(
        tmp_path / "posts.jsonl",
        [
            post_dict("1"),
            "{not json",
            post_dict("2", author={"handle": ""}),
            "",
            '["a list"]',
            post_dict("3"),
        ],
    )
    result = eventwall("ingest", "replay", str(path), "--event", "replayed", env=env)
    assert result.returncode == 1
    assert f"{path}:2: skipped: malformed JSON" in result.stderr
    assert f"{path}:3: skipped: author.handle: required" in result.stderr
    assert f"{path}:5: skipped: a post must be a JSON object" in result.stderr
    assert "2 new (2 approved), 0 already there, 3 skipped" in result.stdout
    assert await store.count("replayed", State.APPROVED) == 2
    assert await store.get_event("replayed") is not None


async def test_replay_twice_is_idempotent(
    env: dict[str, str], tmp_path: Path, store: Store
) -> None:
    """Replaying the same file again adds nothing and exits 0."""
    path = write_jsonl(tmp_path / "posts.jsonl", [post_dict("1"), post_dict("2")])
    assert eventwall("ingest", "replay", str(path), "--event", "e", env=env).returncode == 0
    again = eventwall("ingest", "replay", str(path), "--event", "e", env=env)
    assert again.returncode == 0
    assert "0 new, 2 already there" in again.stdout
    public = await store.changes_since("e", "0-0")
    assert public is not None and len(public) == 2


async def test_replay_sanitizes_html(env: dict[str, str], tmp_path: Path, store: Store) -> None:
    """HTML from a replayed post is stored reduced to the allow-list."""
    path = write_jsonl(
        tmp_path / "x.jsonl",
        [post_dict("x", html='<p onclick="x()" hx-get="/a">hi<script>alert(1)</script></p>')],
    )
    assert eventwall("ingest", "replay", str(path), "--event", "e", env=env).returncode == 0
    post = await store.get_post("e", "test:x")
    assert post is not None and post.html == "<p>hi</p>"


def test_replay_missing_file(env: dict[str, str], tmp_path: Path) -> None:
    """A missing file is a clear error, not a traceback."""
    result = eventwall("ingest", "replay", str(tmp_path / "nope.jsonl"), "--event", "e", env=env)
    assert result.returncode == 2 and "no such file" in result.stderr


async def test_replay_skips_a_line_with_a_lone_surrogate(
    env: dict[str, str], tmp_path: Path, store: Store
) -> None:
    """A line whose JSON spells a lone surrogate is skipped with a one-line reason; the
    lines around it are taken and nothing crashes."""
    bad = '{"native_id": "s", "author": {"handle": "@a"}, "text": "hi \\ud800 there"}'
    name = '{"native_id": "n", "author": {"handle": "@b", "display_name": "\\udfff"}, "text": "x"}'
    path = write_jsonl(tmp_path / "posts.jsonl", [post_dict("1"), bad, name, post_dict("2")])
    result = eventwall("ingest", "replay", str(path), "--event", "surrogates", env=env)
    assert result.returncode == 1, result.stderr
    assert f"{path}:2: skipped: not valid Unicode: a lone surrogate (\\ud800)" in result.stderr
    assert f"{path}:3: skipped: not valid Unicode: a lone surrogate (\\udfff)" in result.stderr
    assert "Traceback" not in result.stderr
    assert await store.count("surrogates", State.APPROVED) == 2
