"""Power loss, simulated: what `appendfsync everysec` keeps of acknowledged writes.

`kill -9` can't show it (the page cache survives a killed process), so Valkey runs under an
LD_PRELOAD shim (fsync_log.c) that logs each fsync of its append-only file with the file's
size when the fsync began. Power lost at instant T leaves on disk exactly the bytes of the
last fsync that had returned by T. The test cuts a copy of the file there, at random
instants while acknowledged writes go on, loads it into a fresh Valkey and counts the
acknowledged writes missing: they must all be from the last moments before T.
"""

from __future__ import annotations

import os
import random
import shutil
import subprocess
import time
from pathlib import Path

import pytest
from redis.asyncio import Redis

from tests.helpers import deadline, eventually, post_dict
from wall.models import Event, Post
from wall.moderation import State
from wall.redis_server import free_port, valkey_binary
from wall.store import Store

SHIM = Path(__file__).with_name("fsync_log.c")
WRITING = 5.0  # seconds of acknowledged writes
INSTANTS = 6  # power cuts simulated in that time
WINDOW = 2.0  # seconds: the most `everysec` may lose (one second, two if an fsync is slow)


def valkey(folder: Path, port: int, env: dict[str, str] | None = None) -> subprocess.Popen[bytes]:
    """valkey-server as `eventwall` starts it: append-only, fsync every second."""
    folder.mkdir(parents=True, exist_ok=True)
    args = [valkey_binary(), "--port", str(port), "--bind", "127.0.0.1", "--dir", str(folder)]
    args += ["--appendonly", "yes", "--appendfsync", "everysec", "--save", ""]
    args += ["--logfile", "valkey.log"]
    return subprocess.Popen(args, env={**os.environ, **(env or {})}, start_new_session=True)


async def answers(url: str) -> bool:
    """Whether Redis at `url` answers PING."""
    client = Redis.from_url(url)
    try:
        return bool(await client.ping())
    except Exception:
        return False
    finally:
        await client.aclose()


def durable_size(fsyncs: list[tuple[float, int, str]], at: float) -> tuple[str, int]:
    """The incremental AOF file and how many of its bytes were on disk at instant `at`."""
    done = [(size, path) for end, size, path in fsyncs if end <= at and ".incr.aof" in path]
    if not done:
        return "", 0
    size, path = max(done)
    return path, size


async def restored_posts(aof_dir: Path, path: str, size: int, into: Path) -> set[str]:
    """The post ids a fresh Valkey loads from the AOF cut to `size` bytes of `path`."""
    shutil.copytree(aof_dir, into / "appendonlydir")
    if path:
        os.truncate(into / "appendonlydir" / Path(path).name, size)
    port = free_port()
    process = valkey(into, port)
    url = f"redis://127.0.0.1:{port}/0"
    try:
        await eventually(lambda: answers(url), timeout=15, message="the restored Valkey")
        client = Redis.from_url(url, decode_responses=True)
        try:
            return set(await client.hkeys("ew:{power}:posts"))
        finally:
            await client.aclose()
    finally:
        process.terminate()
        process.wait()


@pytest.fixture
def shim(tmp_path: Path) -> Path:
    """The fsync-logging shim, compiled for this machine (skipped without a C compiler)."""
    compiler = shutil.which("cc") or shutil.which("gcc")
    if compiler is None:
        pytest.skip("needs a C compiler for the fsync-logging shim")
    built = tmp_path / "fsync_log.so"
    subprocess.run([compiler, "-shared", "-fPIC", "-o", str(built), str(SHIM), "-ldl"], check=True)
    return built


async def test_power_loss_loses_at_most_the_last_seconds(shim: Path, tmp_path: Path) -> None:
    """Cut at random instants, the AOF on disk holds every write acknowledged 2 s earlier."""
    log = tmp_path / "fsync.log"
    port = free_port()
    live = valkey(tmp_path / "live", port, {"LD_PRELOAD": str(shim), "FSYNC_LOG": str(log)})
    url = f"redis://127.0.0.1:{port}/0"
    acked: list[tuple[str, float]] = []
    try:
        await eventually(lambda: answers(url), timeout=15, message="Valkey")
        redis = Redis.from_url(url, decode_responses=True)
        store = Store(redis)
        await store.save_event(Event(slug="power", title="Power"))
        started = time.time()
        n = 0
        while time.time() - started < WRITING:  # the writing itself, not a wait
            post = Post.from_dict(post_dict(f"w{n}"))
            await store.ingest("power", post, State.APPROVED)
            acked.append((post.id, time.time()))
            n += 1
        await redis.aclose()
    finally:
        live.kill()  # SIGKILL: nothing more reaches the files
        live.wait()
    fsyncs = []
    for line in log.read_text().splitlines():
        _, end, size, path = line.split(" ", 3)
        fsyncs.append((float(end), int(size), path))
    assert len(fsyncs) >= WRITING - 2, f"the shim saw {len(fsyncs)} fsyncs"

    seed = random.randrange(1 << 30)
    rng = random.Random(seed)
    instants = sorted(rng.uniform(started + 1.5, started + WRITING) for _ in range(INSTANTS))
    report = []
    for i, cut in enumerate(instants):
        path, size = durable_size(fsyncs, cut)
        present = await restored_posts(
            tmp_path / "live" / "appendonlydir", path, size, tmp_path / f"cut{i}"
        )
        before = [(post_id, at) for post_id, at in acked if at <= cut]
        lost = [(post_id, at) for post_id, at in before if post_id not in present]
        oldest = max((cut - at for _, at in lost), default=0.0)
        report.append(f"{len(lost)}/{len(before)} lost, oldest {oldest:.2f}s before the cut")
        assert oldest <= deadline(WINDOW), f"seed {seed}: " + "; ".join(report)
    print(f"\npower loss (seed {seed}, {n / WRITING:.0f} writes/s): " + "; ".join(report))
