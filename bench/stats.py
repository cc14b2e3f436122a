"""The pure parts of the benchmark: percentiles, per-client delivery, capacity search."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass


def percentile(values: Sequence[float], q: float) -> float:
    """The q-th percentile (0-100) by linear interpolation between closest ranks; nan if empty."""
    if not 0 <= q <= 100:
        raise ValueError(f"percentile out of range: {q}")
    if not values:
        return math.nan
    ordered = sorted(values)
    rank = (len(ordered) - 1) * q / 100
    low = math.floor(rank)
    high = math.ceil(rank)
    if low == high:
        return float(ordered[low])
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


@dataclass(frozen=True, slots=True)
class Delivery:
    """How completely the published sequence reached the clients, counted client by client."""

    clients: int
    expected: int  # messages each client should have received
    complete: int  # clients that received every one of them
    silent: int  # clients that received none
    min_fraction: float
    mean_fraction: float
    missing: int  # sum over clients of the sequence numbers they never saw

    @property
    def all_delivered(self) -> bool:
        """Every client received every message."""
        return self.clients > 0 and self.complete == self.clients


def gaps(received: Iterable[int], expected: int) -> int:
    """How many of the sequence numbers 0..expected-1 one client never received."""
    seen = {seq for seq in received if 0 <= seq < expected}
    return expected - len(seen)


def delivery(per_client: Sequence[Iterable[int]], expected: int) -> Delivery:
    """Per-client delivery: each client's gaps in 0..expected-1, never a total over all clients.

    A total would hide a server that starves some clients while others get duplicates.
    """
    if expected <= 0:
        n = len(per_client)
        return Delivery(n, 0, n, 0, 1.0, 1.0, 0)
    fractions = []
    complete = silent = missing = 0
    for received in per_client:
        lost = gaps(received, expected)
        missing += lost
        complete += lost == 0
        silent += lost == expected
        fractions.append((expected - lost) / expected)
    if not fractions:
        return Delivery(0, expected, 0, 0, 0.0, 0.0, 0)
    return Delivery(
        clients=len(fractions),
        expected=expected,
        complete=complete,
        silent=silent,
        min_fraction=min(fractions),
        mean_fraction=sum(fractions) / len(fractions),
        missing=missing,
    )


def step_passes(p99_ms: float, served: Delivery, *, limit_ms: float = 250.0) -> bool:
    """A capacity step passes when p99 is within the limit and 99 % of clients got 99 % of posts.

    Latency alone would reward a server that drops clients: a message never delivered has
    no latency to count.
    """
    if math.isnan(p99_ms) or p99_ms > limit_ms or served.clients == 0:
        return False
    return served.mean_fraction >= 0.99 and served.silent <= served.clients // 100


def find_capacity(steps: Sequence[int], passes: Callable[[int], bool]) -> int:
    """Step N upwards; the largest N that passes before the first failure (0 if the first fails).

    Stepping stops at the first failure: a higher N that happens to pass after a failure is
    noise, not capacity.
    """
    capacity = 0
    for n in sorted(steps):
        if not passes(n):
            break
        capacity = n
    return capacity


def ratio(ours: float, theirs: float) -> float:
    """ours / theirs, nan when either is missing or theirs is zero."""
    if theirs == 0 or math.isnan(ours) or math.isnan(theirs):
        return math.nan
    return ours / theirs
