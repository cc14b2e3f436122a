"""Ingest outlives Redis: a worker started before it waits, a replay carries on through it."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from pathlib import Path

from redis.asyncio import Redis

from tests.faults.kit import Valkey, Worker
from tests.helpers import ROOT, deadline, eventually, post_dict, write_jsonl

POSTS = 200


async def test_demo_worker_waits_for_redis_at_start(valkey: Valkey, tmp_path: Path) -> None:
    """DEMO=true with Redis down at start: the worker says why, waits, then posts; no traceback."""
    await asyncio.to_thread(valkey.stop)
    env = {
        "REDIS_URL": valkey.url,
        "DATA_DIR": str(tmp_path / "data"),
        "DEMO": "true",
        "DEMO_RATE": "20",
    }
    worker = Worker(env).start()
    redis = Redis.from_url(valkey.url, decode_responses=True)
    try:
        await eventually(
            lambda: any("redis unreachable" in x for x in worker.lines),
            timeout=20,
            message="the worker saying why it waits",
        )
        assert worker.process is not None and worker.process.poll() is None, worker.lines
        await asyncio.to_thread(valkey.start)
        await eventually(lambda: _posts(redis, "demo", 5), timeout=30, message="demo posts")
        assert sum("redis unreachable" in x for x in worker.lines) == 1, worker.lines
    finally:
        code = worker.stop()
        await redis.aclose()
    assert code == 0, "".join(worker.lines[-30:])
    assert not any("Traceback" in x for x in worker.lines), "".join(worker.lines)


async def test_replay_carries_on_through_an_outage(valkey: Valkey, tmp_path: Path) -> None:
    """Redis restarted mid-replay: every post is taken, exit 0, one line says it waited."""
    path = write_jsonl(tmp_path / "posts.jsonl", [post_dict(f"r{n}") for n in range(POSTS)])
    env = {"REDIS_URL": valkey.url, "DATA_DIR": str(tmp_path / "data"), "DEMO": "false"}
    command = ["ingest", "replay", str(path), "--event", "testevent", "--rate", "40"]
    replay = subprocess.Popen(  # noqa: ASYNC220 - read by communicate() in a thread
        [sys.executable, "-m", "server.cli", *command],
        cwd=ROOT,
        env={**os.environ, **env},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    redis = Redis.from_url(valkey.url, decode_responses=True)
    try:
        await eventually(lambda: _posts(redis, "testevent", 20), timeout=30, message="replaying")
        await redis.aclose()
        await asyncio.to_thread(valkey.stop)
        await asyncio.sleep(1.0)  # the outage itself
        await asyncio.to_thread(valkey.start)
        redis = Redis.from_url(valkey.url, decode_responses=True)
        output, _ = await asyncio.to_thread(replay.communicate, timeout=deadline(60))
        assert replay.returncode == 0, output
        assert await redis.hlen("ew:{testevent}:posts") == POSTS, output
        assert "Traceback" not in output, output
        assert output.count("redis unreachable") == 1, output
    finally:
        if replay.poll() is None:
            replay.kill()
            replay.communicate()
        await redis.aclose()


async def _posts(redis: Redis, slug: str, n: int) -> bool:
    try:
        return await redis.hlen(f"ew:{{{slug}}}:posts") >= n
    except Exception:
        return False
