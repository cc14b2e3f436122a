"""Sources configured with `eventwall source ...` are picked up by the running worker."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from pathlib import Path

import httpx
import pytest

from ingest.sources import kinds
from ingest.sources.bluesky import BlueskySource
from ingest.worker import run_worker
from tests.fake_mastodon import FakeMastodon, status
from tests.fakes import serve
from tests.helpers import eventually, eventwall
from wall.models import Event
from wall.moderation import State
from wall.settings import Settings
from wall.sources import SourceError
from wall.store import Store


def test_source_config_is_validated_and_normalized() -> None:
    """A bare host gets https://, a '#Tag' is normalized, missing fields are refused."""
    config = kinds.configure("mastodon", "demo", server="social.example", tag="#PyCon")
    assert (config.server, config.tag) == ("https://social.example", "pycon")
    assert (
        config.id == kinds.configure("mastodon", "demo", server="social.example/", tag="pycon").id
    )
    with pytest.raises(SourceError, match="--server"):
        kinds.configure("mastodon", "demo", tag="x")
    with pytest.raises(SourceError, match="--url"):
        kinds.configure("rss", "demo", url="file:///etc/passwd")
    with pytest.raises(SourceError, match="kind: one of bluesky, mastodon, rss"):
        kinds.configure("twitter", "demo", tag="x")
    with pytest.raises(SourceError, match="rss takes no --server"):
        kinds.configure("rss", "demo", url="https://blog.example/feed", server="x")
    assert kinds.configure("bluesky", "demo", tag="py").server == ""  # BLUESKY_JETSTREAM


async def test_bluesky_hosts_come_from_the_settings(store: Store) -> None:
    """A Bluesky source without a server follows BLUESKY_JETSTREAM; AppView and DID
    directory are BLUESKY_APPVIEW and BLUESKY_PLC."""
    config = kinds.configure("bluesky", "demo", tag="py")
    settings = Settings(
        bluesky_jetstream="ws://127.0.0.1:9/",
        bluesky_appview="http://127.0.0.1:8",
        bluesky_plc="http://127.0.0.1:7",
    )
    async with httpx.AsyncClient() as client:
        source = kinds.get("bluesky").build(config, store, client, settings)
    assert isinstance(source, BlueskySource)
    assert (source.config.server, source.appview, source.plc) == (
        "ws://127.0.0.1:9",
        "http://127.0.0.1:8",
        "http://127.0.0.1:7",
    )


async def test_cli_added_source_is_run_and_removed_without_restart(
    store: Store,
    event: Event,
    env: dict[str, str],
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """`source add` starts a source in the running worker, `list` shows it, `remove` stops it."""
    caplog.set_level(logging.INFO)
    fake = FakeMastodon(statuses=[status(1), status(2, tag="other")])
    settings = Settings(
        redis_url=env["REDIS_URL"],
        data_dir=tmp_path,
        demo=False,
        source_reload=0.05,
        poll_interval=0.05,
        fetch_allow_loopback=True,  # the fake Mastodon is on loopback
    )
    async with serve(fake.app()) as base:
        worker = asyncio.create_task(run_worker(settings, store))
        try:
            added = await asyncio.to_thread(
                eventwall,
                "source",
                "add",
                "mastodon",
                "--server",
                base,
                "--tag",
                "#TestEvent",
                "--event",
                event.slug,
                env=env,
            )
            assert added.returncode == 0, added.stderr
            source_id = added.stdout.split()[1].rstrip(":")

            async def taken() -> bool:
                return await store.count(event.slug, State.APPROVED) == 1

            await eventually(taken, message="post from the added source")
            listed = await asyncio.to_thread(eventwall, "source", "list", env=env)
            assert source_id in listed.stdout and "\tconnected · 1 taken · last " in listed.stdout

            removed = await asyncio.to_thread(eventwall, "source", "remove", source_id, env=env)
            assert removed.returncode == 0
            await eventually(lambda: "removed; stopping it" in caplog.text, message="stopped")
            # Another source on another tag proves later reload rounds ran.
            other = await asyncio.to_thread(
                eventwall,
                "source",
                "add",
                "mastodon",
                "--server",
                base,
                "--tag",
                "other",
                "--event",
                event.slug,
                env=env,
            )
            assert other.returncode == 0

            def polls(tag: str) -> int:
                return len([r for r in fake.requests if r["tag"] == tag])

            await eventually(lambda: polls("other") >= 1, message="other source polled")
            polled, others = polls("testevent"), polls("other")
            await eventually(lambda: polls("other") >= others + 3, message="more polls")
            assert polls("testevent") == polled
            missing = await asyncio.to_thread(eventwall, "source", "remove", "nope", env=env)
            assert missing.returncode == 1 and "no source" in missing.stderr
        finally:
            worker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await worker
