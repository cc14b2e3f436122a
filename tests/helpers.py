"""Shared test helpers: deadlines scaled for slow machines, polling, real servers."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent

# Every deadline in the suite is multiplied by this; raise it on a slow machine. Unset, the
# factor follows the machine's load: with more runnable processes than cores, each of ours
# gets a smaller share of a core, and a deadline is a bound on failure, not an expected time.
TIMEOUT_FACTOR = os.environ.get("EVENTWALL_TEST_TIMEOUT_FACTOR", "")
MAX_LOAD_FACTOR = 10.0


def timeout_factor() -> float:
    """EVENTWALL_TEST_TIMEOUT_FACTOR if set, else the load per core now (1 to 10)."""
    if TIMEOUT_FACTOR:
        return float(TIMEOUT_FACTOR)
    load = max(os.getloadavg()[0], _runnable_now()) / (os.cpu_count() or 1)
    return min(MAX_LOAD_FACTOR, max(1.0, load))


def _runnable_now() -> float:
    """Processes runnable at this instant, less this one: the one-minute load average lags
    a load that has just begun (a suite's heavy phase, another job starting)."""
    try:
        running = Path("/proc/loadavg").read_text().split()[3].split("/")[0]
        return max(0.0, float(running) - 1)
    except (OSError, IndexError, ValueError):
        return 0.0


def deadline(seconds: float) -> float:
    """A timeout scaled by EVENTWALL_TEST_TIMEOUT_FACTOR, or by the machine's load."""
    return seconds * timeout_factor()


async def eventually(
    condition: Callable[[], Awaitable[bool]] | Callable[[], bool],
    *,
    timeout: float = 5.0,
    message: str = "condition",
) -> None:
    """Poll until the condition holds, failing after a (scaled) deadline; never a fixed sleep."""
    end = time.monotonic() + deadline(timeout)
    while True:
        result = condition()
        if asyncio.iscoroutine(result):
            result = await result
        if result:
            return
        if time.monotonic() > end:
            raise AssertionError(f"timed out waiting for {message}")
        await asyncio.sleep(0.02)


async def stop_task(task: asyncio.Task[Any], *, timeout: float = 10.0, what: str = "task") -> None:
    """Cancel a task and wait for it to end, failing (not hanging) if it ignores the
    cancellation past a scaled deadline; it is cancelled again meanwhile, as a cancellation
    swallowed by a wait that completed at the same moment would need."""
    end = time.monotonic() + deadline(timeout)
    while not task.done():
        if time.monotonic() > end:
            raise AssertionError(f"the {what} did not stop when cancelled")
        task.cancel()
        await asyncio.wait({task}, timeout=0.5)
    if not task.cancelled():
        task.exception()  # retrieved: how it ended is the test's business, not teardown's


def post_dict(native_id: str, text: str = "", **extra: Any) -> dict[str, Any]:
    """A post in the replay schema."""
    data: dict[str, Any] = {
        "source": "test",
        "native_id": native_id,
        "author": {"handle": "@ada@example.org", "display_name": "Ada"},
        "text": text or f"post {native_id} #testevent",
        "created_at": datetime.now(UTC).isoformat(),
        "hashtags": ["testevent"],
    }
    data.update(extra)
    return data


def write_jsonl(path: Path, items: list[Any]) -> Path:
    """Write items one a line; strings are written as they are (for malformed lines)."""
    with path.open("w") as out:
        for item in items:
            out.write(item if isinstance(item, str) else json.dumps(item))
            out.write("\n")
    return path


def eventwall(
    *args: str, env: dict[str, str], timeout: float = 60, stdin: str | None = None
) -> subprocess.CompletedProcess[str]:
    """Run the real `eventwall` command line in a subprocess (`stdin`: text to feed it)."""
    return subprocess.run(
        [sys.executable, "-m", "server.cli", *args],
        cwd=ROOT,
        env={**os.environ, **env},
        input=stdin,
        capture_output=True,
        text=True,
        timeout=deadline(timeout),
    )


Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


async def scrape(base: str, token: str = "") -> Samples:
    """Every sample of a server's /metrics, parsed as Prometheus does, by name and labels
    (as a holder of METRICS_TOKEN when `token` is given)."""
    import httpx
    from prometheus_client.parser import text_string_to_metric_families

    headers = {"authorization": f"Bearer {token}"} if token else {}
    async with httpx.AsyncClient() as http:
        response = await http.get(f"{base}/metrics", headers=headers)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain; version=0.0.4")
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(response.text)
        for s in family.samples
    }


async def metric(base: str, name: str, **labels: str) -> float:
    """One sample of a server's /metrics (AssertionError naming it when absent)."""
    samples = await scrape(base)
    key = (name, tuple(sorted(labels.items())))
    assert key in samples, f"no {key} in /metrics"
    return samples[key]
