"""One benchmark server in a subprocess: start, wait for it, read its loop lag, CPU and RSS."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    """A port nothing listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class ServerProcess:
    """`python -m bench.serve KIND` on a free port."""

    def __init__(
        self, kind: str, redis_url: str, *, ws: str = "", port: int = 0, reuse_port: bool = False
    ) -> None:
        self.kind = kind
        self.port = port or free_port()
        self.args = [sys.executable, "-m", "bench.serve", kind, "--redis", redis_url]
        self.args += ["--port", str(self.port)] + (["--ws", ws] if ws else [])
        self.args += ["--reuse-port"] if reuse_port else []
        self.lag: list[tuple[float, float]] = []  # (wall time the line arrived, lag ms)
        self.own: list[tuple[float, float]] = []  # the same, the part its own CPU explains
        self.hold: list[tuple[float, float]] = []  # (wall time, longest callback's CPU ms)
        self.lines: list[str] = []
        self.gc: list[tuple[float, float]] = []  # (wall time, pause ms) of collections >= 5 ms
        self._ready = threading.Event()

    @property
    def url(self) -> str:
        """The event's live websocket."""
        return f"ws://127.0.0.1:{self.port}/e/bench/ws"

    def start(self, timeout: float = 30) -> ServerProcess:
        """Start it and wait until it listens."""
        self.process = subprocess.Popen(
            self.args,
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
        self.ps = psutil.Process(self.process.pid)
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()
        if not self._ready.wait(timeout):
            self.stop()
            raise RuntimeError(f"{self.kind} did not start:\n" + "".join(self.lines[-20:]))
        return self

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            if line.startswith("BENCH-LAG "):
                now = time.time()
                self.lag.extend((now, float(v)) for v in line[10:].split(",") if v.strip())
            elif line.startswith("BENCH-OWN "):
                now = time.time()
                self.own.extend((now, float(v)) for v in line[10:].split(",") if v.strip())
            elif line.startswith("BENCH-HOLD "):
                self.hold.append((time.time(), float(line.split()[1])))
            elif line.startswith("BENCH-GC "):
                self.gc.append((time.time(), float(line.split()[2])))
            elif line.startswith("BENCH-READY"):
                self._ready.set()
            else:
                self.lines.append(line)
                del self.lines[:-200]

    def cpu(self) -> float:
        """CPU seconds (user + system) the server has used so far."""
        times = self.ps.cpu_times()
        return float(times.user + times.system)

    def rss(self) -> int:
        """Resident memory in bytes."""
        return int(self.ps.memory_info().rss)

    def lag_between(self, start: float, end: float) -> list[float]:
        """Loop-lag samples (ms) reported between two wall times (plus the second after)."""
        return [ms for at, ms in self.lag if start <= at <= end + 1.0]

    def own_lag_between(self, start: float, end: float) -> list[float]:
        """The part of each loop-lag sample the server's own CPU time explains (ms)."""
        return [ms for at, ms in self.own if start <= at <= end + 1.0]

    def hold_between(self, start: float, end: float) -> list[float]:
        """The longest callback of each second reported between two wall times (CPU ms)."""
        return [ms for at, ms in self.hold if start <= at <= end + 1.0]

    def gc_between(self, start: float, end: float) -> list[float]:
        """Pauses (ms) of the long garbage collections between two wall times."""
        return [ms for at, ms in self.gc if start <= at <= end + 1.0]

    def stop(self) -> None:
        """Terminate it, then kill it if it lingers."""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self._reader.join(5)
        if self.process.stdout:
            self.process.stdout.close()


class ServerGroup:
    """`count` servers side by side on one port (SO_REUSEPORT when more than one), measured as
    one: CPU and RSS summed, loop lag and GC pauses of all of them."""

    def __init__(self, kind: str, redis_url: str, count: int, *, ws: str = "") -> None:
        port = free_port()
        self.servers = [
            ServerProcess(kind, redis_url, ws=ws, port=port, reuse_port=count > 1)
            for _ in range(count)
        ]

    @property
    def url(self) -> str:
        """The event's live websocket, on the shared port."""
        return self.servers[0].url

    @property
    def process(self) -> subprocess.Popen[str]:
        """The first server's process (what a profiler attaches to)."""
        return self.servers[0].process

    def start(self, timeout: float = 30) -> ServerGroup:
        """Start them one after the other, each waited for."""
        try:
            for server in self.servers:
                server.start(timeout)
        except BaseException:
            self.stop()
            raise
        return self

    def cpu(self) -> float:
        """CPU seconds of all the servers."""
        return sum(s.cpu() for s in self.servers)

    def cpus(self) -> list[float]:
        """CPU seconds of each server."""
        return [s.cpu() for s in self.servers]

    def rss(self) -> int:
        """Resident memory of all the servers, in bytes."""
        return sum(s.rss() for s in self.servers)

    def lag_between(self, start: float, end: float) -> list[float]:
        """Loop-lag samples of every server between two wall times."""
        return [ms for s in self.servers for ms in s.lag_between(start, end)]

    def gc_between(self, start: float, end: float) -> list[float]:
        """Long garbage collections of every server between two wall times."""
        return [ms for s in self.servers for ms in s.gc_between(start, end)]

    def stop(self) -> None:
        """Stop every server that started."""
        for server in self.servers:
            if hasattr(server, "process"):
                server.stop()
