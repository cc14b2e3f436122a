"""docs/haproxy.cfg, run by the real HAProxy in front of two web processes, one killed then the
other stopped: every screen resumes through the proxy with exactly the changes it missed."""

from __future__ import annotations

import asyncio
import contextlib
import re
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from redis.asyncio import Redis

from tests.faults.kit import (
    Poster,
    ResumingClient,
    Web,
    caught_up,
    last_public_id,
    public_changes,
)
from tests.helpers import ROOT, deadline, eventually
from wall.models import Event
from wall.redis_server import free_port
from wall.store import Store

# /usr/sbin is not on every user's PATH.
HAPROXY = shutil.which("haproxy") or shutil.which("haproxy", path="/usr/sbin")
CONFIG = ROOT / "docs" / "haproxy.cfg"
CLIENTS = 50
POSTS = 90
RATE = 15.0

pytestmark = pytest.mark.skipif(
    HAPROXY is None, reason="the HAProxy test needs the haproxy binary: apt-get install haproxy"
)


def loopback_config(text: str, port: int, servers: dict[str, int], admin: Path) -> str:
    """The documented configuration with loopback addresses: its own port, these servers."""
    text = re.sub(r"(?m)^(\s*)bind \S+.*$", rf"\g<1>bind 127.0.0.1:{port}", text)
    text = re.sub(r"(?m)^\s*server .*\n", "", text)
    lines = "".join(f"    server {name} 127.0.0.1:{p} check\n" for name, p in servers.items())
    text = text.rstrip("\n") + "\n" + lines
    text = re.sub(r"stats socket \S+", f"stats socket {admin}", text)
    text = re.sub(r"(?m)^\s*log /dev/log.*\n", "", text)  # no syslog here; nothing logged
    # Big enough for the test, small enough to need no raised file limit.
    text = re.sub(r"(?m)^(\s*)maxconn \d+", r"\g<1>maxconn 2000", text)
    # Nothing but loopback: checked here, before HAProxy could send a health check anywhere.
    addresses = re.findall(r"(?m)^\s*(?:bind|server \S+)\s+([^\s:]+):\d+", text)
    assert addresses and set(addresses) == {"127.0.0.1"}, addresses
    return text


class Haproxy:
    """The real HAProxy in the foreground (`-db`), its output kept."""

    def __init__(self, config: Path, admin: Path) -> None:
        assert HAPROXY is not None
        self.admin = admin
        self.process = subprocess.Popen(
            [HAPROXY, "-db", "-f", str(config)],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )

    def states(self) -> dict[str, str]:
        """Each server's state as HAProxy's health checks see it (`UP`, `DOWN`, ...)."""
        with socket.socket(socket.AF_UNIX) as api:
            api.settimeout(deadline(5))
            api.connect(str(self.admin))
            api.sendall(b"show stat\n")
            answer = b""
            while chunk := api.recv(65536):
                answer += chunk
        rows = [line.split(",") for line in answer.decode().splitlines() if line]
        header = rows[0]
        name, status = header.index("svname"), header.index("status")
        return {
            row[name]: row[status].split()[0]
            for row in rows[1:]
            if len(row) > status and row[name] not in ("FRONTEND", "BACKEND")
        }

    def stop(self) -> str:
        """Stop it; everything it wrote."""
        self.process.terminate()
        try:
            out, _ = self.process.communicate(timeout=deadline(10))
        except subprocess.TimeoutExpired:
            self.process.kill()
            out, _ = self.process.communicate()
        return out or ""


@pytest.fixture
def admin_socket() -> Iterator[Path]:
    """A short path for HAProxy's runtime API (a Unix socket path has a length limit)."""
    folder = Path(tempfile.mkdtemp(prefix="ew-haproxy-"))
    yield folder / "admin.sock"
    shutil.rmtree(folder, ignore_errors=True)


async def test_haproxy_front_survives_a_killed_and_a_stopped_web_process(
    env: dict[str, str],
    redis: Redis,
    store: Store,
    event: Event,
    tmp_path: Path,
    admin_socket: Path,
) -> None:
    """50 screens through HAProxy: web1 killed -9, web2 SIGTERMed (1012); all end at the log."""
    env = {**env, "FORWARDED_ALLOW_IPS": "127.0.0.1", "SHUTDOWN_TIMEOUT": "3"}
    ports = {"web1": free_port(), "web2": free_port()}
    webs = dict(
        zip(
            ports,
            await asyncio.gather(*(asyncio.to_thread(Web(env, p).start) for p in ports.values())),
            strict=True,
        )
    )
    front = free_port()
    config = tmp_path / "haproxy.cfg"
    config.write_text(loopback_config(CONFIG.read_text(), front, ports, admin_socket))
    proxy = Haproxy(config, admin_socket)
    since = await last_public_id(redis, event.slug)
    clients: list[ResumingClient] = []
    try:
        await eventually(
            lambda: admin_socket.exists() and set(proxy.states().values()) == {"UP"},
            timeout=20,
            message="HAProxy up, both servers UP by their health checks",
        )
        url = f"ws://127.0.0.1:{front}/e/{event.slug}/ws"
        clients = [ResumingClient(url, since).start() for _ in range(CLIENTS)]
        await eventually(lambda: all(c.connects for c in clients), timeout=30, message="clients")
        pids = {name: str(web.process.pid) for name, web in webs.items() if web.process}
        on = {name: [c for c in clients if c.served_by[0] == pid] for name, pid in pids.items()}
        assert on["web1"] and on["web2"], "leastconn spreads the screens over both"

        poster = Poster(store, event.slug)
        posting = asyncio.create_task(poster.run(POSTS, RATE))

        # kill -9: web1's screens lose their connection without a close frame.
        await eventually(lambda: poster.count >= POSTS // 4, timeout=20, message="posts")
        await asyncio.to_thread(webs["web1"].kill)
        await eventually(
            lambda: proxy.states()["web1"] == "DOWN", timeout=10, message="web1 marked DOWN"
        )
        await eventually(
            lambda: all(c.connects >= 2 for c in on["web1"]),
            timeout=20,
            message="web1's screens back through the proxy",
        )
        webs["web1"] = await asyncio.to_thread(Web(env, ports["web1"]).start)
        await eventually(
            lambda: proxy.states()["web1"] == "UP", timeout=10, message="web1 UP again"
        )

        # SIGTERM: web2 closes its screens with 1012 and stops; they resume on web1.
        await eventually(lambda: poster.count >= POSTS // 2, timeout=20, message="posts")
        webs["web2"].terminate()
        await eventually(
            lambda: all(1012 in c.closes for c in on["web2"]),
            timeout=20,
            message="1012 to web2's screens, through the proxy",
        )
        assert webs["web1"].process is not None
        web1 = str(webs["web1"].process.pid)
        await eventually(
            lambda: all(c.served_by[-1] == web1 for c in clients),
            timeout=20,
            message="every screen on the restarted web1",
        )
        await posting

        expected = await public_changes(redis, event.slug, since)
        assert len(expected) > POSTS // 2
        await caught_up(clients, expected, [*webs["web1"].lines, *webs["web2"].lines])
        assert not any(c.duplicates for c in clients)
        assert not any(c.resets for c in clients), "resumed, not re-rendered"
    finally:
        for client in clients:
            await client.stop()
        log = proxy.stop()
        for web in webs.values():
            with contextlib.suppress(Exception):
                await asyncio.to_thread(web.stop)
    assert "ALERT" not in log, log
