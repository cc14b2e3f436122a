"""Eventwall served on a real Redis Cluster: the pages, live sockets of events on every primary,
resume with `since=`, moderation reaching the live pages, and a primary killed mid-event."""

from __future__ import annotations

import asyncio
import contextlib
import re
import time
from collections.abc import AsyncIterator

import httpx
import pytest
from redis.asyncio import Redis
from websockets.asyncio.client import ClientConnection, connect

from tests.cluster.test_cluster_stores import slugs_on_every_primary
from tests.cluster.valkey_cluster import ValkeyCluster
from tests.faults.kit import ResumingClient, caught_up, last_public_id, public_changes
from tests.helpers import deadline, eventually, post_dict
from tests.processes import WebServer
from usecases import Stores
from wall.keys import event_key
from wall.models import Event, Post
from wall.moderation import State

pytestmark = pytest.mark.xdist_group("cluster")

EMAIL, PASSWORD = "mod@example.org", "correct horse battery"
JSON = {"accept": "application/json"}


async def seed(redis: Redis, slugs: list[str]) -> Stores:
    """Pre-moderated events with one approved post each, and an admin moderator."""
    stores = Stores.on(redis)
    for slug in slugs:
        await stores.posts.save_event(Event(slug=slug, title=slug.upper()))
        post = Post.from_dict(post_dict(f"{slug}-first", f"first post of {slug}"))
        await stores.posts.ingest(slug, post, State.APPROVED)
    await stores.accounts.add(EMAIL, PASSWORD, admin=True)
    return stores


async def log_in(http: httpx.AsyncClient) -> str:
    """Log in through the real form; the console's CSRF token."""
    page = await http.get("/login")
    token = re.search(r'name="csrf" value="([^"]+)"', page.text)
    assert token, page.text
    form = {"email": EMAIL, "password": PASSWORD, "csrf": token.group(1), "next": "/"}
    assert (await http.post("/login", data=form)).status_code == 303
    return token.group(1)


async def console_token(http: httpx.AsyncClient, slug: str) -> str:
    """The console page of an event (it must render) and the CSRF token it carries."""
    page = await http.get(f"/e/{slug}/moderate")
    assert page.status_code == 200, page.text[:300]
    match = re.search(r'<meta name="csrf-token" content="([^"]+)"', page.text)
    assert match
    return match.group(1)


async def approve(http: httpx.AsyncClient, slug: str, token: str, post_id: str) -> httpx.Response:
    """Approve a pending post through the console's own endpoint."""
    form = {"post_id": post_id, "action": "approve", "expected": "pending", "csrf": token}
    return await http.post(f"/e/{slug}/moderate/decide", data=form, headers=JSON)


@contextlib.asynccontextmanager
async def console_socket(
    web: WebServer, http: httpx.AsyncClient, slug: str, since: str
) -> AsyncIterator[ClientConnection]:
    """The console's websocket, as the logged-in moderator's browser opens it."""
    cookie = "; ".join(f"{name}={value}" for name, value in http.cookies.items())
    async with connect(
        f"{web.ws_base}/e/{slug}/moderate/ws?since={since}",
        additional_headers={"Cookie": cookie, "Origin": web.base},
    ) as ws:
        yield ws


async def test_pages_sockets_resume_and_moderation(
    cluster_redis: Redis, cluster_env: dict[str, str]
) -> None:
    """Wall, live and console pages render, and an approval reaches every event's live socket."""
    slugs = slugs_on_every_primary(1)
    stores = await seed(cluster_redis, slugs)
    with WebServer(cluster_env) as web:
        async with httpx.AsyncClient(base_url=web.base, follow_redirects=False) as http:
            for slug in slugs:
                for page in ("wall", "live"):
                    shown = await http.get(f"/e/{slug}/{page}")
                    assert shown.status_code == 200 and f"first post of {slug}" in shown.text
            await log_in(http)
            tokens = {slug: await console_token(http, slug) for slug in slugs}
            starts = {slug: await last_public_id(cluster_redis, slug) for slug in slugs}
            clients = {
                slug: ResumingClient(f"{web.ws_base}/e/{slug}/ws", starts[slug]).start()
                for slug in slugs
            }
            try:
                await eventually(lambda: all(c.connects for c in clients.values()))
                for slug in slugs:
                    post = Post.from_dict(post_dict(f"{slug}-held"))
                    since = await stores.posts.last_change_id(slug, "mod")
                    async with console_socket(web, http, slug, since) as queue:
                        await stores.posts.ingest(slug, post, State.PENDING)
                        # The console's live queue hears of it, through the `mod` channel.
                        async with asyncio.timeout(deadline(10)):
                            while post.id not in str(await queue.recv()):
                                pass
                    console = await http.get(f"/e/{slug}/moderate")
                    assert post.id in console.text  # the console shows what is held
                    decided = await approve(http, slug, tokens[slug], post.id)
                    assert decided.status_code == 200 and decided.json()["state"] == "approved"
                for slug, client in clients.items():
                    expected = await public_changes(cluster_redis, slug, starts[slug])
                    assert len(expected) == 1
                    await caught_up([client], expected, [])
                    assert client.connects == 1  # live, through the shard channel
                # Resume: a page away while a post is approved gets it on return, and only it.
                away = clients[slugs[0]]
                await away.stop()
                post = Post.from_dict(post_dict(f"{slugs[0]}-while-away"))
                await stores.posts.ingest(slugs[0], post, State.PENDING)
                assert (await approve(http, slugs[0], tokens[slugs[0]], post.id)).is_success
                back = ResumingClient(f"{web.ws_base}/e/{slugs[0]}/ws", away.since).start()
                clients[slugs[0]] = back
                missed = await public_changes(cluster_redis, slugs[0], away.since)
                assert len(missed) == 1
                await caught_up([back], missed, [])
            finally:
                for client in clients.values():
                    await client.stop()


async def test_primary_killed_replica_takes_over(
    cluster: ValkeyCluster, cluster_redis: Redis, cluster_env: dict[str, str]
) -> None:
    """kill -9 of a primary: its replica takes over, screens resume with nothing missing, and
    every decision the console acknowledged is still there afterwards."""
    slugs = slugs_on_every_primary(1)
    stores = await seed(cluster_redis, slugs)
    victim_slug = slugs[0]
    victim = cluster.primary_of(event_key(victim_slug, "posts"))
    replica = cluster.replica_of(victim)
    with WebServer(cluster_env) as web:
        async with httpx.AsyncClient(base_url=web.base, follow_redirects=False) as http:
            await log_in(http)
            tokens = {slug: await console_token(http, slug) for slug in slugs}
            starts = {slug: await last_public_id(cluster_redis, slug) for slug in slugs}
            clients = {
                slug: ResumingClient(f"{web.ws_base}/e/{slug}/ws", starts[slug]).start()
                for slug in slugs
            }
            acknowledged: dict[str, list[str]] = {slug: [] for slug in slugs}
            held = 0

            async def decide_one(slug: str) -> None:
                # One post held and approved; counted only if the console said it was done.
                nonlocal held
                held += 1
                post = Post.from_dict(post_dict(f"{slug}-{held}"))
                try:
                    await stores.posts.ingest(slug, post, State.PENDING)
                    answer = await approve(http, slug, tokens[slug], post.id)
                except Exception:  # Redis mid-failover: neither held nor decided
                    return
                if answer.status_code == 200:
                    acknowledged[slug].append(post.id)

            try:
                await eventually(lambda: all(c.connects for c in clients.values()))
                for _ in range(3):
                    for slug in slugs:
                        await decide_one(slug)
                victim.kill()
                # Keep deciding through the failover until the replica serves the event.
                end = time.monotonic() + deadline(30)
                while cluster_role(replica) != "master":
                    assert time.monotonic() < end, "the replica never took over"
                    for slug in slugs:
                        await decide_one(slug)
                    await asyncio.sleep(0.05)
                before = {slug: len(acknowledged[slug]) for slug in slugs}

                async def three_more_each() -> bool:
                    for slug in slugs:
                        if len(acknowledged[slug]) < before[slug] + 3:
                            await decide_one(slug)
                    return all(len(acknowledged[s]) >= before[s] + 3 for s in slugs)

                # Decisions after the takeover are confirmed again, the failed-over event's too.
                await eventually(three_more_each, timeout=30, message="decisions after failover")
                page = await http.get(f"/e/{victim_slug}/wall")
                assert page.status_code == 200 and f"first post of {victim_slug}" in page.text
                for slug, client in clients.items():
                    # Every screen ends exactly at its event's log: nothing missed, no repeat.
                    expected = await public_changes(cluster_redis, slug, starts[slug])
                    await caught_up([client], expected, web.output.splitlines(keepends=True))
                    assert not client.duplicates
                for slug in slugs:
                    states = await stores.posts.states(slug, acknowledged[slug])
                    lost = [p for p, s in zip(acknowledged[slug], states, strict=True) if s is None]
                    assert not lost and set(states) == {State.APPROVED}, (slug, lost)
            finally:
                for client in clients.values():
                    await client.stop()
    cluster.heal()  # the victim back, as a replica of its replica, for the next tests


def cluster_role(node: object) -> str:
    """A node's replication role (`master` or `slave`), or '' if it does not answer."""
    try:
        return str(node.info("replication").get("role", ""))  # type: ignore[attr-defined]
    except Exception:
        return ""
