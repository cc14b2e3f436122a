"""One measured trial: a fresh server, N clients, posts at a rate, everything measured."""

from __future__ import annotations

import asyncio
import contextlib
import math
import os
import shutil
import subprocess
import sys
import time
import uuid
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from websockets.asyncio.client import connect

from bench import publisher
from bench.loadgen import LoadGenerator
from bench.process import ServerGroup, ServerProcess
from bench.stats import Delivery, delivery, percentile
from wall.moderation import State
from wall.store import Store


@dataclass
class Trial:
    """Everything one trial measured."""

    server: str
    clients: int
    rate: float
    duration: float
    load_average: float  # 1-minute load average when the trial started
    connected: int
    posts: int
    p50_ms: float
    p99_ms: float
    max_ms: float
    delivery: Delivery
    delivered: int
    server_cpu_s: float
    server_cpu_pct: float  # of one core, over the publishing window
    cpu_per_message_us: float
    rss_baseline_mb: float
    rss_per_idle_kb: float
    lag_p99_ms: float
    lag_max_ms: float
    gc_max_ms: float  # longest garbage collection in the window (0: none over 5 ms)
    loadgen_cpu_pct: float  # all load-generator processes, % of one core
    loadgen_busiest_pct: float  # the busiest load-generator process, % of one core
    machine_cpu_pct: float  # whole machine over the window, % of all cores
    servers: int = 1  # server processes side by side on one port
    server_busiest_pct: float = math.nan  # the busiest server process, % of one core

    def as_dict(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return asdict(self)


def label(kind: str, servers: int) -> str:
    """A server's name in the report: `eventwall`, or `eventwall x2` for two processes."""
    return kind if servers == 1 else f"{kind} x{servers}"


def _label(kind: str) -> tuple[str, str]:
    # `eventwall@wsproto` runs Eventwall on uvicorn's wsproto implementation.
    name, _, ws = kind.partition("@")
    return name, ws


async def _wait_for(condition: Any, timeout: float, interval: float = 0.05) -> bool:
    end = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > end:
            return False
        await asyncio.sleep(interval)
    return True


async def run_trial(
    store: Store,
    redis_url: str,
    kind: str,
    clients: int,
    rate: float,
    duration: float,
    *,
    procs: int = 2,
    warmup_timeout: float = 15.0,
    profile: Path | None = None,
    servers: int = 1,
) -> Trial:
    """Start `kind` (`servers` processes of it on one port), connect `clients`, publish `rate`
    posts/s for `duration` s, measure."""
    import psutil

    name, ws = _label(kind)
    load_average = os.getloadavg()[0]
    run = uuid.uuid4().hex[:8]
    server = ServerGroup(name, redis_url, servers, ws=ws).start()
    generator: LoadGenerator | None = None
    try:
        await asyncio.sleep(0.5)
        baseline = server.rss()
        generator = LoadGenerator(server.url, clients, procs).start()
        shared = generator.shared
        await _wait_for(lambda: shared.connected.value >= clients, 60 + clients / 50)
        connected = shared.connected.value
        await asyncio.sleep(1.0)  # let the connections settle before reading RSS
        idle_rss = server.rss()
        rss_per_idle = (idle_rss - baseline) / max(connected, 1) / 1024

        # Warm-up posts until every connected client has seen one (or the time is up).
        end = time.monotonic() + warmup_timeout
        while shared.warmed.value < connected and time.monotonic() < end:
            await publisher.publish(store, run, None)
            await asyncio.sleep(0.25)

        count = max(1, round(rate * duration))
        shared.last_seq.value = count - 1
        psutil.cpu_percent()  # start the machine-wide measurement window
        spy = _profile(server, profile, f"{kind}-{clients}-{rate:g}", duration) if profile else None
        each0, t0 = server.cpus(), time.time()
        await publisher.publish_at_rate(store, run, count, rate)
        await _wait_for(lambda: shared.finished.value >= connected, 5.0)
        each1, t1 = server.cpus(), time.time()
        cpu0, cpu1 = sum(each0), sum(each1)
        busiest = max(b - a for a, b in zip(each0, each1, strict=True))
        if spy is not None:
            await asyncio.to_thread(spy.wait)
        machine = psutil.cpu_percent()
        result = generator.stop()
        generator = None
    finally:
        if generator is not None:
            generator.stop(timeout=10)
        server.stop()

    lat = list(result.latencies_ms)
    served = delivery(result.per_client, count)
    delivered = sum(len({s for s in seqs if 0 <= s < count}) for seqs in result.per_client)
    lag = server.lag_between(t0, t1)
    loadgen_cpu, loadgen_busiest = _loadgen_cpu(result.cpu_samples_by_proc, t0, t1)
    server_cpu = cpu1 - cpu0
    return Trial(
        server=label(kind, servers),
        clients=clients,
        rate=rate,
        duration=duration,
        load_average=load_average,
        connected=connected,
        posts=count,
        p50_ms=percentile(lat, 50),
        p99_ms=percentile(lat, 99),
        max_ms=max(lat) if lat else math.nan,
        delivery=served,
        delivered=delivered,
        server_cpu_s=server_cpu,
        server_cpu_pct=100 * server_cpu / (t1 - t0),
        cpu_per_message_us=1e6 * server_cpu / delivered if delivered else math.nan,
        rss_baseline_mb=baseline / 2**20,
        rss_per_idle_kb=rss_per_idle,
        lag_p99_ms=percentile(lag, 99),
        lag_max_ms=max(lag) if lag else math.nan,
        gc_max_ms=max(server.gc_between(t0, t1), default=0.0),
        loadgen_cpu_pct=100 * loadgen_cpu / (t1 - t0),
        loadgen_busiest_pct=100 * loadgen_busiest,
        machine_cpu_pct=machine,
        servers=servers,
        server_busiest_pct=100 * busiest / (t1 - t0),
    )


def _profile(
    server: ServerGroup, folder: Path, name: str, seconds: float
) -> subprocess.Popen[bytes]:
    """py-spy on the server for the publishing window: a flame graph, and a speedscope file."""
    folder.mkdir(parents=True, exist_ok=True)
    spy = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
    return subprocess.Popen(
        [
            spy,
            "record",
            "--pid",
            str(server.process.pid),
            "--duration",
            str(max(1, int(seconds))),
            "--rate",
            "200",
            "--nonblocking",
            "--format",
            "speedscope",
            "-o",
            str(folder / f"{name}.speedscope.json"),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def _loadgen_cpu(
    per_proc: list[list[tuple[float, float]]], start: float, end: float
) -> tuple[float, float]:
    """(CPU seconds of all workers, busiest worker's share of a core) between two times."""
    total = busiest = 0.0
    for samples in per_proc:
        inside = [s for s in samples if start - 0.25 <= s[0] <= end + 0.25]
        if len(inside) < 2:
            continue
        used = inside[-1][1] - inside[0][1]
        span = inside[-1][0] - inside[0][0]
        total += used
        busiest = max(busiest, used / span if span > 0 else 0.0)
    return total, busiest


async def approve_to_wall(
    store: Store, redis_url: str, *, count: int = 40, rate: float = 5.0
) -> dict[str, float]:
    """Approve pending posts one at a time; p50/p99/max ms from the approve call to receipt."""
    server = ServerProcess("eventwall", redis_url).start()
    run = uuid.uuid4().hex[:8]
    latencies: list[float] = []
    try:
        async with connect(server.url, compression=None, ping_interval=None) as socket:
            await asyncio.sleep(0.2)  # the hub registers the client just after the handshake
            for seq in range(count):
                post = await publisher.pending_post(store, run, seq)
                start = time.perf_counter_ns()
                await store.set_state(publisher.SLUG, post.id, State.APPROVED, actor="bench")
                while True:
                    message = await asyncio.wait_for(socket.recv(), 10)
                    if post.dom_id in str(message):
                        break
                latencies.append((time.perf_counter_ns() - start) / 1e6)
                await asyncio.sleep(1 / rate)
    finally:
        with contextlib.suppress(Exception):
            server.stop()
    return {
        "count": float(len(latencies)),
        "p50_ms": percentile(latencies, 50),
        "p99_ms": percentile(latencies, 99),
        "max_ms": max(latencies) if latencies else math.nan,
    }
