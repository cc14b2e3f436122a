"""The benchmark's pure parts: percentiles, per-client delivery, capacity search."""

from __future__ import annotations

import math

import pytest

from bench.stats import delivery, find_capacity, gaps, percentile, ratio, step_passes


def test_percentile_interpolates_between_ranks() -> None:
    """Percentiles interpolate linearly between closest ranks, like numpy's default."""
    values = [float(v) for v in range(1, 101)]  # 1..100
    assert percentile(values, 50) == pytest.approx(50.5)
    assert percentile(values, 99) == pytest.approx(99.01)
    assert percentile(values, 0) == 1.0
    assert percentile(values, 100) == 100.0
    assert percentile([7.0], 99) == 7.0


def test_percentile_ignores_input_order_and_is_nan_when_empty() -> None:
    """Unsorted input gives the same answer; no samples gives nan, not an exception."""
    assert percentile([5.0, 1.0, 3.0], 50) == 3.0
    assert math.isnan(percentile([], 99))
    with pytest.raises(ValueError):
        percentile([1.0], 101)


def test_gaps_count_each_missing_sequence_number_once() -> None:
    """Duplicates and numbers outside 0..expected-1 neither fill nor create gaps."""
    assert gaps([0, 1, 1, 3, 99, -1], expected=5) == 2  # 2 and 4 missing
    assert gaps([], expected=3) == 3


def test_delivery_is_counted_per_client_not_in_total() -> None:
    """A silent client shows even when the total count looks complete (another got doubles)."""
    per_client = [
        [0, 1, 2, 3, 0, 1, 2, 3],  # every message twice: 8 receipts
        [],  # this client received nothing
        [0, 1, 2, 3],
    ]
    served = delivery(per_client, expected=4)
    assert served.clients == 3
    assert served.complete == 2
    assert served.silent == 1
    assert served.missing == 4
    assert served.min_fraction == 0.0
    assert served.mean_fraction == pytest.approx(2 / 3)
    assert not served.all_delivered


def test_delivery_all_complete() -> None:
    """Every client with every message is 100 % delivered."""
    served = delivery([[0, 1], [1, 0]], expected=2)
    assert served.all_delivered and served.mean_fraction == 1.0 and served.silent == 0


def test_capacity_is_the_last_passing_step_before_the_first_failure() -> None:
    """Stepping stops at the first failure; a later lucky pass does not count."""
    passing = {250: True, 500: True, 1000: True, 2000: False, 4000: True}
    assert find_capacity(list(passing), passing.__getitem__) == 1000
    assert find_capacity([500, 1000], lambda n: False) == 0
    assert find_capacity([1000, 500], lambda n: True) == 1000


def test_capacity_asks_steps_in_increasing_order_and_stops() -> None:
    """Steps are tried smallest first and none after the first failure."""
    asked: list[int] = []

    def passes(n: int) -> bool:
        asked.append(n)
        return n < 3000

    assert find_capacity([5000, 1000, 3000, 2000], passes) == 2000
    assert asked == [1000, 2000, 3000]


def test_a_step_fails_on_latency_or_on_lost_clients() -> None:
    """p99 over the limit fails a step, and so do silent clients: lost messages have no latency."""
    good = delivery([[0, 1]] * 100, expected=2)
    starved = delivery([[0, 1]] * 90 + [[]] * 10, expected=2)
    assert step_passes(120.0, good)
    assert not step_passes(251.0, good)
    assert not step_passes(math.nan, good)
    assert not step_passes(50.0, starved)


def test_ratio_handles_missing_values() -> None:
    """A ratio with a missing or zero denominator is nan, not an exception."""
    assert ratio(30.0, 20.0) == 1.5
    assert math.isnan(ratio(1.0, 0.0))
    assert math.isnan(ratio(math.nan, 1.0))
