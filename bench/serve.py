"""Run one of the three servers for the benchmark, with an event-loop lag probe.

    python -m bench.serve eventwall|ceiling|peer --redis URL --port P [--ws IMPL] [--reuse-port]

Each prints `BENCH-READY` once it listens and, every second, `BENCH-LAG ms,ms,...`: an
asyncio task sleeps 20 ms in a loop and records how late it wakes up. That lateness is
the time the loop spent on other callbacks before it could run this one: the event-loop
lag a new message or a new connection would see. `BENCH-OWN ms,ms,...` gives, per sample,
the part of it the loop's own CPU time explains: on a busy machine, the stall the server's
code caused, without the time it waited for a core. `BENCH-HOLD ms` is the longest any one
callback ran in that second, in the loop thread's CPU time. Garbage collections longer than 5 ms
are printed as `BENCH-GC generation ms`, to tell a collector pause from contention.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import resource
import sys
import tempfile
import time
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any

LAG_INTERVAL = 0.02
SLUG = "bench"


def watch_gc(threshold_ms: float = 5.0) -> None:
    """Print `BENCH-GC generation ms` for every garbage collection longer than the threshold."""
    started: list[float] = []

    def callback(phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            started[:] = [time.perf_counter()]
        elif started:
            ms = (time.perf_counter() - started[0]) * 1000
            if ms >= threshold_ms:
                print(f"BENCH-GC {info['generation']} {ms:.1f}", flush=True)

    gc.callbacks.append(callback)


class LongestHold:
    """The longest any one loop callback ran, in the loop thread's CPU time: how long a
    request held the loop by itself, which a busy machine can't inflate by making it wait
    for a core (the lag probe sees both)."""

    def __init__(self) -> None:
        self.worst = 0.0

    def install(self) -> None:
        """Time every callback the loop runs: asyncio runs each through `Handle._run`
        (a private method; the benchmark is its only user)."""
        original = asyncio.events.Handle._run
        hold = self

        def timed(handle: asyncio.events.Handle) -> None:
            started = time.thread_time()
            try:
                original(handle)
            finally:
                hold.worst = max(hold.worst, time.thread_time() - started)

        asyncio.events.Handle._run = timed  # type: ignore[method-assign, assignment]

    def take(self) -> float:
        """The longest hold since the last call, in ms."""
        worst, self.worst = self.worst, 0.0
        return worst * 1000


HOLD = LongestHold()


async def sample_lag(interval: float = LAG_INTERVAL) -> None:
    """Print the loop's wake-up lateness, in ms, once a second, and the part of it the loop's
    own work explains."""
    loop = asyncio.get_running_loop()
    samples: list[float] = []
    own: list[float] = []
    reported = loop.time()
    while True:
        start, cpu = loop.time(), time.thread_time()
        await asyncio.sleep(interval)
        now = loop.time()
        late = max(0.0, (now - start - interval) * 1000)
        samples.append(late)
        # The loop thread's CPU time while the probe slept bounds how long callbacks can
        # have held the loop; the rest of the lateness was waiting for a core (a busy
        # machine), which this figure leaves out.
        own.append(min(late, (time.thread_time() - cpu) * 1000))
        if now - reported >= 1.0:
            print("BENCH-LAG " + ",".join(f"{s:.2f}" for s in samples), flush=True)
            print("BENCH-OWN " + ",".join(f"{s:.2f}" for s in own), flush=True)
            print(f"BENCH-HOLD {HOLD.take():.2f}", flush=True)
            samples.clear()
            own.clear()
            reported = now


async def _with_probe(
    serve: Callable[[], Coroutine[Any, Any, None]], ready: Callable[[], bool]
) -> None:
    probe = asyncio.create_task(sample_lag())
    task = asyncio.create_task(serve())
    while not ready() and not task.done():  # noqa: ASYNC110 - uvicorn offers a flag only
        await asyncio.sleep(0.02)
    HOLD.take()  # start-up is not a request's doing
    print("BENCH-READY", flush=True)
    try:
        await task
    finally:
        probe.cancel()


async def run_eventwall(redis_url: str, port: int, ws: str, *, reuse_port: bool = False) -> None:
    """Eventwall as `eventwall web` runs it: the real app and uvicorn configuration.

    `reuse_port`: as `eventwall web --reuse-port` (one of `eventwall run --workers N`), its own
    SO_REUSEPORT socket on a port its siblings share.
    """
    from server.cli import web_server
    from server.procs import shared_socket
    from wall.settings import Settings

    data = Path(tempfile.mkdtemp(prefix="ew-bench-"))
    settings = Settings(redis_url=redis_url, data_dir=data, demo=False, port=port)
    server = web_server(settings, "127.0.0.1", port)
    server.config.log_level = "warning"
    server.config.backlog = 4096
    if ws:
        server.config.ws = ws
    if not reuse_port:
        await _with_probe(server.serve, lambda: server.started)
        return
    with shared_socket("127.0.0.1", port, backlog=server.config.backlog) as sock:
        await _with_probe(lambda: server.serve(sockets=[sock]), lambda: server.started)


async def run_ceiling(redis_url: str, port: int, ws: str) -> None:
    """The Python ceiling: websockets' serve() and broadcast(), one Redis subscription."""
    from bench.ceiling import serve

    started = asyncio.Event()
    await _with_probe(lambda: serve(redis_url, port, SLUG, started), started.is_set)


async def run_peer(redis_url: str, port: int, ws: str, *, prime: bool = True) -> None:
    """The usual peer: Starlette + encode/broadcaster, a subscription per client, on uvicorn."""
    import uvicorn

    from bench.peer import create_app

    config = uvicorn.Config(
        create_app(redis_url, SLUG, prime=prime),
        host="127.0.0.1",
        port=port,
        log_level="warning",
        ws_per_message_deflate=False,
        backlog=4096,
        ws=ws or "auto",
    )
    server = uvicorn.Server(config)
    await _with_probe(server.serve, lambda: server.started)


async def run_peer_raw(redis_url: str, port: int, ws: str) -> None:
    """The peer exactly as broadcaster's example has it, first-subscriber race included."""
    await run_peer(redis_url, port, ws, prime=False)


SERVERS = {
    "eventwall": run_eventwall,
    "ceiling": run_ceiling,
    "peer": run_peer,
    "peer-raw": run_peer_raw,
}


def main(argv: list[str] | None = None) -> None:
    """Parse the arguments and serve until terminated."""
    parser = argparse.ArgumentParser(prog="python -m bench.serve")
    parser.add_argument("kind", choices=sorted(SERVERS))
    parser.add_argument("--redis", required=True)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--ws", default="", help="uvicorn websocket implementation")
    parser.add_argument(
        "--reuse-port", action="store_true", help="eventwall only: share the port (SO_REUSEPORT)"
    )
    args = parser.parse_args(argv)
    if args.reuse_port and args.kind != "eventwall":
        parser.error("--reuse-port: eventwall only")
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    watch_gc()
    HOLD.install()
    with contextlib.suppress(KeyboardInterrupt):
        if args.reuse_port:
            asyncio.run(run_eventwall(args.redis, args.port, args.ws, reuse_port=True))
        else:
            asyncio.run(SERVERS[args.kind](args.redis, args.port, args.ws))
    sys.exit(0)


if __name__ == "__main__":
    main()
