"""Real processes for tests: start one, wait until its output says it is ready, stop it."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
from collections.abc import Sequence

from tests.helpers import ROOT, deadline


class RealProcess:
    """A subprocess of this Python (`-m ...`), every output line kept as it is written.

    With `ready`, `start()` returns once a line matches it (the match is kept in `ready_match`)
    and fails with the last lines if none does within the (scaled) `startup` seconds or the
    process exits first: never a fixed sleep.
    """

    def __init__(
        self,
        args: Sequence[str],
        env: dict[str, str],
        *,
        ready: str | None = None,
        startup: float = 20,
        inherit: bool = True,
    ) -> None:
        self.args = list(args)
        # inherit=False: `env` is the whole environment (a test that takes a variable away).
        self.env = {**os.environ, **env} if inherit else dict(env)
        self.ready = re.compile(ready) if ready else None
        self.startup = startup
        self.process: subprocess.Popen[str] | None = None
        self.lines: list[str] = []
        self.ready_match: re.Match[str] | None = None
        self._seen = threading.Condition()
        self._reader: threading.Thread | None = None

    def start(self) -> RealProcess:
        """Start it; with `ready`, wait until it says so."""
        self.process = subprocess.Popen(
            [sys.executable, *self.args],
            cwd=ROOT,
            env=self.env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()
        if self.ready is not None:
            self.ready_match = self.wait_for(self.ready, self.startup)
        return self

    def wait_for(self, pattern: str | re.Pattern[str], timeout: float = 20) -> re.Match[str]:
        """The first output line matching `pattern`, waiting for it up to a scaled deadline."""
        regex = re.compile(pattern) if isinstance(pattern, str) else pattern
        checked = 0

        def found() -> re.Match[str] | None:
            nonlocal checked
            for line in self.lines[checked:]:
                match = regex.search(line)
                if match:
                    return match
            checked = len(self.lines)
            return None

        with self._seen:
            exited = self._seen.wait_for(
                lambda: found() is not None or self._finished(), deadline(timeout)
            )
            match = found()
        if match is None:
            name = " ".join(self.args)
            self.stop()
            why = "exited" if exited else "said nothing matching"
            raise AssertionError(
                f"{name} {why} before {regex.pattern!r}:\n" + "".join(self.lines[-30:])
            )
        return match

    def _finished(self) -> bool:
        return self._reader is not None and not self._reader.is_alive()

    def _read(self) -> None:
        assert self.process and self.process.stdout
        for line in self.process.stdout:
            with self._seen:
                self.lines.append(line)
                self._seen.notify_all()
        with self._seen:
            self._seen.notify_all()  # end of output: nobody waits for a line that won't come

    def terminate(self) -> None:
        """SIGTERM: a graceful stop (not waited for)."""
        assert self.process is not None
        self.process.send_signal(signal.SIGTERM)

    def kill(self) -> None:
        """SIGKILL: no cleanup at all."""
        assert self.process is not None
        self.process.kill()
        self.process.wait()
        self.stop()

    def wait(self, timeout: float = 20) -> int:
        """Wait for it to exit by itself (a scaled deadline) and for the rest of its output."""
        assert self.process is not None
        code = self.process.wait(deadline(timeout))
        if self._reader is not None:
            self._reader.join(deadline(5))
        return code

    @property
    def output(self) -> str:
        """Everything it has written so far."""
        return "".join(self.lines)

    def stop(self, timeout: float = 10) -> int | None:
        """SIGTERM, then SIGKILL after a scaled `timeout`; the exit code."""
        if self.process is None:
            return None
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(deadline(timeout))
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        if self._reader is not None:
            self._reader.join(deadline(5))  # it ends at EOF, now that the process has exited
        if self.process.stdout:
            # Closed here, not left to the garbage collector: an unclosed pipe is a warning.
            self.process.stdout.close()
        return self.process.returncode

    def __enter__(self) -> RealProcess:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


UVICORN_READY = r"Uvicorn running on http://[\d.]+:(\d+)"


class WebServer(RealProcess):
    """`eventwall web` (real uvicorn) on port 0, ready once it logs the port it bound."""

    def __init__(self, env: dict[str, str], args: Sequence[str] = ("-m", "server.cli", "web")):
        super().__init__(
            args,
            {**env, "PORT": env.get("PORT", "0"), "HOST": "127.0.0.1", "DEMO": "false"},
            ready=UVICORN_READY,
            startup=30,
        )

    def start(self) -> WebServer:
        """Start the server and wait until it listens."""
        super().start()
        return self

    def __enter__(self) -> WebServer:
        return self.start()

    @property
    def port(self) -> int:
        """The port it listens on."""
        assert self.ready_match is not None, "not started"
        return int(self.ready_match.group(1))

    @property
    def base(self) -> str:
        """The server's http URL."""
        return f"http://127.0.0.1:{self.port}"

    @property
    def ws_base(self) -> str:
        """The server's websocket URL."""
        return f"ws://127.0.0.1:{self.port}"
