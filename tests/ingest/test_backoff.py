"""One retry policy: a failing source backs off with jitter; a server saying how long to wait is obeyed."""

from __future__ import annotations

import httpx
import pytest

from ingest.backoff import CAP, DEFAULT_WAIT, LONGEST_WAIT, Backoff, server_wait

NOW = 1_800_000_000.0  # 2027-01-15T08:00:00Z


def answer(status: int, **headers: str) -> httpx.Response:
    """A response as a server would send it, headers named with dashes."""
    return httpx.Response(status, headers={k.replace("_", "-"): v for k, v in headers.items()})


def test_backoff_doubles_with_jitter_up_to_the_cap_and_resets() -> None:
    """Each failure waits 0.5 to 1.5 times a delay that doubles up to CAP; success starts over."""
    backoff = Backoff(first=1.0)
    waits = [backoff.failed() for _ in range(10)]
    for n, wait in enumerate(waits):
        delay = min(2.0**n, CAP)
        assert delay * 0.5 <= wait <= delay * 1.5
    backoff.reset()
    assert backoff.failed() <= 1.5


@pytest.mark.parametrize(
    ("response", "expected"),
    [
        (answer(200), None),
        (answer(304), None),
        (answer(500, retry_after="5"), None),  # an error, not a request to slow down
        (answer(429, retry_after="5"), 5.0),
        (answer(503, retry_after="7"), 7.0),
        (answer(503), None),  # an outage: the source fails and backs off
        (answer(429, retry_after="3", x_ratelimit_reset="2027-01-15T08:00:20Z"), 3.0),
        (answer(429, retry_after="Fri, 15 Jan 2027 08:00:10 GMT"), 10.0),
        (answer(429), DEFAULT_WAIT),
        (answer(429, retry_after="soon"), DEFAULT_WAIT),
        (answer(429, retry_after="99999"), LONGEST_WAIT),
        (answer(429, retry_after="0"), 0.1),
        (answer(200, x_ratelimit_remaining="0", x_ratelimit_reset="2027-01-15T08:00:20Z"), 20.0),
        (answer(200, x_ratelimit_remaining="3", x_ratelimit_reset="2027-01-15T08:00:20Z"), None),
    ],
)
def test_server_wait(response: httpx.Response, expected: float | None) -> None:
    """429, 503 with Retry-After and an exhausted rate limit ask for a pause, bounded; Retry-After
    beats the rate-limit reset."""
    wait = server_wait(response, NOW)
    assert wait == (pytest.approx(expected) if expected is not None else None)
