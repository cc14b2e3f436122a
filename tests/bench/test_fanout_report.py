"""The fan-out report's table of screens per machine, by web processes side by side."""

from __future__ import annotations

from pathlib import Path

from bench.fanout import Report, per_machine
from bench.stats import delivery
from bench.trial import Trial, label


def trial(servers: int, clients: int, cpu_pct: float, busiest_pct: float) -> Trial:
    """A made-up trial at the capacity rate, all delivered."""
    return Trial(
        server=label("eventwall", servers),
        clients=clients,
        rate=5.0,
        duration=15.0,
        load_average=1.0,
        connected=clients,
        posts=75,
        p50_ms=10.0,
        p99_ms=100.0,
        max_ms=120.0,
        delivery=delivery([list(range(75))] * clients, 75),
        delivered=75 * clients,
        server_cpu_s=1.0,
        server_cpu_pct=cpu_pct,
        cpu_per_message_us=20.0,
        rss_baseline_mb=50.0,
        rss_per_idle_kb=32.0,
        lag_p99_ms=5.0,
        lag_max_ms=9.0,
        gc_max_ms=0.0,
        loadgen_cpu_pct=10.0,
        loadgen_busiest_pct=5.0,
        machine_cpu_pct=50.0,
        servers=servers,
        server_busiest_pct=busiest_pct,
    )


def test_per_machine_rows_give_the_share_of_each_process(tmp_path: Path) -> None:
    """Each count's row: its capacity, capacity per process, and the busiest process's CPU."""
    report = Report(tmp_path)
    for t in (trial(1, 4000, 40.0, 40.0), trial(2, 6000, 70.0, 38.0)):
        report.add(t)
    caps = {"eventwall": 4000, "eventwall x2": 6000}
    rows = per_machine(report, caps, [1, 2, 3])
    assert len(rows) == 4  # header, rule, and no row for a count that was not run
    assert rows[2].startswith("| 1 | 4000 | 4000 | 40 % (40 %) |")
    assert rows[3].startswith("| 2 | 6000 | 3000 | 70 % (38 %) |")


def test_a_count_that_passed_no_step_has_no_figures(tmp_path: Path) -> None:
    """Capacity 0 (the first step failed): the row says so instead of a trial's numbers."""
    report = Report(tmp_path)
    report.add(trial(2, 1000, 90.0, 60.0))
    rows = per_machine(report, {"eventwall x2": 0}, [2])
    assert rows[2].startswith("| 2 | 0 | 0 | - |")
