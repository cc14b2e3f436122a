"""The fault tests' oracle: a client's applied changes against the event's change log."""

from __future__ import annotations

from tests.faults.kit import LogEntry, ResumingClient

# Post a shown, then b, then a removed: the log's ids are milliseconds apart.
LOG = [
    LogEntry("1000-0", "show", "a"),
    LogEntry("1100-0", "show", "b"),
    LogEntry("1200-0", "remove", "a"),
    LogEntry("1300-0", "show", "c"),
]


def client_with(applied: dict[str, float]) -> ResumingClient:
    """A client that applied these change ids at these times (epoch ms)."""
    client = ResumingClient("ws://127.0.0.1:9/ws", "0-0")
    client.applied = list(applied)
    client.received_at = dict(applied)
    return client


def test_the_whole_log_in_order_matches() -> None:
    """Every change once, in order: no difference."""
    client = client_with({"1000-0": 1001, "1100-0": 1101, "1200-0": 1201, "1300-0": 1301})
    assert client.difference(LOG) == ""


def test_a_resume_may_leave_out_a_post_removed_before_it_read_the_log() -> None:
    """A resume that read the log after a's removal sends b and the removal, not a's show."""
    client = client_with({"1100-0": 1250, "1200-0": 1250, "1300-0": 1301})
    assert client.difference(LOG) == ""


def test_a_live_client_missing_a_change_is_a_loss() -> None:
    """A show missed while newer changes arrived before the post's removal is a loss."""
    client = client_with({"1100-0": 1101, "1200-0": 1201, "1300-0": 1301})
    assert "misses 1000-0" in client.difference(LOG)


def test_a_missing_change_of_a_post_still_shown_is_a_loss() -> None:
    """Only a removed post's changes may be left out."""
    client = client_with({"1000-0": 1001, "1200-0": 1250, "1300-0": 1301})
    assert "misses 1100-0" in client.difference(LOG)


def test_a_client_short_of_the_end_or_with_extra_changes_differs() -> None:
    """Stopping early, or a change the log does not hold, is a difference."""
    assert "not at the end" in client_with({"1000-0": 1, "1100-0": 2}).difference(LOG)
    extra = client_with({"1000-0": 1, "1100-0": 2, "1200-0": 3, "1250-0": 4, "1300-0": 5})
    assert "extra" in extra.difference(LOG)
