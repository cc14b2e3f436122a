"""Server memory per idle websocket, and what each part of a connection costs.

    python -m bench.conn_memory [--clients 1000] [--trace-clients 500]

Two measurements, each in a fresh server process (the app and uvicorn configuration that
`eventwall web` runs), with the clients in other processes so their memory is not counted:

- **RSS**: (resident memory with N idle connections - before the first) / N, as the fan-out
  benchmark reports it. Idle: connected to the wall's socket, caught up, nothing posted.
- **Parts** (tracemalloc, which slows the server and adds its own overhead, so it runs
  apart): the Python memory the N connections hold, each allocation charged to the innermost
  frame of its traceback that is not the standard library (an `asyncio.Queue` made by
  uvicorn's protocol is uvicorn's), grouped into the parts below.

Clients connect as a screen does after a restart (`?since=` the log's newest id and
`?page=wall`), so the resume path runs too. The report is a Markdown table.
"""

from __future__ import annotations

import argparse
import ast
import asyncio
import contextlib
import functools
import gc
import json
import os
import resource
import subprocess
import sys
import sysconfig
import tempfile
import time
import tracemalloc
from pathlib import Path
from typing import Any

from bench.loadgen import LoadGenerator
from bench.process import ROOT, free_port

SLUG = "bench"
UVICORN_WS = "/uvicorn/protocols/websockets/"
# (part, path fragment, enclosing function or "") -- the first match of a frame names its part.
PARTS: list[tuple[str, str, str]] = [
    ("uvicorn: handshake request, response, ASGI scope", UVICORN_WS, "handle_connect"),
    ("uvicorn: protocol object, receive queue, writable event", UVICORN_WS, "__init__"),
    ("uvicorn: protocol (other)", UVICORN_WS, ""),
    ("uvicorn: HTTP protocol left from the upgrade", "/uvicorn/protocols/http/", ""),
    ("uvicorn (other)", "/uvicorn/", ""),
    ("websockets: sans-I/O protocol, parser, limits", "/websockets/", ""),
    ("Starlette: WebSocket, routing and middleware frames", "/starlette/", ""),
    ("Eventwall: middleware frames", "/server/headers.py", ""),
    ("Eventwall: middleware frames", "/server/limits.py", ""),
    ("Eventwall: middleware frames", "/server/frames.py", "__call__"),
    ("Eventwall: direct writer", "/server/frames.py", ""),
    ("Eventwall: hub client (queue, state)", "/server/hub.py", ""),
    ("Eventwall: socket endpoint, its tasks and waits", "/server/sockets.py", ""),
    ("Eventwall: resume read (store, models)", "/wall/", ""),
    ("Eventwall (other)", "/server/", ""),
    ("redis-py: pool connections opened for the resumes", "/redis/", ""),
]
STDLIB = (sysconfig.get_paths()["stdlib"], sysconfig.get_paths()["platstdlib"])


@functools.cache
def _functions(filename: str) -> list[tuple[int, int, str]]:
    """(first line, last line, name) of every function in a source file."""
    try:
        tree = ast.parse(Path(filename).read_text())
    except (OSError, SyntaxError, ValueError):
        return []
    return [
        (node.lineno, node.end_lineno or node.lineno, node.name)
        for node in ast.walk(tree)
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
    ]


def function_at(filename: str, lineno: int) -> str:
    """The innermost function enclosing a line ('' at module level)."""
    found, span = "", None
    for first, last, name in _functions(filename):
        if first <= lineno <= last and (span is None or last - first < span):
            found, span = name, last - first
    return found


@functools.cache
def _part(filename: str, lineno: int) -> str | None:
    if filename.startswith(STDLIB) and "site-packages" not in filename:
        return None  # standard library: charge the caller
    if filename.endswith("bench/conn_memory.py"):
        return "asyncio: transports, handles (made by the event loop itself)"
    for label, fragment, function in PARTS:
        if fragment in filename and (not function or function_at(filename, lineno) == function):
            return label
    return "other: " + filename.rsplit("/site-packages/", 1)[-1]


def part_of(trace: tracemalloc.Traceback) -> str:
    """The part an allocation belongs to: its innermost frame outside the standard library."""
    frames = list(trace)  # oldest frame first: walk from the innermost
    for frame in reversed(frames):
        label = _part(frame.filename, frame.lineno)
        if label is not None:
            return label
    top = frames[-1].filename if frames else "?"
    return "standard library only: " + Path(top).name


async def _serve(redis_url: str, port: int, clients: int, trace: bool) -> dict[str, Any]:
    import psutil

    from server.app import create_app
    from server.cli import uvicorn_config
    from wall.settings import Settings

    data = Path(tempfile.mkdtemp(prefix="ew-connmem-"))
    settings = Settings(redis_url=redis_url, data_dir=data, demo=False, port=port)
    app = create_app(settings)
    config = uvicorn_config(app, settings, "127.0.0.1", port)
    config.log_level = "warning"
    config.backlog = 4096
    import uvicorn

    server = uvicorn.Server(config)
    serving = asyncio.create_task(server.serve())
    while not server.started:  # noqa: ASYNC110 - uvicorn offers a flag only
        await asyncio.sleep(0.02)
    hub = app.state.services.hub
    since = await app.state.services.store.last_change_id(SLUG, "public")
    me = psutil.Process()

    def settle() -> None:
        gc.collect()

    # One connection first, so that what is made once (imports, caches) is not counted.
    warm = LoadGenerator(f"ws://127.0.0.1:{port}/e/{SLUG}/ws?page=wall&since={since}", 1, 1)
    warm.start()
    while hub.client_count < 1:  # noqa: ASYNC110 - polling the server's own counter
        await asyncio.sleep(0.05)
    await asyncio.sleep(0.5)
    settle()
    before_rss = me.memory_info().rss
    before = tracemalloc.take_snapshot() if trace else None
    generator = LoadGenerator(
        f"ws://127.0.0.1:{port}/e/{SLUG}/ws?page=wall&since={since}", clients, 2
    ).start()
    end = time.monotonic() + 60 + clients / 50
    while hub.client_count < clients + 1 and time.monotonic() < end:  # noqa: ASYNC110
        await asyncio.sleep(0.05)
    connected = hub.client_count - 1
    await asyncio.sleep(1.0)  # let the resumes finish and the tasks settle
    settle()
    after_rss = me.memory_info().rss
    result: dict[str, Any] = {
        "clients": connected,
        "rss_per_conn": (after_rss - before_rss) / max(connected, 1),
    }
    if trace and before is not None:
        after = tracemalloc.take_snapshot()
        parts: dict[str, int] = {}
        blocks: dict[str, int] = {}
        for stat in after.compare_to(before, "traceback"):
            if not stat.size_diff and not stat.count_diff:
                continue
            label = part_of(stat.traceback)
            parts[label] = parts.get(label, 0) + stat.size_diff
            blocks[label] = blocks.get(label, 0) + stat.count_diff
        result["parts"] = {k: v / max(connected, 1) for k, v in parts.items()}
        result["blocks"] = {k: v / max(connected, 1) for k, v in blocks.items()}
        top = after.compare_to(before, "lineno")[:25]
        result["top_lines"] = [(str(s.traceback[0]), s.size_diff / max(connected, 1)) for s in top]
    generator.stop(timeout=10)
    warm.stop(timeout=10)
    server.should_exit = True
    with contextlib.suppress(Exception):
        await asyncio.wait_for(serving, 10)
    return result


def serve_main(redis_url: str, clients: int, trace: bool) -> None:
    """One measurement in this process; prints its result as one JSON line."""
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    if trace:
        tracemalloc.start(20)
    result = asyncio.run(_serve(redis_url, free_port(), clients, trace))
    print("CONNMEM " + json.dumps(result), flush=True)


def measure(redis_url: str, clients: int, trace: bool) -> dict[str, Any]:
    """Run one measurement in a fresh process; its result."""
    args = [sys.executable, "-m", "bench.conn_memory", "--serve", redis_url]
    args += ["--clients", str(clients)] + (["--trace"] if trace else [])
    out = subprocess.run(args, cwd=ROOT, capture_output=True, text=True, check=False)
    for line in out.stdout.splitlines():
        if line.startswith("CONNMEM "):
            return dict(json.loads(line[len("CONNMEM ") :]))
    raise RuntimeError(f"the measurement failed:\n{out.stdout[-3000:]}\n{out.stderr[-3000:]}")


async def _prepare(redis_url: str) -> None:
    from redis.asyncio import Redis

    from bench import publisher
    from wall.store import Store

    redis = Redis.from_url(redis_url, decode_responses=True)
    try:
        await Store(redis).save_event(publisher.EVENT)
    finally:
        await redis.aclose()


def report(rss: dict[str, Any], traced: dict[str, Any], show_lines: bool) -> str:
    """The Markdown tables."""
    lines = [
        f"RSS per idle connection: **{rss['rss_per_conn'] / 1024:.1f} KB** "
        f"(N = {rss['clients']:,}, load average {os.getloadavg()[0]:.1f})",
        "",
        f"Python memory per idle connection by part (tracemalloc, N = {traced['clients']:,}):",
        "",
        "| part | bytes | blocks |",
        "|---|---:|---:|",
    ]
    parts: dict[str, float] = traced["parts"]
    for label, size in sorted(parts.items(), key=lambda kv: -kv[1]):
        if abs(size) >= 16:
            lines.append(f"| {label} | {size:,.0f} | {traced['blocks'][label]:.1f} |")
    lines.append(f"| **total** | **{sum(parts.values()):,.0f}** | |")
    if show_lines:
        lines += ["", "| top lines | bytes |", "|---|---:|"]
        lines += [f"| {where} | {size:,.0f} |" for where, size in traced["top_lines"]]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    """Parse the arguments, start a Valkey, measure both ways, print the tables."""
    parser = argparse.ArgumentParser(prog="python -m bench.conn_memory")
    parser.add_argument("--clients", type=int, default=1000, help="idle clients for RSS")
    parser.add_argument("--trace-clients", type=int, default=500, help="clients for tracemalloc")
    parser.add_argument("--lines", action="store_true", help="also list the top source lines")
    parser.add_argument("--serve", metavar="REDIS_URL", help=argparse.SUPPRESS)
    parser.add_argument("--trace", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.serve:
        serve_main(args.serve, args.clients, args.trace)
        return
    from wall.redis_server import EmbeddedRedis

    valkey = EmbeddedRedis(Path(tempfile.mkdtemp(prefix="ew-connmem-valkey-")))
    url = valkey.start()
    try:
        asyncio.run(_prepare(url))
        rss = measure(url, args.clients, trace=False)
        traced = measure(url, args.trace_clients, trace=True)
    finally:
        valkey.stop()
    print(report(rss, traced, args.lines))


if __name__ == "__main__":
    main()
