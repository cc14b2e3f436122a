"""`eventwall run --workers N`: N web processes on one port, one embedded Redis, one worker."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import re
import signal
import socket
from collections import Counter
from pathlib import Path

import httpx
import pytest
from redis.asyncio import Redis

from server.cli import build_parser
from server.procs import MAX_AUTO_WORKERS, worker_count
from tests.faults.kit import (
    MODERATOR_PASSWORD,
    ResumingClient,
    last_public_id,
    moderator_session,
    public_log,
)
from tests.helpers import eventually, post_dict
from tests.processes import RealProcess
from wall.accounts import Accounts
from wall.models import Event, Post
from wall.moderation import State
from wall.redis_server import free_port
from wall.store import Store

BATCH = 12  # clients opened at a time, until both processes serve some
MAX_CLIENTS = 96


def test_worker_count_defaults_to_the_cores_capped() -> None:
    """WEB_WORKERS=0 means one web process per core, at most 8; a number given is kept."""
    assert worker_count(0) == min(os.cpu_count() or 1, MAX_AUTO_WORKERS)
    assert worker_count(3) == 3


async def served_clients(url: str, since: str) -> list[ResumingClient]:
    """Connected clients, opened in batches until both processes serve at least one."""
    clients: list[ResumingClient] = []

    def connected() -> bool:
        return all(c.connects for c in clients)

    while len(clients) < MAX_CLIENTS:
        clients += [ResumingClient(url, since).start() for _ in range(BATCH)]
        await eventually(connected, timeout=30, message="clients")
        if len({c.served_by[0] for c in clients}) >= 2:
            break
    return clients


async def clients_by_process(base: str) -> dict[str, int]:
    """`eventwall_clients` as each web process answers /metrics, asked until both have."""
    seen: dict[str, int] = {}
    async with httpx.AsyncClient(base_url=base, timeout=10) as http:

        async def both() -> bool:
            # A new connection each time: the kernel picks the process per connection.
            answer = await http.get("/metrics", headers={"connection": "close"})
            found = re.search(r"^eventwall_clients (\S+)$", answer.text, re.M)
            assert found, answer.text
            seen[answer.headers["x-eventwall-process"]] = int(float(found.group(1)))
            return len(seen) >= 2

        await eventually(both, timeout=20, message="/metrics from both processes")
    return seen


async def metrics_sum_to(base: str, clients: int) -> None:
    """Wait until every web process's /metrics counts all the clients of all of them."""

    async def summed() -> bool:
        return set((await clients_by_process(base)).values()) == {clients}

    await eventually(summed, timeout=20, message=f"/metrics summing to {clients} clients")


async def test_run_workers_serves_from_every_process(tmp_path: Path) -> None:
    """2 web processes on one port: clients spread, approvals reach all, kill -9 heals, 1012."""
    port = free_port()
    env = {**os.environ, "DATA_DIR": str(tmp_path / "data"), "DEMO": "false"}
    env.pop("REDIS_URL", None)  # the embedded Redis, as `make run` has it
    env.pop("WEB_WORKERS", None)
    run = RealProcess(
        ["-m", "server.cli", "run", "--workers", "2", "--port", str(port)],
        env,
        ready=r"Eventwall is running \(Redis: (\S+), 2 web processes\)",
        startup=60,
        inherit=False,
    ).start()
    assert run.ready_match is not None
    redis = Redis.from_url(run.ready_match.group(1), decode_responses=True)
    clients: list[ResumingClient] = []
    http: httpx.AsyncClient | None = None
    try:
        store = Store(redis)
        await store.save_event(Event(slug="testevent", title="Test", moderation="pre"))
        await Accounts(redis).add("mod@example.org", MODERATOR_PASSWORD, event="testevent")
        since = await last_public_id(redis, "testevent")
        clients = await served_clients(f"ws://127.0.0.1:{port}/e/testevent/ws", since)
        served = Counter(c.served_by[0] for c in clients)
        assert len(served) == 2, served
        # Whichever process answers /metrics, it counts the clients of both.
        await metrics_sum_to(f"http://127.0.0.1:{port}", len(clients))

        # Held for moderation, then approved by a moderator whose requests land on either
        # process (one session key, sessions in Redis).
        await store.ingest("testevent", Post.from_dict(post_dict("held")), State.PENDING)
        http, csrf = await moderator_session(f"http://127.0.0.1:{port}", "mod@example.org")
        decided = await http.post(
            "/e/testevent/moderate/decide",
            data={"post_id": "test:held", "action": "approve", "expected": "pending"},
            headers={"X-CSRF-Token": csrf, "HX-Request": "true"},
        )
        assert decided.status_code in (200, 303), decided.text
        expected = await public_log(redis, "testevent", since)
        assert len(expected) == 1
        await eventually(
            lambda: all(c.applied == expected for c in clients),
            timeout=20,
            message="the approval at the clients of both processes",
        )

        # A web process killed: restarted by `eventwall run`, its screens resume meanwhile.
        victim = served.most_common(1)[0][0]
        os.kill(int(victim), signal.SIGKILL)
        await eventually(
            lambda: run.output.count("port shared: SO_REUSEPORT") == 3,
            timeout=30,
            message="the killed web process started again",
        )
        assert f"(pid {victim}) exited with -9; starting it again" in run.output
        await store.ingest("testevent", Post.from_dict(post_dict("after")), State.APPROVED)
        expected = await public_log(redis, "testevent", since)
        assert len(expected) == 2
        await eventually(
            lambda: all(c.applied == expected for c in clients),
            timeout=20,
            message="every screen resumed after the kill",
        )
        assert all(c.served_by[-1] != victim for c in clients)
        # The dead process's clients are no longer counted; its successor's are.
        await metrics_sum_to(f"http://127.0.0.1:{port}", len(clients))

        run.terminate()
        await eventually(
            lambda: all(1012 in c.closes for c in clients),
            timeout=20,
            message="1012 from both processes",
        )
        assert await asyncio.to_thread(run.wait, 30) == 0, run.output
    finally:
        if http is not None:
            await http.aclose()
        for client in clients:
            await client.stop()
        await redis.aclose()
        run.stop()
    assert "Traceback" not in run.output, run.output
    assert "worker stopped" in run.output
    assert not (tmp_path / "data" / "redis" / "server.json").exists(), "redis left running"


@pytest.mark.parametrize("given", ["-1", "65", "two"])
def test_bad_workers_is_refused_in_one_line(given: str, capsys: pytest.CaptureFixture[str]) -> None:
    """`--workers` out of range or not a number: a usage line naming it and exit 2."""
    with pytest.raises(SystemExit) as stopped:
        build_parser().parse_args(["run", "--workers", given])
    assert stopped.value.code == 2
    assert "--workers" in capsys.readouterr().err


def _running(pid: int) -> bool:
    """Whether a process runs (a zombie waiting to be reaped does not)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state != "Z"


async def test_web_processes_stop_when_their_supervisor_is_killed(tmp_path: Path) -> None:
    """kill -9 of `eventwall run --workers 2`: its web processes stop too, freeing the port."""
    env = {**os.environ, "DATA_DIR": str(tmp_path / "data"), "DEMO": "false"}
    env.pop("WEB_WORKERS", None)
    port = free_port()
    run = RealProcess(
        ["-m", "server.cli", "run", "--workers", "2", "--port", str(port)],
        env,
        ready=r"Eventwall is running",
        startup=60,
        inherit=False,
    ).start()
    children = [int(m) for m in re.findall(r"Started server process \[(\d+)\]", run.output)]
    redis = json.loads((tmp_path / "data" / "redis" / "server.json").read_text())
    try:
        assert len(children) == 2 and all(_running(pid) for pid in children), run.output
        assert run.process is not None
        run.process.kill()
        run.process.wait()
        await eventually(
            lambda: not any(_running(pid) for pid in children),
            timeout=20,
            message="the web processes to stop with their supervisor",
        )
    finally:
        # The embedded Valkey outlives a SIGKILL (the next `eventwall run` stops it); it
        # also holds our end of the output pipe, so it goes before the pipe is closed.
        for pid in [*children, int(redis["pid"])]:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        run.stop()
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", port))  # nobody holds the port any more
