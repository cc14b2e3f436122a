"""The embedded Valkey of `eventwall run`: restarted when it dies, one owner per DATA_DIR."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from redis.asyncio import Redis

from tests.faults.kit import ResumingClient, Valkey, last_public_id
from tests.helpers import ROOT, deadline, eventually
from wall.redis_server import RUN_KEY, free_port


class Run:
    """`eventwall run` with the embedded Redis in a subprocess, its output kept."""

    def __init__(self, data_dir: Path, **env: str) -> None:
        self.port = free_port()
        self.data_dir = data_dir
        self.env = {
            **os.environ,
            "DATA_DIR": str(data_dir),
            "PORT": str(self.port),
            "DEMO_RATE": "10",
            **env,
        }
        self.env.pop("REDIS_URL", None)
        self.lines: list[str] = []
        self.process: subprocess.Popen[str] | None = None
        self._reader = threading.Thread()

    def start(self) -> Run:
        """Start it; returns at once."""
        self.process = subprocess.Popen(
            [sys.executable, "-m", "server.cli", "run"],
            cwd=ROOT,
            env=self.env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()
        return self

    def _read(self) -> None:
        assert self.process and self.process.stdout
        for line in self.process.stdout:
            self.lines.append(line)

    @property
    def info(self) -> dict[str, object]:
        """server.json as it is now ({} while there is none)."""
        try:
            return dict(json.loads((self.data_dir / "redis" / "server.json").read_text()))
        except (OSError, ValueError):
            return {}

    def stop(self) -> int:
        """SIGTERM, then SIGKILL; the exit code."""
        assert self.process is not None
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(deadline(30))
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self._reader.join(deadline(5))
        if self.process.stdout:
            self.process.stdout.close()
        return self.process.returncode


@pytest.fixture
def run(tmp_path: Path) -> Iterator[Run]:
    """An `eventwall run` on a data folder of this test's own."""
    started = Run(tmp_path / "data").start()
    yield started
    started.stop()


async def test_killed_valkey_is_restarted_and_screens_resume(run: Run) -> None:
    """kill -9 of the embedded Valkey: restarted within 2 s, logged by name; walls carry on."""
    await eventually(lambda: "Eventwall is running" in "".join(run.lines), timeout=60)
    url = str(run.info["url"])
    redis = Redis.from_url(url, decode_responses=True)
    await eventually(lambda: _has_posts(redis), timeout=30, message="demo posts")
    client = ResumingClient(
        f"ws://127.0.0.1:{run.port}/e/demo/ws", await last_public_id(redis, "demo")
    ).start()
    try:
        await eventually(lambda: bool(client.applied), timeout=20, message="a live post")
        pid = int(str(run.info["pid"]))
        os.kill(pid, signal.SIGKILL)
        killed = time.monotonic()
        await eventually(lambda: _answers(redis, pid, run), timeout=10, message="restarted")
        took = time.monotonic() - killed
        assert took < deadline(2.0), f"restarted {took:.1f}s after the kill"
        restarted = [x for x in run.lines if "restarted the embedded Redis (Valkey)" in x]
        assert restarted, "".join(run.lines[-20:])
        assert "exited" in "".join(run.lines) and str(pid) in "".join(run.lines)
        # The wall goes on receiving the demo's posts, on the same connection or a new one.
        seen = len(client.applied)
        await eventually(lambda: len(client.applied) > seen + 3, timeout=20, message="resumed")
        assert not client.duplicates
    finally:
        await client.stop()
        await redis.aclose()
    assert run.stop() == 0
    assert "Traceback" not in "".join(run.lines), "".join(run.lines[-40:])


async def _has_posts(redis: Redis) -> bool:
    return bool(await redis.hlen("ew:{demo}:posts"))


async def _answers(redis: Redis, old_pid: int, run: Run) -> bool:
    if run.info.get("pid") in (None, old_pid):
        return False
    try:
        return bool(await redis.ping())
    except Exception:
        return False


def eventwall_in(data_dir: Path, *args: str, timeout: float = 60, **env: str) -> tuple[int, str]:
    """Run `eventwall ARGS` on a data folder (no REDIS_URL unless given); exit code, output."""
    full = {**os.environ, "DATA_DIR": str(data_dir), "DEMO": "false", **env}
    if "REDIS_URL" not in env:
        full.pop("REDIS_URL", None)
    done = subprocess.run(
        [sys.executable, "-m", "server.cli", *args],
        cwd=ROOT,
        env=full,
        capture_output=True,
        text=True,
        timeout=deadline(timeout),
    )
    return done.returncode, done.stdout + done.stderr


def valkeys_on(folder: Path) -> list[int]:
    """Pids of valkey-server processes working in `folder` (Valkey chdirs to its --dir)."""
    found = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            name = (proc / "comm").read_text()
            cwd = os.readlink(proc / "cwd")
        except OSError:
            continue
        if "valkey" in name and cwd.startswith(str(folder.resolve())):
            found.append(int(proc.name))
    return found


def one_line_error(output: str) -> str:
    """The output, checked to be a single `error:` line and no traceback."""
    assert "Traceback" not in output, output
    errors = [x for x in output.splitlines() if x.startswith("error:")]
    assert len(errors) == 1, output
    return errors[0]


async def test_second_run_on_the_same_data_dir_is_refused(run: Run) -> None:
    """A second `eventwall run` on a DATA_DIR in use says so in one line and exits non-zero."""
    await eventually(lambda: "Eventwall is running" in "".join(run.lines), timeout=60)
    code, output = await asyncio.to_thread(
        eventwall_in, run.data_dir, "run", PORT=str(free_port()), timeout=30
    )
    assert code != 0
    assert "already runs the embedded Redis" in one_line_error(output)
    assert len(valkeys_on(run.data_dir)) == 1
    # Commands beside a run still use its server.
    code, output = await asyncio.to_thread(
        eventwall_in, run.data_dir, "event", "create", "side", "--title", "Side"
    )
    assert code == 0, output
    redis = Redis.from_url(str(run.info["url"]), decode_responses=True)
    try:
        assert await redis.exists("ew:events") or await redis.keys("*side*")
    finally:
        await redis.aclose()


async def test_stale_server_json_is_not_trusted(valkey: Valkey, tmp_path: Path) -> None:
    """server.json naming some other Redis that answers PING: refused, ours is started instead."""
    data = tmp_path / "data"
    (data / "redis").mkdir(parents=True)
    (data / "redis" / "server.json").write_text(json.dumps({"url": valkey.url, "pid": 1}))
    code, output = await asyncio.to_thread(
        eventwall_in, data, "event", "create", "mine", "--title", "Mine"
    )
    assert code == 0, output
    foreign = Redis.from_url(valkey.url, decode_responses=True)
    try:
        assert set(await foreign.keys("*")) <= {RUN_KEY}, "the event went into a foreign Redis"
    finally:
        await foreign.aclose()
    assert valkeys_on(data) == [], "the command left its Valkey running"


async def test_unwritable_server_json_leaves_no_valkey_behind(tmp_path: Path) -> None:
    """server.json can't be written: one line, a non-zero exit, and no Valkey left running."""
    data = tmp_path / "data"
    (data / "redis" / "server.json").mkdir(parents=True)  # a folder: can't be replaced by a file
    code, output = await asyncio.to_thread(
        eventwall_in, data, "event", "create", "x", "--title", "X"
    )
    assert code != 0
    assert "server.json" in one_line_error(output)
    assert valkeys_on(data) == [], "an orphan Valkey kept running on the data folder"


def _can_mount() -> bool:
    """Whether this machine lets a test mount in a private mount namespace (`unshare -m`)."""
    try:
        probe = subprocess.run(
            ["unshare", "-m", "sh", "-c", "mount -t tmpfs -o size=1m none /mnt"],
            capture_output=True,
            timeout=deadline(10),
        )
    except (OSError, subprocess.TimeoutExpired):
        return False
    return probe.returncode == 0


needs_mount = pytest.mark.skipif(not _can_mount(), reason="needs unshare -m (mount namespaces)")


def in_namespace(setup: str, data_dir: Path, *args: str, **env: str) -> tuple[int, str]:
    """`eventwall ARGS` after a shell `setup` of mounts, in a mount namespace of its own."""
    full = {**os.environ, "DATA_DIR": str(data_dir), "DEMO": "false", **env}
    if "REDIS_URL" not in env:
        full.pop("REDIS_URL", None)
    command = f'{setup} && exec "{sys.executable}" -m server.cli ' + " ".join(args)
    done = subprocess.run(
        ["unshare", "-m", "sh", "-c", command],
        cwd=ROOT,
        env=full,
        capture_output=True,
        text=True,
        timeout=deadline(60),
    )
    return done.returncode, done.stdout + done.stderr


@needs_mount
@pytest.mark.parametrize(
    "command", [("run",), ("ingest", "worker"), ("event", "create", "x", "--title", "X")]
)
async def test_read_only_data_dir_is_one_clear_line(
    tmp_path: Path, command: tuple[str, ...]
) -> None:
    """A read-only DATA_DIR: one line saying so, non-zero exit, no traceback, no Valkey."""
    data = tmp_path / "data"
    data.mkdir()
    setup = f"mount --bind {data} {data} && mount -o remount,ro,bind {data}"
    code, output = await asyncio.to_thread(in_namespace, setup, data, *command)
    assert code != 0
    assert "Read-only file system" in one_line_error(output)
    assert valkeys_on(data) == []


@needs_mount
async def test_full_disk_at_start_is_one_clear_line(tmp_path: Path) -> None:
    """A full disk at start: one line, no Valkey left behind, valkey.log named only if not empty."""
    data = tmp_path / "data"
    data.mkdir()
    setup = (
        f"mount -t tmpfs -o size=256k none {data} && mkdir -p {data}/media {data}/redis"
        f" && (dd if=/dev/zero of={data}/filler bs=4k 2>/dev/null; true)"
    )
    code, output = await asyncio.to_thread(
        in_namespace, setup, data, "event", "create", "x", "--title", "X"
    )
    assert code != 0
    line = one_line_error(output)
    assert "No space left" in line or "valkey" in line, line
    assert valkeys_on(data) == []
