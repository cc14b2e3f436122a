"""The ingest worker SIGKILLed mid-stream resumes from its cursor: no gap, no duplicate."""

from __future__ import annotations

from collections import Counter

from redis.asyncio import Redis

from ingest.sources import demo_corpus
from tests.faults.kit import Worker
from tests.helpers import eventually

DEMO = "demo"


async def new_posts(redis: Redis) -> list[str]:
    """The post id of every `new` entry in the demo's moderators' log, oldest first."""
    entries = await redis.xrange(f"ew:{{{DEMO}}}:log:mod")
    return [str(fields["post_id"]) for _, fields in entries if fields.get("type") == "new"]


async def test_killed_worker_resumes_from_its_cursor(redis: Redis, env: dict[str, str]) -> None:
    """Killed twice mid-corpus, the demo source still stores each post exactly once, in order."""
    corpus = len(demo_corpus.POSTS)
    env = {**env, "DEMO": "true", "DEMO_RATE": "25", "DEMO_LOOP": "false"}
    for stop_at in (corpus // 3, 2 * corpus // 3):
        worker = Worker(env).start()
        try:
            await eventually(
                lambda n=stop_at: _at_least(redis, n), timeout=30, message=f"{stop_at} posts"
            )
        finally:
            worker.kill()  # SIGKILL: no cleanup, the cursor as last written
    worker = Worker(env).start()
    try:
        await eventually(lambda: _at_least(redis, corpus), timeout=30, message="the whole corpus")
    finally:
        assert worker.stop() == 0
    ids = await new_posts(redis)
    assert [n for n, c in Counter(ids).items() if c > 1] == [], "a post taken twice"
    assert ids == [f"demo:r0-{i}" for i in range(corpus)], "a gap or a change of order"


async def _at_least(redis: Redis, n: int) -> bool:
    return len(await new_posts(redis)) >= n
