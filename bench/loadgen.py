"""The load generator: worker processes, each running many asyncio `websockets` clients.

Every client records the sequence numbers it receives and, for each, the latency from the
publisher's nanosecond stamp (same machine, same clock) to its receipt. Each worker samples
its own CPU time so a saturated load generator is never mistaken for a slow server.
"""

from __future__ import annotations

import asyncio
import contextlib
import multiprocessing as mp
import re
import resource
import time
from array import array
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from multiprocessing.sharedctypes import Synchronized
from multiprocessing.synchronize import Event as MpEvent
from typing import Any

from websockets.asyncio.client import connect

# The publisher writes `BSEQ<seq>T<ns>` (or `BSEQWT<ns>` for a warm-up post) into the text.
STAMP = re.compile(r"BSEQ(\d+|W)T(\d+)")
CONNECT_CONCURRENCY = 64


def stamp(seq: int | None, ns: int) -> str:
    """The marker a post carries: its sequence number (None: warm-up) and publish time."""
    return f"BSEQ{'W' if seq is None else seq}T{ns}"


@dataclass
class WorkerResult:
    """What one worker process saw: per-client sequences, latencies, its own CPU samples."""

    per_client: list[array[int]] = field(default_factory=list)
    latencies_ms: array[float] = field(default_factory=lambda: array("d"))
    cpu_samples: list[tuple[float, float]] = field(default_factory=list)  # (wall, cpu seconds)
    cpu_samples_by_proc: list[list[tuple[float, float]]] = field(default_factory=list)
    failed_connects: int = 0


@dataclass
class Shared:
    """Counters and flags shared between the orchestrator and the workers."""

    connected: Synchronized[int]
    warmed: Synchronized[int]
    finished: Synchronized[int]  # clients that received the final sequence number
    last_seq: Synchronized[int]  # set by the orchestrator once it knows it
    stop: MpEvent

    @classmethod
    def create(cls, ctx: Any) -> Shared:
        """Fresh counters in shared memory."""
        return cls(
            ctx.Value("i", 0), ctx.Value("i", 0), ctx.Value("i", 0), ctx.Value("i", -1), ctx.Event()
        )


def _bump(counter: Synchronized[int]) -> None:
    with counter.get_lock():
        counter.value += 1


async def _client(
    url: str, shared: Shared, result: WorkerResult, gate: asyncio.Semaphore, open_: list[Any]
) -> None:
    seqs: array[int] = array("i")
    result.per_client.append(seqs)
    latencies = result.latencies_ms
    warm = finished = False
    socket = None
    for attempt in range(3):
        try:
            async with gate:
                socket = await connect(
                    url,
                    compression=None,
                    ping_interval=None,
                    max_size=None,
                    open_timeout=120,
                    close_timeout=1,
                )
            break
        except Exception:
            await asyncio.sleep(0.2 * (attempt + 1))
    if socket is None:
        result.failed_connects += 1
        return
    open_.append(socket)
    _bump(shared.connected)
    with contextlib.suppress(Exception):
        async for message in socket:
            now = time.time_ns()
            text = message if isinstance(message, str) else message.decode()
            match = STAMP.search(text)
            if match is None:
                continue
            if match.group(1) == "W":
                if not warm:
                    warm = True
                    _bump(shared.warmed)
                continue
            seq = int(match.group(1))
            seqs.append(seq)
            latencies.append((now - int(match.group(2))) / 1e6)
            if not finished and seq == shared.last_seq.value:
                finished = True
                _bump(shared.finished)


async def _run(url: str, clients: int, shared: Shared) -> WorkerResult:
    result = WorkerResult()
    gate = asyncio.Semaphore(CONNECT_CONCURRENCY)
    sockets: list[Any] = []
    tasks = [
        asyncio.create_task(_client(url, shared, result, gate, sockets)) for _ in range(clients)
    ]
    while not shared.stop.is_set():
        result.cpu_samples.append((time.time(), time.process_time()))
        await asyncio.sleep(0.25)
    result.cpu_samples.append((time.time(), time.process_time()))
    # Abort rather than close: thousands of closing handshakes would only slow the next step.
    for socket in sockets:
        socket.transport.abort()
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    return result


def worker(url: str, clients: int, shared: Shared, out: Connection) -> None:
    """A worker process's body: run the clients until told to stop, then send the results."""
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    result = asyncio.run(_run(url, clients, shared))
    out.send(
        (
            [s.tobytes() for s in result.per_client],
            result.latencies_ms.tobytes(),
            result.cpu_samples,
            result.failed_connects,
        )
    )
    out.close()


class LoadGenerator:
    """`procs` worker processes sharing `clients` connections to one websocket URL."""

    def __init__(self, url: str, clients: int, procs: int) -> None:
        self.ctx = mp.get_context("spawn")
        self.shared = Shared.create(self.ctx)
        self.clients = clients
        self._pipes: list[Connection] = []
        self._procs: list[Any] = []
        share = [clients // procs + (i < clients % procs) for i in range(procs)]
        for count in share:
            if count == 0:
                continue
            receive, send = self.ctx.Pipe(duplex=False)
            proc = self.ctx.Process(target=worker, args=(url, count, self.shared, send), daemon=True)
            self._pipes.append(receive)
            self._procs.append(proc)

    def start(self) -> LoadGenerator:
        """Start the worker processes (they connect at once)."""
        for proc in self._procs:
            proc.start()
        return self

    def stop(self, timeout: float = 60) -> WorkerResult:
        """Stop every client and merge what the workers saw."""
        self.shared.stop.set()
        merged = WorkerResult()
        for pipe in self._pipes:
            if not pipe.poll(timeout):
                continue
            per_client, latencies, cpu, failed = pipe.recv()
            for raw in per_client:
                seqs: array[int] = array("i")
                seqs.frombytes(raw)
                merged.per_client.append(seqs)
            merged.latencies_ms.frombytes(latencies)
            merged.cpu_samples_by_proc.append(cpu)
            merged.failed_connects += failed
        for proc in self._procs:
            proc.join(10)
            if proc.is_alive():
                proc.kill()
        return merged
