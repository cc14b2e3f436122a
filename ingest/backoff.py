"""When to try again: one policy for every source and every server that asks us to wait.

A failing source is restarted after an exponentially growing, jittered delay; a server
that says how long to wait (429 or 503 with `Retry-After`, in seconds or as an HTTP date,
or `X-RateLimit-Remaining: 0` with `X-RateLimit-Reset`) is waited for that long, within
`LONGEST_WAIT`, whatever the source.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import datetime
from email.utils import parsedate_to_datetime

import httpx

FIRST = 0.5
"""Seconds before the first retry of a failed source."""
CAP = 30.0
"""The longest pause between two retries of a failed source."""
LONGEST_WAIT = 300.0
"""Never pause longer than this for a server, whatever it says."""
DEFAULT_WAIT = 60.0
"""How long a server that asks us to slow down without saying how long is left alone."""
SLOW_DOWN = frozenset({429, 503})
"""Statuses asked again once the server's wait is over (a 503 only with Retry-After)."""


@dataclass
class Backoff:
    """Exponential backoff with jitter: `failed()` says how long to wait, `reset()` after success."""

    first: float = FIRST
    cap: float = CAP
    _delay: float = field(default=0.0, init=False)

    def __post_init__(self) -> None:
        self._delay = self.first

    def failed(self) -> float:
        """Seconds to wait before the next try: 0.5 to 1.5 times the delay, which then doubles."""
        wait = self._delay * (0.5 + random.random())
        self._delay = min(self._delay * 2, self.cap)
        return wait

    def reset(self) -> None:
        """A success: the next failure waits the first delay again."""
        self._delay = self.first


def server_wait(response: httpx.Response, now: float) -> float | None:
    """Seconds the server asks us to wait before the next request; None if it does not ask.

    `now` is Unix time. A 429, a 503 with `Retry-After`, or an exhausted rate limit
    (`X-RateLimit-Remaining: 0`) asks; `Retry-After` (seconds or an HTTP date: the server's
    word on this very response) or else `X-RateLimit-Reset` (ISO 8601) says how long, else
    DEFAULT_WAIT. The answer is between 0.1 s and LONGEST_WAIT. A 503 without `Retry-After`
    is an outage, not a request to slow down: the source fails and backs off.
    """
    headers = response.headers
    retry_after = headers.get("retry-after", "").strip()
    exhausted = headers.get("x-ratelimit-remaining", "") == "0"
    asked = response.status_code == 429 or (response.status_code == 503 and retry_after)
    if not asked and not exhausted:
        return None
    until = _retry_after(retry_after, now)
    if until is None:
        until = _reset_at(headers.get("x-ratelimit-reset", ""))
    wait = DEFAULT_WAIT if until is None else until - now
    return min(max(wait, 0.1), LONGEST_WAIT)


def _reset_at(value: str) -> float | None:
    try:
        return datetime.fromisoformat(value.strip().replace("Z", "+00:00")).timestamp()
    except ValueError:
        return None


def _retry_after(value: str, now: float) -> float | None:
    value = value.strip()
    if value.isdigit():
        return now + int(value)
    try:
        return parsedate_to_datetime(value).timestamp()
    except (TypeError, ValueError, IndexError):
        return None
