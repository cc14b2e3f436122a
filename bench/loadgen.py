"""The load generator: worker processes, each running many asyncio `websockets` clients.

Every client records the sequence numbers it receives and, for each, the latency from the
publisher's nanosecond stamp (same machine, same clock) to its receipt. Each worker samples
its own CPU time so a saturated load generator is never mistaken for a slow server.
"""

from __future__ import annotations

import asyncio
import multiprocessing as mp
import re
import resource
import time
from array import array
from collections.abc import Callable
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from multiprocessing.sharedctypes import Synchronized
from multiprocessing.synchronize import Event as MpEvent
from typing import Any
from urllib.parse import urlsplit

from websockets.client import ClientProtocol
from websockets.frames import Frame, Opcode
from websockets.http11 import Response
from websockets.uri import parse_uri

# The publisher writes `BSEQ<seq>T<ns>` (or `BSEQWT<ns>` for a warm-up post) into the text.
STAMP = re.compile(rb"BSEQ(\d+|W)T(\d+)")
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


class BenchClient(asyncio.Protocol):
    """One websocket client: the `websockets` library's sans-I/O client in an asyncio protocol.

    Frames are parsed in `data_received` as they arrive, with no task switch per message:
    the library's asyncio client wakes a coroutine for every message, which made the load
    generator (not the server) the bottleneck past a few thousand messages a second.
    """

    def __init__(self, url: str, shared: Shared, seqs: array[int], latencies: array[float]) -> None:
        self.ws = ClientProtocol(parse_uri(url), max_size=None)  # no extensions: uncompressed
        self.shared = shared
        self.seqs = seqs
        self.latencies = latencies
        self.opened: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.transport: asyncio.Transport | None = None
        self.warm = self.finished = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        """Send the opening handshake."""
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        self.ws.send_request(self.ws.connect())
        self._flush()

    def _flush(self) -> None:
        assert self.transport is not None
        for data in self.ws.data_to_send():
            if data:
                self.transport.write(data)
            else:  # the protocol wants the connection closed
                self.transport.close()

    def data_received(self, data: bytes) -> None:
        """Parse what arrived; note every stamped message's sequence number and latency."""
        now = time.time_ns()
        self.ws.receive_data(data)
        for event in self.ws.events_received():
            if isinstance(event, Response):
                if self.ws.handshake_exc is None:
                    self.opened.set_result(None)
                elif not self.opened.done():
                    self.opened.set_exception(self.ws.handshake_exc)
            elif isinstance(event, Frame) and event.opcode is Opcode.TEXT:
                self._note(bytes(event.data), now)
        self._flush()  # pongs, close frames

    def _note(self, payload: bytes, now: int) -> None:
        match = STAMP.search(payload)
        if match is None:
            return
        if match.group(1) == b"W":
            if not self.warm:
                self.warm = True
                _bump(self.shared.warmed)
            return
        seq = int(match.group(1))
        self.seqs.append(seq)
        self.latencies.append((now - int(match.group(2))) / 1e6)
        if not self.finished and seq == self.shared.last_seq.value:
            self.finished = True
            _bump(self.shared.finished)

    def connection_lost(self, exc: Exception | None) -> None:
        """Fail a pending handshake."""
        if not self.opened.done():
            self.opened.set_exception(ConnectionError(f"connection lost: {exc}"))


def _factory(client: BenchClient) -> Callable[[], BenchClient]:
    return lambda: client


async def _client(
    url: str, shared: Shared, result: WorkerResult, gate: asyncio.Semaphore, open_: list[Any]
) -> None:
    seqs: array[int] = array("i")
    result.per_client.append(seqs)
    parts = urlsplit(url)
    host, port = parts.hostname or "127.0.0.1", parts.port or 80
    loop = asyncio.get_running_loop()
    for attempt in range(3):
        client = BenchClient(url, shared, seqs, result.latencies_ms)
        try:
            async with gate:
                transport, _ = await loop.create_connection(_factory(client), host, port)
                try:
                    await asyncio.wait_for(client.opened, 120)
                except BaseException:
                    transport.abort()
                    raise
        except Exception:
            await asyncio.sleep(0.2 * (attempt + 1))
            continue
        open_.append(transport)
        _bump(shared.connected)
        return
    result.failed_connects += 1


async def _run(url: str, clients: int, shared: Shared) -> WorkerResult:
    result = WorkerResult()
    gate = asyncio.Semaphore(CONNECT_CONCURRENCY)
    transports: list[Any] = []
    connecting = [
        asyncio.create_task(_client(url, shared, result, gate, transports)) for _ in range(clients)
    ]
    while not shared.stop.is_set():
        result.cpu_samples.append((time.time(), time.process_time()))
        await asyncio.sleep(0.25)
    result.cpu_samples.append((time.time(), time.process_time()))
    for task in connecting:
        task.cancel()
    await asyncio.gather(*connecting, return_exceptions=True)
    # Abort rather than close: thousands of closing handshakes would only slow the next step.
    for transport in transports:
        transport.abort()
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
            proc = self.ctx.Process(
                target=worker, args=(url, count, self.shared, send), daemon=True
            )
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
