"""A source's recorded status, read back and summed up in one line."""

from __future__ import annotations

import pytest

from wall.sources import SourceConfig, SourceStatus, ago

NOW = 1_800_000_000.0


@pytest.mark.parametrize(
    ("seconds", "said"),
    [
        (0, "just now"),
        (4, "just now"),
        (12, "12 s ago"),
        (59, "59 s ago"),
        (60, "1 min ago"),
        (3599, "59 min ago"),
        (7200, "2 h ago"),
        (3 * 86_400 + 5, "3 days ago"),
        (-30, "just now"),
    ],
)
def test_ago_rounds_down_to_one_unit(seconds: int, said: str) -> None:
    assert ago(NOW - seconds, NOW) == said


def test_status_reads_the_workers_fields() -> None:
    raw = {
        "connected": "1",
        "taken": "42",
        "last_event": f"{NOW - 180}",
        "last_error": f"{NOW - 7200} HTTP 503 from mastodon.example",
    }
    status = SourceStatus.of(raw)
    assert status == SourceStatus(True, 42, NOW - 180, "HTTP 503 from mastodon.example", NOW - 7200)
    assert status.summary(NOW) == (
        "connected · 42 taken · last 3 min ago · error 2 h ago: HTTP 503 from mastodon.example"
    )


def test_nothing_recorded_or_garbage_reads_as_not_connected() -> None:
    assert SourceStatus.of({}).summary(NOW) == "not connected · 0 taken"
    garbled = SourceStatus.of({"connected": "yes", "taken": "many", "last_event": "soon"})
    assert garbled == SourceStatus()


def test_the_note_says_how_the_source_gets_its_posts() -> None:
    """A source polling because streaming was refused says so in its one-line status."""
    status = SourceStatus.of(
        {"connected": "1", "taken": "3", "note": "streaming refused (401); polling every 15s"}
    )
    assert status.summary(NOW) == (
        "connected · 3 taken · streaming refused (401); polling every 15s"
    )


def test_source_token_is_not_in_repr() -> None:
    """A Mastodon access token never appears in a printed or logged source configuration."""
    config = SourceConfig.create("mastodon", "meetup", server="127.0.0.1:9", token="tok-secret")
    assert config.token == "tok-secret" and config.to_dict()["token"] == "tok-secret"
    assert "tok-secret" not in repr(config) and "tok-secret" not in config.describe
