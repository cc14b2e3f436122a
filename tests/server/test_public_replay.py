"""A stranger replaying the public log from its start reads only what the public may see now."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from redis.asyncio import Redis
from starlette.testclient import TestClient

from server.app import create_app
from tests.helpers import post_dict
from wall.mod_store import Announcement, ModerationStore, now_ms
from wall.models import Event, Post
from wall.moderation import State
from wall.settings import Settings
from wall.store import Store

SLUG = "replay"
POSTS = 3
SENTINEL = "replay-sentinel-announcement"
OPS = ("approve", "hide", "reject", "pending", "edit", "delete", "pin", "unpin")
steps = st.lists(st.tuples(st.sampled_from(OPS), st.integers(0, POSTS - 1)), max_size=12)


def token(n: int, version: int) -> str:
    """A word only post n's text at this version contains."""
    return f"secret{n}x{version}end"


@dataclass
class Model:
    """What each post is now: its state (None once deleted) and its text's version."""

    state: list[State | None] = field(default_factory=lambda: [State.PENDING] * POSTS)
    version: list[int] = field(default_factory=lambda: [0] * POSTS)

    def visible_tokens(self) -> set[str]:
        """The words the public may read now."""
        return {token(n, self.version[n]) for n in range(POSTS) if self.state[n] == State.APPROVED}

    def all_tokens(self) -> set[str]:
        """Every word any post ever held."""
        return {token(n, v) for n in range(POSTS) for v in range(self.version[n] + 1)}


def post(n: int, version: int) -> Post:
    """Post n at a version of its text."""
    return Post.from_dict(post_dict(f"p{n}", f"post {token(n, version)} #replay"))


async def _setup(redis_url: str) -> None:
    redis = Redis.from_url(redis_url, decode_responses=True)
    try:
        await redis.flushall()
        store = Store(redis)
        await store.save_event(Event(slug=SLUG, title="Replay", moderation="pre"))
        for n in range(POSTS):
            await store.ingest(SLUG, post(n, 0), State.PENDING)
    finally:
        await redis.aclose()


async def _apply(redis_url: str, model: Model, op: str, n: int) -> None:
    redis = Redis.from_url(redis_url, decode_responses=True)
    try:
        store, mod = Store(redis), ModerationStore(redis)
        post_id = post(n, 0).id
        if model.state[n] is None and op != "unpin":
            return
        states = {
            "approve": State.APPROVED,
            "hide": State.HIDDEN,
            "reject": State.REJECTED,
            "pending": State.PENDING,
        }
        if op in states:
            await store.set_state(SLUG, post_id, states[op], actor="ann@example.org")
            model.state[n] = states[op]
        elif op == "edit":
            model.version[n] += 1
            await store.update(SLUG, post(n, model.version[n]))
        elif op == "delete":
            await store.delete(SLUG, post_id, reason="deleted at its source")
            model.state[n] = None
        else:
            await mod.pin(SLUG, post_id, op == "pin")
    finally:
        await redis.aclose()


async def _announce(redis_url: str) -> None:
    redis = Redis.from_url(redis_url, decode_responses=True)
    try:
        await ModerationStore(redis).announce(
            SLUG, Announcement(SENTINEL, now_ms() + 60_000, "ann@example.org")
        )
    finally:
        await redis.aclose()


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(steps)
def test_replay_from_the_start_shows_nothing_taken_down(
    redis_url: str, tmp_path_factory: pytest.TempPathFactory, sequence: list[tuple[str, int]]
) -> None:
    """After any sequence of approvals, hides, rejections, edits, deletions and pins, a
    stranger's replay from 0-0 carries the text of visible posts as they are now, and not a
    word of a post hidden, rejected, deleted or edited since (even one rendered live before)."""
    asyncio.run(_setup(redis_url))
    model = Model()
    data_dir = tmp_path_factory.mktemp("replay")
    app_settings = Settings(redis_url=redis_url, data_dir=data_dir, demo=False)
    with TestClient(create_app(app_settings), base_url="http://testserver") as client:
        # A page watching live, so this process renders (and caches) every change as it happens.
        with client.websocket_connect(f"/e/{SLUG}/ws?page=wall") as watcher:
            for op, n in sequence:
                asyncio.run(_apply(redis_url, model, op, n))
            with client.websocket_connect(f"/e/{SLUG}/ws?since=0-0") as stranger:
                asyncio.run(_announce(redis_url))
                replay = ""
                while SENTINEL not in replay:
                    replay += stranger.receive_text()
            del watcher
    leaked = {word for word in model.all_tokens() - model.visible_tokens() if word in replay}
    assert not leaked, (sequence, leaked)
    missing = {word for word in model.visible_tokens() if word not in replay}
    assert not missing, (sequence, missing)
