"""Shared test helpers: deadlines scaled for slow machines, polling, real servers."""

from __future__ import annotations

import asyncio
import json
import os
import re
import subprocess
import sys
import threading
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent

# Every deadline in the suite is multiplied by this; raise it on a slow machine.
TIMEOUT_FACTOR = float(os.environ.get("EVENTWALL_TEST_TIMEOUT_FACTOR", "1"))


def deadline(seconds: float) -> float:
    """A timeout scaled by EVENTWALL_TEST_TIMEOUT_FACTOR."""
    return seconds * TIMEOUT_FACTOR


async def eventually(
    condition: Callable[[], Awaitable[bool]] | Callable[[], bool],
    *,
    timeout: float = 5.0,
    message: str = "condition",
) -> None:
    """Poll until the condition holds, failing after a (scaled) deadline; never a fixed sleep."""
    end = time.monotonic() + deadline(timeout)
    while True:
        result = condition()
        if asyncio.iscoroutine(result):
            result = await result
        if result:
            return
        if time.monotonic() > end:
            raise AssertionError(f"timed out waiting for {message}")
        await asyncio.sleep(0.02)


def post_dict(native_id: str, text: str = "", **extra: Any) -> dict[str, Any]:
    """A post in the replay schema."""
    data: dict[str, Any] = {
        "source": "test",
        "native_id": native_id,
        "author": {"handle": "@ada@example.org", "display_name": "Ada"},
        "text": text or f"post {native_id} #testevent",
        "created_at": datetime.now(UTC).isoformat(),
        "hashtags": ["testevent"],
    }
    data.update(extra)
    return data


def write_jsonl(path: Path, items: list[Any]) -> Path:
    """Write items one a line; strings are written as they are (for malformed lines)."""
    with path.open("w") as out:
        for item in items:
            out.write(item if isinstance(item, str) else json.dumps(item))
            out.write("\n")
    return path


def eventwall(
    *args: str, env: dict[str, str], timeout: float = 60, stdin: str | None = None
) -> subprocess.CompletedProcess[str]:
    """Run the real `eventwall` command line in a subprocess (`stdin`: text to feed it)."""
    return subprocess.run(
        [sys.executable, "-m", "server.cli", *args],
        cwd=ROOT,
        env={**os.environ, **env},
        input=stdin,
        capture_output=True,
        text=True,
        timeout=deadline(timeout),
    )


class WebServer:
    """`eventwall web` (real uvicorn) in a subprocess on port 0; the bound port read from its log."""

    def __init__(self, env: dict[str, str]) -> None:
        self.env = {**os.environ, **env, "PORT": "0", "HOST": "127.0.0.1", "DEMO": "false"}
        self.process: subprocess.Popen[str] | None = None
        self.port = 0
        self.lines: list[str] = []
        self._ready = threading.Event()
        self._reader: threading.Thread | None = None

    def start(self) -> WebServer:
        """Start the server and wait until it listens."""
        self.process = subprocess.Popen(
            [sys.executable, "-m", "server.cli", "web"],
            cwd=ROOT,
            env=self.env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()
        if not self._ready.wait(deadline(20)):
            self.stop()
            raise AssertionError("web server did not start:\n" + "".join(self.lines[-30:]))
        return self

    def _read(self) -> None:
        assert self.process and self.process.stdout
        for line in self.process.stdout:
            self.lines.append(line)
            match = re.search(r"Uvicorn running on http://[\d.]+:(\d+)", line)
            if match:
                self.port = int(match.group(1))
                self._ready.set()

    @property
    def base(self) -> str:
        """The server's http URL."""
        return f"http://127.0.0.1:{self.port}"

    @property
    def ws_base(self) -> str:
        """The server's websocket URL."""
        return f"ws://127.0.0.1:{self.port}"

    def stop(self) -> None:
        """Stop the server (SIGTERM, then SIGKILL)."""
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(deadline(10))
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        if self._reader is not None:
            self._reader.join(deadline(5))  # it ends at EOF, now that the process has exited
        if self.process and self.process.stdout:
            # Closed here, not left to the garbage collector: an unclosed pipe is a warning.
            self.process.stdout.close()

    def __enter__(self) -> WebServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
