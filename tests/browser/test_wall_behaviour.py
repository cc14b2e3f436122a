"""In a real browser: the wall stays bounded, follows new posts, survives restarts."""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from redis.asyncio import Redis

from tests.browser.wallkit import seed, wait_until
from tests.helpers import ROOT, deadline, eventwall, post_dict, write_jsonl
from tests.processes import WebServer
from wall.mod_store import Announcement, ModerationStore, now_ms
from wall.moderation import State
from wall.store import Store

pytestmark = pytest.mark.browser

FLOOD = 2000
# Elements the wall may hold: its frame, 60 posts of about eight elements, 16 faces
# (570 measured); unbounded, 2,000 posts would be some 16,000.
MAX_ELEMENTS = 1000

# The websocket messages the page has taken in, and when it took the last one.
WS_MESSAGES = """
window.__ws = {messages: 0, last: 0};
document.addEventListener("htmx:wsAfterMessage", function () {
  window.__ws.messages += 1; window.__ws.last = Date.now();
});
"""

COUNT = "({all: document.getElementsByTagName('*').length, posts: document.getElementById('posts').children.length})"


def test_two_thousand_posts_keep_the_dom_bounded(
    browser: Any, env: dict[str, str], tmp_path: Path
) -> None:
    """Never dark: 2,000 posts replayed into the store and pushed live leave a bounded DOM."""
    made = eventwall(
        "event",
        "create",
        "--replace",
        "flood",
        "--title",
        "Flood",
        "--tag",
        "flood",
        "--moderation",
        "post",
        env=env,
    )
    assert made.returncode == 0, made.stderr
    start = datetime.now(UTC)
    items = [
        post_dict(
            f"p{i}",
            f"Post number {i} of the flood #flood",
            created_at=(start + timedelta(milliseconds=i)).isoformat(),
            author={"handle": f"@user{i % 97}@example.org", "display_name": f"User {i % 97}"},
            **(
                {"photos": [{"url": "/media/none.png", "width": 4, "height": 3}]}
                if i % 5 == 0
                else {}
            ),
        )
        for i in range(FLOOD)
    ]
    path = write_jsonl(tmp_path / "flood.jsonl", items)
    with WebServer(env) as server:
        page = browser.new_page(viewport={"width": 1920, "height": 1080})
        errors: list[str] = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        page.add_init_script(WS_MESSAGES)
        page.goto(f"{server.base}/e/flood/wall")
        page.wait_for_selector("body[data-connection=online]", state="attached")
        replay = subprocess.Popen(
            [sys.executable, "-m", "server.cli", "ingest", "replay", str(path), "--event", "flood"],
            cwd=ROOT,
            env={**os.environ, **env},
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        peak = {"all": 0, "posts": 0}
        # However long the replay takes on a busy machine, the last post must follow its end.
        end = None
        try:
            while page.query_selector(f"#post-test_p{FLOOD - 1}") is None:
                counts = page.evaluate(COUNT)
                peak = {k: max(peak[k], counts[k]) for k in peak}
                if end is None and replay.poll() is not None:
                    end = time.monotonic() + deadline(30)
                if end is not None and time.monotonic() > end:
                    raise AssertionError(
                        f"the last post never came; {peak}, page errors: {errors}\n"
                        + _stalled(page, server)
                    )
                page.wait_for_timeout(100)
        finally:
            replay.wait(deadline(60))
        assert replay.returncode == 0
        counts = page.evaluate(COUNT)
        peak = {k: max(peak[k], counts[k]) for k in peak}
        assert peak["posts"] <= 60, f"at most 60 posts held, saw {peak['posts']}"
        assert peak["all"] <= MAX_ELEMENTS, f"DOM grew to {peak['all']} elements"
        assert page.evaluate("document.querySelectorAll('#faces .face').length") <= 16
        assert errors == []
        page.close()


def _stalled(page: Any, server: WebServer) -> str:
    """Which side stopped: what the server says it sent, what the page says it took in."""
    seen = page.evaluate(
        "({state: document.body.dataset.connection, ws: window.__ws, ago: Date.now() - window.__ws.last})"
    )
    sent = [
        line
        for line in httpx.get(f"{server.base}/metrics", timeout=deadline(10)).text.splitlines()
        if line.startswith(
            ("eventwall_messages", "eventwall_changes", "eventwall_slow", "eventwall_clients ")
        )
    ]
    tail = "".join(line for line in server.lines[-15:] if "connection " not in line)
    return f"page: {seen}\nserver: {sent}\n{tail}"


def test_spotlight_jumps_to_a_new_post(browser: Any, env: dict[str, str], tmp_path: Path) -> None:
    """Spotlight: a post that arrives is shown at once, without waiting for the cycle."""
    seed(env, tmp_path, "jump")
    with WebServer(env) as server:
        page = browser.new_page(viewport={"width": 1280, "height": 720})
        page.goto(f"{server.base}/e/jump/wall?layout=spotlight&cycle=600")
        page.wait_for_selector("body[data-connection=online]", state="attached")
        wait_until(
            page, "!!document.querySelector('#posts > .is-spotlit')", message="a spotlit post"
        )
        later = write_jsonl(
            tmp_path / "later.jsonl",
            [
                post_dict(
                    "fresh", "Just arrived at the venue", author={"handle": "@new@example.org"}
                )
            ],
        )
        assert eventwall("ingest", "replay", str(later), "--event", "jump", env=env).returncode == 0
        page.wait_for_selector("#post-test_fresh.is-spotlit", timeout=deadline(5) * 1000)
        assert page.evaluate("document.querySelectorAll('#posts > .is-spotlit').length") == 1
        assert page.get_attribute("#faces .face:first-child", "data-handle") == "@new@example.org"
        assert page.get_attribute("#stats", "data-posts") == "9"
        page.close()


def test_removed_post_leaves_the_spotlight(
    browser: Any, env: dict[str, str], tmp_path: Path
) -> None:
    """Never dark: when the post in the spotlight is hidden, the next one shows within a second."""
    seed(env, tmp_path, "gone")
    with WebServer(env) as server:
        page = browser.new_page(viewport={"width": 1280, "height": 720})
        page.goto(f"{server.base}/e/gone/wall?layout=spotlight&cycle=600")
        page.wait_for_selector("body[data-connection=online]", state="attached")
        wait_until(
            page, "!!document.querySelector('#posts > .is-spotlit')", message="a spotlit post"
        )
        shown = page.eval_on_selector("#posts > .is-spotlit", "a => a.id")
        post_id = "test:" + shown.removeprefix("post-test_")
        with ThreadPoolExecutor(1) as pool:  # its own event loop, away from Playwright's
            assert pool.submit(asyncio.run, _hide(env["REDIS_URL"], "gone", post_id)).result()
        hidden_at = time.monotonic()
        page.wait_for_selector(f"#{shown}", state="detached", timeout=deadline(2) * 1000)
        wait_until(page, "!!document.querySelector('#posts > .is-spotlit')", timeout=1)
        assert time.monotonic() - hidden_at < deadline(1.5)
        assert page.eval_on_selector("#posts > .is-spotlit", "a => a.id") != shown
        page.close()


async def _hide(url: str, slug: str, post_id: str) -> bool:
    redis = Redis.from_url(url, decode_responses=True)
    try:
        outcome = await Store(redis).set_state(slug, post_id, State.HIDDEN, actor="test")
        return outcome.changed
    finally:
        await redis.aclose()


def test_wall_survives_a_server_restart(browser: Any, env: dict[str, str], tmp_path: Path) -> None:
    """Never dark: while the server restarts the wall keeps its posts, shows offline, then resumes."""
    seed(env, tmp_path, "restart")
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    first = WebServer(env)
    first.env["PORT"] = str(port)
    first.start()
    page = browser.new_page(viewport={"width": 1920, "height": 1080})
    try:
        page.goto(f"{first.base}/e/restart/wall")
        page.wait_for_selector("body[data-connection=online]", state="attached")
        before = page.evaluate("document.querySelectorAll('#posts > article').length")
        first.stop()
        page.wait_for_selector("body[data-connection=offline]", state="attached")
        assert page.evaluate("document.querySelectorAll('#posts > article').length") == before
        assert page.is_visible("#posts > article:first-child")
        assert "offline" in (page.get_attribute("#status", "class") or "")
        later = write_jsonl(tmp_path / "later.jsonl", [post_dict("after", "Back again")])
        assert (
            eventwall("ingest", "replay", str(later), "--event", "restart", env=env).returncode == 0
        )
        second = WebServer(env)
        second.env["PORT"] = str(port)
        with second:
            page.wait_for_selector(
                "body[data-connection=online]", state="attached", timeout=deadline(30) * 1000
            )
            # Published while the server was down: the resume from the last change id brings it.
            page.wait_for_selector("#post-test_after", timeout=deadline(5) * 1000)
    finally:
        first.stop()
        page.close()


def test_qr_code_uses_public_url(env: dict[str, str]) -> None:
    """PUBLIC_URL: the QR code and short URL name the address people reach, not the projector's."""
    made = eventwall(
        "event",
        "create",
        "--replace",
        "pub",
        "--title",
        "Pub",
        "--tag",
        "pub",
        "--moderation",
        "post",
        env=env,
    )
    assert made.returncode == 0, made.stderr
    with WebServer({**env, "PUBLIC_URL": "https://wall.example.org/"}) as server:
        html = httpx.get(f"{server.base}/e/pub/wall").text
    assert ">wall.example.org/<wbr>e/<wbr>pub/<wbr>join<" in html
    assert "127.0.0.1" not in html


async def _moderate(url: str, slug: str, pin: str | None, announce: str | None) -> bool:
    redis = Redis.from_url(url, decode_responses=True)
    try:
        mod = ModerationStore(redis)
        if announce is not None:
            text = Announcement(announce, now_ms() + 600_000) if announce else None
            await mod.announce(slug, text)
        if pin is None:
            return True
        current = await mod.pinned(slug)
        return await mod.pin(slug, pin or next(iter(current)), bool(pin))
    finally:
        await redis.aclose()


PINNED = r"""
() => {
  const box = el => {
    if (!el || el.hidden || getComputedStyle(el).display === "none") return null;
    const r = el.getBoundingClientRect();
    return {top: r.top, bottom: r.bottom, left: r.left, right: r.right, height: r.height};
  };
  const root = document.scrollingElement;
  return {
    spotlight: box(document.getElementById("spotlight")),
    announcement: box(document.getElementById("announcement")),
    stream: box(document.getElementById("stream")),
    pinnedId: document.querySelector("#spotlight article")?.dataset.postId || "",
    twice: [...document.querySelectorAll("#posts > article.post")].some(a =>
      a.id === document.querySelector("#spotlight article")?.dataset.domId &&
      getComputedStyle(a).display !== "none" && getComputedStyle(a).visibility !== "hidden"),
    overflow: root.scrollHeight > innerHeight || root.scrollWidth > innerWidth,
  };
}
"""


def test_pinned_post_and_announcement_on_every_layout(
    browser: Any, env: dict[str, str], tmp_path: Path
) -> None:
    """A pinned post and an announcement fit every layout, and leave the wall when withdrawn."""
    seed(env, tmp_path, "pins")
    with WebServer(env) as server:
        page = browser.new_page(viewport={"width": 1920, "height": 1080})
        page.goto(f"{server.base}/e/pins/wall")
        shown = page.eval_on_selector("#posts > article.has-photo", "a => a.id")
        pinned = "test:" + shown.removeprefix("post-test_")
        with ThreadPoolExecutor(1) as pool:  # its own event loop, away from Playwright's
            assert pool.submit(
                asyncio.run, _moderate(env["REDIS_URL"], "pins", pinned, "Talks resume at 8pm")
            ).result()
        for layout in ("grid", "spotlight", "ticker"):
            page.goto(f"{server.base}/e/pins/wall?layout={layout}")
            page.wait_for_selector("body[data-connection=online]", state="attached")
            m = page.evaluate(PINNED)
            assert not m["overflow"], f"{layout}: the page overflows"
            assert m["announcement"], f"{layout}: no announcement"
            assert m["announcement"]["bottom"] <= 1080 and m["announcement"]["top"] >= 0
            if layout == "ticker":
                assert m["spotlight"] is None, "the ticker has no room for a pinned post"
                continue
            assert m["pinnedId"] == pinned
            assert m["spotlight"] and m["spotlight"]["bottom"] <= 1080, f"{layout}: pin cut off"
            if layout == "grid":
                assert not m["twice"], "the pinned post is not shown twice"
                assert m["stream"] and m["stream"]["top"] >= m["spotlight"]["bottom"]
                assert m["spotlight"]["height"] <= 0.45 * 1080, "the pin crowds out the grid"
            else:
                assert m["stream"] is None, "the pin replaces the cycle"
        page.screenshot(path=str(ROOT / "test-artifacts" / "wall-ticker-announcement.png"))
        page.goto(f"{server.base}/e/pins/wall?layout=grid")
        page.wait_for_selector("body[data-connection=online]", state="attached")
        with ThreadPoolExecutor(1) as pool:
            assert pool.submit(asyncio.run, _moderate(env["REDIS_URL"], "pins", "", "")).result()
        wait_until(page, "document.getElementById('spotlight').hidden", message="pin withdrawn")
        wait_until(
            page, "document.getElementById('announcement').hidden", message="announcement gone"
        )
        page.close()
