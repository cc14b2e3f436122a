"""Several web processes on one port: what `eventwall run --workers N` supervises.

Each web process is `eventwall web --reuse-port`: its own listening socket with SO_REUSEPORT,
so the kernel spreads new connections evenly over the processes (a shared accept queue would
let whichever loop wakes first take a whole burst). Each process keeps its own Redis
subscription and its own clients; /metrics sums them all (see server/metrics.py). The
supervisor holds the port for the run's life with a bound, never listening, socket of the same
group (`shared_socket(listen=False)`): it receives no connections, but keeps another program
off the port while a web process restarts.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import errno
import logging
import os
import re
import signal
import socket
import sys

from wall.settings import Settings

log = logging.getLogger("eventwall")

# `WEB_WORKERS=0` (the default): one web process per core, at most this many. Past 8 one
# machine's Redis (single-threaded) and its one worker are the limit, not the web processes.
MAX_AUTO_WORKERS = 8
READY = re.compile(r"Uvicorn running on ")
# A web process that dies is started again after this long (a crash loop stays slow).
RESTART_DELAY = 1.0


def worker_count(configured: int) -> int:
    """Web processes to run: the configured count, or one per core (at most 8) for 0."""
    return configured if configured > 0 else min(os.cpu_count() or 1, MAX_AUTO_WORKERS)


PR_SET_PDEATHSIG = 1  # linux/prctl.h


def exit_with_parent(parent: int) -> None:
    """Have Linux send this process SIGTERM when `parent` (its supervisor) dies, even by
    SIGKILL: a web process must not outlive `eventwall run` holding its port."""
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
    if os.getppid() != parent:  # it died before the request took effect
        os.kill(os.getpid(), signal.SIGTERM)


def _address(host: str, port: int) -> tuple[socket.AddressFamily, tuple[str, int]]:
    family, _, _, _, address = socket.getaddrinfo(
        host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
    )[0]
    return family, (str(address[0]), int(address[1]))


def shared_socket(
    host: str, port: int, *, listen: bool = True, backlog: int = 2048
) -> socket.socket:
    """A socket on host:port that other Eventwall web processes may bind too (SO_REUSEPORT).

    Raises OSError (EADDRINUSE) when a program that did not ask for sharing holds the port.
    """
    family, address = _address(host, port)
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        sock.bind(address)
        if listen:
            sock.listen(backlog)
            sock.setblocking(False)
    except BaseException:
        sock.close()
        raise
    return sock


class WebProcess:
    """One `eventwall web --reuse-port` child, its output passed on line by line."""

    def __init__(self, index: int, args: list[str], env: dict[str, str]) -> None:
        self.index = index
        self.args = args
        self.env = env
        self.process: asyncio.subprocess.Process | None = None
        self.ready = asyncio.Event()
        self.tail: list[str] = []  # its last lines, to say why it could not start
        self._relay: asyncio.Task[None] | None = None

    @property
    def pid(self) -> int | None:
        """The running child's process id."""
        return self.process.pid if self.process is not None else None

    async def start(self) -> None:
        """Start the child; `ready` is set once it listens."""
        self.ready.clear()
        self.tail.clear()
        self.process = await asyncio.create_subprocess_exec(
            *self.args,
            env=self.env,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
        )
        self._relay = asyncio.create_task(self._pass_output(self.process))

    async def _pass_output(self, process: asyncio.subprocess.Process) -> None:
        assert process.stdout is not None
        out = sys.stderr.buffer
        async for line in process.stdout:
            out.write(line)
            out.flush()
            text = line.decode(errors="replace")
            self.tail = [*self.tail[-19:], text]
            if not self.ready.is_set() and READY.search(text):
                self.ready.set()

    async def wait(self) -> int:
        """Wait for the child to exit, and for the last of its output; its exit code."""
        assert self.process is not None
        code = await self.process.wait()
        if self._relay is not None:
            await self._relay
        return code

    def signal(self, sig: int) -> None:
        """Send a signal, unless the child has exited already."""
        if self.process is not None and self.process.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                self.process.send_signal(sig)


class StartError(RuntimeError):
    """A web process exited before it listened."""


class WebProcesses:
    """N web processes on one port, each restarted if it dies, stopped together on SIGTERM."""

    def __init__(self, settings: Settings, host: str, port: int, count: int) -> None:
        self.settings = settings
        self.stopping = False
        args = [sys.executable, "-m", "server.cli", "web"]
        args += ["--host", host, "--port", str(port), "--reuse-port"]
        args += ["--supervisor", str(os.getpid())]
        # Where the children sum their /metrics: emptied first, or this run would count the
        # last run's messages as its own.
        self.metrics_dir = settings.prometheus_multiproc_dir or str(
            (settings.data_dir / "metrics").resolve()
        )
        os.makedirs(self.metrics_dir, exist_ok=True)
        for name in os.listdir(self.metrics_dir):
            if name.endswith(".db"):
                os.unlink(os.path.join(self.metrics_dir, name))
        # The children use the run's Redis (the embedded one's URL, or REDIS_URL).
        env = {
            **os.environ,
            "REDIS_URL": settings.redis_url,
            "PROMETHEUS_MULTIPROC_DIR": self.metrics_dir,
            "PYTHONUNBUFFERED": "1",
        }
        self.children = [WebProcess(i, args, env) for i in range(count)]
        self._watchers: list[asyncio.Task[None]] = []

    async def start(self) -> None:
        """Start every process and wait until each listens (StartError if one cannot)."""
        await asyncio.gather(*(child.start() for child in self.children))
        for child in self.children:
            exited = asyncio.create_task(child.wait())
            listening = asyncio.create_task(child.ready.wait())
            await asyncio.wait({exited, listening}, return_when=asyncio.FIRST_COMPLETED)
            listening.cancel()
            if not child.ready.is_set():
                await self.stop()
                raise StartError(_why_not_started(child))
            exited.cancel()
        self._watchers = [asyncio.create_task(self._keep_running(c)) for c in self.children]

    async def _keep_running(self, child: WebProcess) -> None:
        """Start a child again when it dies on its own (killed, crashed), not when stopped."""
        while True:
            code = await child.wait()
            self._forget(child)
            if self.stopping:
                return
            log.warning(
                "web process %s (pid %s) exited with %s; starting it again",
                child.index,
                child.pid,
                code,
            )
            await asyncio.sleep(RESTART_DELAY)
            if self.stopping:
                return
            await child.start()

    def _forget(self, child: WebProcess) -> None:
        """Drop a dead child's live gauges (its clients) from the summed /metrics."""
        from prometheus_client import multiprocess

        if child.pid is not None:
            multiprocess.mark_process_dead(child.pid, self.metrics_dir)  # type: ignore[no-untyped-call]

    async def stop(self) -> None:
        """SIGTERM to every process (each closes its websockets with 1012), then wait.

        A process still there SHUTDOWN_TIMEOUT (plus a margin) later is killed.
        """
        self.stopping = True
        for watcher in self._watchers:
            watcher.cancel()
        for child in self.children:
            child.signal(signal.SIGTERM)
        bound = self.settings.shutdown_timeout + 5
        for child in self.children:
            if child.process is None:
                continue
            try:
                await asyncio.wait_for(child.wait(), bound)
            except TimeoutError:
                log.warning("web process %s did not stop in time: killed", child.pid)
                child.signal(signal.SIGKILL)
                await child.wait()
            self._forget(child)


def _why_not_started(child: WebProcess) -> str:
    lines = [x.strip() for x in child.tail if x.strip()]
    errors = [x for x in lines if x.startswith("error:")]
    if errors:
        return errors[-1].removeprefix("error:").strip()
    return "a web process exited before it listened: " + (lines[-1] if lines else "no output")


def bind_error(host: str, port: int, exc: OSError) -> str:
    """One line saying why a shared socket could not be bound."""
    if exc.errno == errno.EADDRINUSE:
        return f"port {port} on {host} is already in use by a program that does not share it"
    return f"cannot listen on {host}:{port}: {exc.strerror or exc}"
