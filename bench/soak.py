"""The soak test: hours (or minutes) of a live room under periodic faults, every change checked.

    python -m bench.soak --duration 600 --clients 300 --rate 4 --fault-every 30

Real processes on loopback: a Valkey, `eventwall web` and `eventwall ingest worker` (the
demo, posting at `--rate`), with the web process and the worker reaching Redis through a
small TCP proxy this script controls. Every `--fault-every` seconds it injects the next
fault in turn: kill -9 the web process (and restart it), kill -9 the worker (and restart
it), restart Redis, cut the network between Eventwall and Redis for `--partition` seconds.

Each client resumes as the browser does (reconnect with the last change id applied) and
records every change id. At the end, after the faults stop and the room catches up, each
client's sequence is compared with the event's public change log: changes lost, duplicated,
out of order, per client. Memory (RSS) of the three processes is sampled over time.
Reports, never gates; not part of `make test`.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import re
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from redis.asyncio import Redis
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed, InvalidHandshake

from wall.redis_server import EmbeddedRedis, free_port

ROOT = Path(__file__).resolve().parent.parent
CHANGE_ID = re.compile(r'data-change-id="(\d+)-(\d+)"')
RESET = '<div id="posts" hx-swap-oob="innerHTML"'
SLUG = "demo"
FAULTS = ("kill web", "kill worker", "restart redis", "partition")


def rss_mb(pid: int | None) -> float:
    """A process's resident memory in MB (0 if it is gone)."""
    if pid is None:
        return 0.0
    with contextlib.suppress(OSError):
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


class Proxy:
    """A TCP proxy to Redis that can cut every connection and refuse new ones for a while."""

    def __init__(self, target_port: int) -> None:
        self.target_port = target_port
        self.port = free_port()
        self.cut = False
        self._pipes: set[asyncio.StreamWriter] = set()
        self._server: asyncio.Server | None = None

    async def start(self) -> None:
        """Listen on loopback."""
        self._server = await asyncio.start_server(self._accept, "127.0.0.1", self.port)

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if self.cut:
            writer.close()
            return
        try:
            up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.target_port)
        except OSError:
            writer.close()
            return
        self._pipes |= {writer, up_writer}
        await asyncio.gather(self._pipe(reader, up_writer), self._pipe(up_reader, writer))

    async def _pipe(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while data := await reader.read(65536):
                writer.write(data)
                await writer.drain()
        except OSError:
            pass
        finally:
            self._pipes.discard(writer)
            writer.close()

    async def partition(self, seconds: float) -> None:
        """Drop every connection and refuse new ones for `seconds`."""
        self.cut = True
        for writer in list(self._pipes):
            writer.transport.abort()
        await asyncio.sleep(seconds)
        self.cut = False


class Child:
    """An `eventwall` subcommand in a subprocess that can be killed and started again."""

    def __init__(self, args: list[str], env: dict[str, str], log: Path) -> None:
        self.args, self.env, self.log = args, env, log
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        """Start it, its output appended to its log file."""
        with self.log.open("ab") as out:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "server.cli", *self.args],
                cwd=ROOT,
                env=self.env,
                stdout=out,
                stderr=subprocess.STDOUT,
            )

    def kill(self) -> None:
        """SIGKILL and reap."""
        if self.process is not None:
            self.process.kill()
            self.process.wait()

    def stop(self) -> None:
        """SIGTERM, then SIGKILL."""
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                self.kill()

    @property
    def pid(self) -> int | None:
        """Its pid while it runs."""
        return self.process.pid if self.process and self.process.poll() is None else None


@dataclass
class Client:
    """A websocket client resuming like eventwall.js; every change id it applied, in order."""

    url: str
    since: str
    applied: list[tuple[int, int]] = field(default_factory=list)
    duplicates: int = 0
    resets: int = 0
    connects: int = 0

    async def run(self) -> None:
        """Stay connected, reconnecting with backoff (capped at 1 s) and the last id."""
        delay = 0.05
        while True:
            try:
                async with connect(f"{self.url}?since={self.since}", max_size=None) as ws:
                    self.connects += 1
                    delay = 0.05
                    async for message in ws:
                        self.apply(str(message))
            except (ConnectionClosed, InvalidHandshake, OSError, TimeoutError):
                pass
            await asyncio.sleep(delay)
            delay = min(delay * 2, 1.0)

    def apply(self, message: str) -> None:
        """Record a message's change id, or count it as a duplicate."""
        match = CHANGE_ID.search(message[:2000])
        if match is None:
            return
        key = (int(match.group(1)), int(match.group(2)))
        if message.startswith(RESET):
            self.resets += 1
        elif self.applied and key <= self.applied[-1]:
            self.duplicates += 1
            return
        self.applied.append(key)
        self.since = f"{key[0]}-{key[1]}"


async def public_log(redis: Redis, after: str) -> list[tuple[int, int]]:
    """The event's public change log after `after`, as comparable pairs."""
    entries = await redis.xrange(f"ew:{{{SLUG}}}:log:public", min=f"({after}", max="+") or []
    pairs = [str(xid).split("-") for xid, _ in entries]
    return [(int(ms), int(seq)) for ms, seq in pairs]


async def soak(args: argparse.Namespace) -> int:
    """Run the room, inject the faults, compare every client with the log; print the report."""
    work = Path(tempfile.mkdtemp(prefix="ew-soak-"))
    valkey = EmbeddedRedis(work / "valkey", port=free_port())
    valkey.start()
    proxy = Proxy(valkey.port)
    await proxy.start()
    env = {
        **os.environ,
        "REDIS_URL": f"redis://127.0.0.1:{proxy.port}/0",
        "DATA_DIR": str(work / "data"),
        "DEMO": "true",
        "DEMO_RATE": str(args.rate),
        "DEMO_LOOP": "true",
        "PORT": str(free_port()),
        "HOST": "127.0.0.1",
    }
    web = Child(["web"], env, work / "web.log")
    worker = Child(["ingest", "worker"], env, work / "worker.log")
    web.start()
    worker.start()
    redis = Redis.from_url(valkey.url, decode_responses=True)
    ws_url = f"ws://127.0.0.1:{env['PORT']}/e/{SLUG}/ws"
    while not await redis.exists(f"ew:{{{SLUG}}}:log:public"):  # noqa: ASYNC110 - polls Redis
        await asyncio.sleep(0.2)
    last = await redis.xrevrange(f"ew:{{{SLUG}}}:log:public", count=1) or []
    since = str(last[0][0])
    clients = [Client(ws_url, since) for _ in range(args.clients)]
    tasks = [asyncio.create_task(c.run()) for c in clients]
    started = time.monotonic()
    memory: list[tuple[float, float, float, float]] = []
    faults: list[str] = []
    n = 0
    next_fault = started + args.fault_every
    next_sample = started
    print(f"soak: {args.clients} clients, {args.rate} posts/s, {args.duration:.0f}s; {work}")
    while time.monotonic() - started < args.duration:
        now = time.monotonic()
        if now >= next_sample:
            valkey_pid = valkey.process.pid if valkey.process else None
            memory.append((now - started, rss_mb(web.pid), rss_mb(worker.pid), rss_mb(valkey_pid)))
            next_sample += args.sample_every
        if now >= next_fault:
            fault = FAULTS[n % len(FAULTS)]
            n += 1
            faults.append(f"{now - started:.0f}s {fault}")
            print(f"  {now - started:6.0f}s  {fault}", flush=True)
            if fault == "kill web":
                web.kill()
                await asyncio.sleep(1.0)
                web.start()
            elif fault == "kill worker":
                worker.kill()
                await asyncio.sleep(1.0)
                worker.start()
            elif fault == "restart redis":
                await redis.aclose()
                await asyncio.to_thread(valkey.stop)
                await asyncio.to_thread(valkey.start)
                redis = Redis.from_url(valkey.url, decode_responses=True)
            else:
                await proxy.partition(args.partition)
            next_fault += args.fault_every
        await asyncio.sleep(0.2)

    # The faults stop; so does posting. The room catches up, then is compared with the log.
    worker.stop()
    expected = await public_log(redis, since)
    end = time.monotonic() + args.settle
    while time.monotonic() < end and not all(c.applied[-1:] == expected[-1:] for c in clients):  # noqa: ASYNC110
        await asyncio.sleep(0.5)
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    web.stop()
    await redis.aclose()
    valkey.stop()
    report(args, clients, expected, memory, faults)
    return 0


def report(
    args: argparse.Namespace,
    clients: Sequence[Client],
    expected: list[tuple[int, int]],
    memory: list[tuple[float, float, float, float]],
    faults: list[str],
) -> None:
    """Lost, duplicated and out-of-order changes per client, and memory over time (Markdown)."""
    wanted = set(expected)
    lost = [len(wanted - set(c.applied)) for c in clients]
    extra = [len(set(c.applied) - wanted) for c in clients]
    disorder = [
        sum(1 for a, b in zip(c.applied, c.applied[1:], strict=False) if b <= a) for c in clients
    ]
    print(
        f"\n{len(faults)} faults ({', '.join(FAULTS)} in turn), {len(expected)} changes in the log"
    )
    print(
        "| clients | lost (total, worst client) | duplicated | out of order | resets | reconnects |"
    )
    print("|---|---|---|---|---|---|")
    print(
        f"| {len(clients)} | {sum(lost)}, {max(lost, default=0)} | "
        f"{sum(c.duplicates for c in clients)} | {sum(disorder)} | "
        f"{sum(c.resets for c in clients)} | {sum(c.connects - 1 for c in clients)} |"
    )
    if any(extra):
        print(f"changes not in the log (lost to Redis restarts after delivery): {sum(extra)}")
    print("\n| time | web RSS MB | worker RSS MB | Valkey RSS MB |\n|---|---|---|---|")
    step = max(1, len(memory) // 12)
    for at, web, worker, valkey in memory[::step] + memory[-1:]:
        print(f"| {at:.0f}s | {web:.0f} | {worker:.0f} | {valkey:.0f} |")


def parse(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """The command line."""
    parser = argparse.ArgumentParser(prog="python -m bench.soak", description=__doc__)
    parser.add_argument("--duration", type=float, default=600, help="seconds of faults")
    parser.add_argument("--clients", type=int, default=300)
    parser.add_argument("--rate", type=float, default=4.0, help="demo posts per second")
    parser.add_argument("--fault-every", type=float, default=30.0, help="seconds between faults")
    parser.add_argument("--partition", type=float, default=5.0, help="seconds of a partition")
    parser.add_argument("--sample-every", type=float, default=10.0, help="memory sample period")
    parser.add_argument("--settle", type=float, default=60.0, help="catch-up time at the end")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> None:
    """Entry point."""
    sys.exit(asyncio.run(soak(parse(argv))))


if __name__ == "__main__":
    main()
