"""The embedded Valkey of `eventwall run`: restarted when it dies, one owner per DATA_DIR."""

from __future__ import annotations

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

from tests.faults.kit import ResumingClient, last_public_id
from tests.helpers import ROOT, deadline, eventually
from wall.redis_server import free_port


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
        threading.Thread(target=self._read, daemon=True).start()
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
