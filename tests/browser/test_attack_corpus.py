"""The attack corpus through every source's normalizer, onto every page, in a real Chromium.

Each case of tests/corpus/xss.json becomes a Mastodon status, a Jetstream (Bluesky) record, an
RSS item, a JSONL replay line and an attendee's upload caption. All of them are taken through
the real ingest pipeline and shown on the wall, the live page, the embed and the moderation
console (the replay posts arrive live, over the websocket, so htmx swaps them in), and the
feeds are fetched and parsed. A payload that runs would open a dialog (`alert`), or make a
request: to a canary host, to a `/canary/` path, or to any other origin. Any of those, any CSP
violation, any markup outside the allow-list in a post, fails the test.
"""

from __future__ import annotations

import asyncio
import csv
import html
import json
import re
import socket
import threading
import xml.etree.ElementTree as ET
from collections.abc import Coroutine
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import feedparser
import httpx
import pytest
from redis.asyncio import Redis

from ingest.fetch import safe_client
from ingest.media import LocalStorage, PhotoPipeline
from ingest.pipeline import take
from ingest.sources.bluesky import commit_post, parse_commit
from ingest.sources.mastodon import status_post
from ingest.sources.replay import BadLine, parse_line
from ingest.sources.rss import entry_post
from tests.attack import executable_constructs, load_corpus
from tests.helpers import deadline, eventwall, post_dict
from tests.processes import WebServer
from tests.server.moderation_helpers import PASSWORD
from wall.mod_store import ModerationStore
from wall.models import Author, Post
from wall.moderation import State
from wall.store import Store

pytestmark = pytest.mark.browser
SLUG = "corpus"
CASES = load_corpus()
START = datetime(2026, 11, 23, 18, 0, tzinfo=UTC)
# Refused before connecting (loopback): the avatar falls back to initials.
DEAD_AVATAR = "http://127.0.0.1:9/avatar.png"
# Other paths of this very site an image URL may try to make every viewer's browser load.
SAME_SITE = [
    "/media/../e/corpus/export.zip",
    "/media/%2e%2e/metrics",
    "/media/..%2fe/corpus/export.csv",
    "/\t/canary.invalid/x.png",
    "/metrics",
    "/e/corpus/export.jsonl",
]
# Addresses off the public internet a photo or avatar may name (refused before connecting).
PRIVATE = ["http://169.254.169.254/latest/meta-data/", "http://10.0.0.1/x.png"]
WAIT = deadline(20) * 1000

# Run before any page script: record CSP violations, so a payload the CSP merely blocked
# (it got through the sanitizer) still fails the test.
INIT = """
window.__csp = [];
document.addEventListener('securitypolicyviolation',
  e => window.__csp.push(e.violatedDirective + ' ' + e.blockedURI + ' ' + (e.sample || '')));
"""
AUDIT = """
() => {
  const problems = [];
  const allowed = new Set(['P','BR','A','SPAN','STRONG','B','EM','I','UL','OL','LI','BLOCKQUOTE']);
  for (const text of document.querySelectorAll('.post-text')) {
    for (const el of text.querySelectorAll('*')) {
      if (!allowed.has(el.tagName)) problems.push('tag ' + el.tagName);
      for (const a of el.attributes) {
        if (!(el.tagName === 'A' && (a.name === 'href' || a.name === 'rel'))) {
          problems.push('attribute ' + el.tagName + ' ' + a.name);
        }
      }
      if (el.tagName === 'A') {
        const href = el.getAttribute('href');  // an unsafe href is dropped, the text kept
        if (href !== null && !/^https?:\\/\\//.test(href)) problems.push('href ' + href);
        if (el.rel !== 'nofollow noopener ugc') problems.push('rel ' + el.rel);
      }
    }
  }
  for (const el of document.querySelectorAll('*')) {
    for (const a of el.attributes) if (/^on/i.test(a.name)) problems.push('handler ' + el.tagName + ' ' + a.name);
  }
  const posts = document.querySelectorAll('article.post, article.mod-card');
  for (const post of posts) {
    if (!post.hasAttribute('hx-disable')) problems.push('no hx-disable on ' + post.id);
    for (const el of post.querySelectorAll('*')) {
      for (const a of el.attributes) if (/^(data-)?hx-/.test(a.name)) problems.push('htmx ' + a.name);
    }
  }
  if (document.querySelectorAll('script:not([src])').length) problems.push('inline script');
  if (document.querySelectorAll('#posts').length > 1) problems.push('#posts hijacked');
  return {problems, csp: window.__csp, posts: posts.length};
}
"""


class Canary:
    """A loopback TCP server in a thread that only counts the connections it gets."""

    def __init__(self) -> None:
        self.server = socket.create_server(("127.0.0.1", 0))
        self.server.settimeout(0.1)
        self.port = self.server.getsockname()[1]
        self.connections = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                connection, _ = self.server.accept()
            except TimeoutError:
                continue
            self.connections += 1
            connection.close()

    def urls(self) -> list[str]:
        """The canary under several spellings of loopback."""
        hosts = ["127.0.0.1", "localhost", "2130706433", "[::ffff:127.0.0.1]", "0x7f000001"]
        return [f"http://{host}:{self.port}/canary.png" for host in hosts]

    def close(self) -> None:
        """Stop listening."""
        self._stop.set()
        self._thread.join()
        self.server.close()


def image_vectors(canary: Canary) -> list[str]:
    """Every hostile image URL a post may carry: loopback, private, same-site."""
    return [*canary.urls(), *PRIVATE, *SAME_SITE]


def run(coroutine: Coroutine[Any, Any, Any]) -> Any:
    """Run a coroutine from this sync test (Playwright holds the main thread's loop)."""
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, coroutine).result()


def mastodon_posts(images: list[str]) -> list[Post]:
    """Each case as a Mastodon status: content, display name, links and a hostile avatar."""
    posts = []
    for n, case in enumerate(CASES):
        status = {
            "id": str(1000 + n),
            "created_at": (START + timedelta(seconds=n)).isoformat(),
            "account": {
                "acct": f"user{n}@masto.example",
                "display_name": case["html"][:300],
                "avatar": images[n % len(images)] if n % 2 else DEAD_AVATAR,
                "url": "javascript:alert('profile')",
                "note": "",
            },
            "content": case["html"],
            "url": "javascript:alert('status url')",
            "spoiler_text": case["html"][:100] if n % 5 == 0 else "",
            "tags": [{"name": "corpus"}],
            "media_attachments": [],
        }
        post = status_post(status, "masto.example")
        assert post is not None, case["name"]
        posts.append(post)
    return posts


def bluesky_posts() -> list[Post]:
    """Each case as a Jetstream commit's record text (plain text: escaped, then linked)."""
    posts = []
    for n, case in enumerate(CASES):
        message = json.dumps(
            {
                "did": f"did:plc:corpus{n}",
                "time_us": 1_000_000 + n,
                "kind": "commit",
                "commit": {
                    "collection": "app.bsky.feed.post",
                    "rkey": f"r{n}",
                    "operation": "create",
                    "record": {
                        "text": case["html"],
                        "createdAt": (START + timedelta(seconds=n)).isoformat(),
                        "tags": ["corpus"],
                    },
                },
            }
        )
        commit = parse_commit(message)
        assert commit is not None
        author = Author(f"@user{n}.bsky.social", case["html"][:64], "javascript:alert(1)")
        posts.append(commit_post(commit, author, "http://127.0.0.1:9"))
    return posts


def rss_posts() -> list[Post]:
    """Each case as an RSS item's title and description, parsed by feedparser."""
    items = "".join(
        f"<item><guid>urn:corpus:{n}</guid><title>{html.escape(c['name'] + ' ' + c['html'][:200])}"
        f"</title><link>https://blog.example/{n}</link><description>{html.escape(c['html'])}"
        f"</description><category>corpus</category>"
        f"<pubDate>Mon, 23 Nov 2026 18:{n // 60:02d}:{n % 60:02d} GMT</pubDate></item>"
        for n, c in enumerate(CASES)
    )
    feed = feedparser.parse(
        '<?xml version="1.0"?><rss version="2.0"><channel><title>Blog</title>'
        f"<link>https://blog.example/</link>{items}</channel></rss>"
    )
    posts = [entry_post(e, feed.feed, "https://blog.example/feed.xml") for e in feed.entries]
    return [p for p in posts if p is not None]


def replay_posts(images: list[str]) -> list[Post]:
    """Each case as a JSONL replay line (text and html) with a hostile avatar and photo URL,
    some dated 0001 or 9999; an oversized one is refused by name."""
    posts = []
    for n, case in enumerate(CASES):
        created = (START + timedelta(minutes=10, seconds=n)).isoformat()
        if n < len(CASES) - 1 and n % 11 == 3:
            created = "9999-12-31T23:59:59+00:00"  # placed at its arrival, not first forever
        elif n < len(CASES) - 1 and n % 13 == 5:
            created = "0001-01-01T00:00:00+00:00"  # must not stretch the recap over millennia
        line = {
            "source": "import",
            "native_id": f"c{n}",
            "created_at": created,
            "author": {
                "handle": f"@replay{n}@example.org",
                "display_name": case["html"][:100],
                "avatar_url": images[n % len(images)],
            },
            "text": case["html"],
            "html": case["html"],
            "url": "javascript:alert('replay url')",
            "content_warning": case["html"][:50] if n % 7 == 0 else "",
            "photos": [{"url": images[(n + 3) % len(images)], "thumb_url": SAME_SITE[0]}],
        }
        parsed = parse_line(json.dumps(line).encode(), n + 1)
        if isinstance(parsed, BadLine):
            assert len(case["html"]) > 20_000 and parsed.reason.startswith("text:"), parsed
            continue
        assert parsed is not None
        posts.append(parsed)
    return posts


async def ingest(redis_url: str, media: Path, posts: list[Post]) -> None:
    """Take posts through the real pipeline (sanitize, localize avatars, rules, store)."""
    redis = Redis.from_url(redis_url, decode_responses=True)
    try:
        store = Store(redis)
        event = await store.get_event(SLUG)
        assert event is not None
        # One RSS author posts the whole corpus: no flood or duplicate hold, every post shows.
        await ModerationStore(redis).set_rules(
            SLUG, blocked_words=[], blocked_tags=[], flood_limit=0, hold_duplicates=False
        )
        # The worker's own client: public addresses only, so every loopback, private and
        # same-site image URL above is refused before any connection.
        async with safe_client() as client:
            photos = PhotoPipeline(LocalStorage(media), client, timeout=deadline(2))
            for post in posts:
                await take(store, event, post, photos)
    finally:
        await redis.aclose()


async def hide(redis_url: str, post_id: str) -> None:
    """Hide a post, as a moderator would."""
    redis = Redis.from_url(redis_url, decode_responses=True)
    try:
        await Store(redis).set_state(SLUG, post_id, State.HIDDEN, actor="test")
    finally:
        await redis.aclose()


async def state_counts(redis_url: str) -> dict[str, int]:
    """How many posts of the corpus event are in each state."""
    redis = Redis.from_url(redis_url, decode_responses=True)
    try:
        return {s.value: await Store(redis).count(SLUG, s) for s in State}
    finally:
        await redis.aclose()


async def approve_uploads(redis_url: str) -> int:
    """Approve every attendee upload (they are held for review), as a moderator would."""
    redis = Redis.from_url(redis_url, decode_responses=True)
    try:
        store = Store(redis)
        pending = await store.posts(SLUG, State.PENDING, limit=1000)
        for post in pending:
            await store.set_state(SLUG, post.id, State.APPROVED, actor="test")
        return len(pending)
    finally:
        await redis.aclose()


def watch(page: Any, origin: str, problems: list[str]) -> None:
    """Fail on any dialog, page error, or request leaving the server's origin or to a canary."""
    page.add_init_script(INIT)

    def on_dialog(dialog: Any) -> None:
        problems.append(f"dialog: {dialog.message}")
        dialog.dismiss()

    def on_request(request: Any) -> None:
        parts = urlsplit(request.url)
        if f"{parts.scheme}://{parts.netloc}" != origin or "canary" in request.url:
            problems.append(f"request: {request.url[:200]}")
        # Same origin, but not a page asset: an image URL reaching another path of this site.
        lowered = request.url.lower()
        if any(bad in lowered for bad in ("/metrics", "/export.", "..", "%2e", "%2f", "%5c")):
            problems.append(f"same-site request: {request.url[:200]}")

    page.on("dialog", on_dialog)
    page.on("request", on_request)
    page.on("pageerror", lambda exc: problems.append(f"page error: {exc}"))
    page.on(
        "websocket",
        lambda ws: (
            None
            if urlsplit(ws.url).netloc == urlsplit(origin).netloc
            else problems.append(f"websocket: {ws.url}")
        ),
    )


def audit(page: Any, problems: list[str], name: str) -> int:
    """Check the page's DOM and CSP report; the number of posts on it."""
    found = page.evaluate(AUDIT)
    problems.extend(f"{name}: {p}" for p in found["problems"])
    problems.extend(f"{name}: CSP violation: {v}" for v in found["csp"])
    return int(found["posts"])


def test_attack_corpus_on_every_page(browser: Any, env: dict[str, str], tmp_path: Path) -> None:
    """No case of the corpus, from any source, runs script, loads anything or injects htmx."""
    env = {**env, "PAGE_SIZE": "1000", "UPLOAD_RATE": "1000"}
    hostile = "<img src=x onerror=alert('event title')>"
    created = eventwall(
        "event", "create", "--replace", SLUG, "--title", f"Corpus {hostile}", "--tag", "corpus",
        "--description", f"About {hostile}", "--moderation", "post", env=env,
    )  # fmt: skip
    assert created.returncode == 0, created.stderr
    added = eventwall(
        "moderator",
        "add",
        "mod@corpus.example",
        "--event",
        SLUG,
        "--password-stdin",
        env=env,
        stdin=f"{PASSWORD}\n",
    )
    assert added.returncode == 0, added.stderr
    media = Path(env["DATA_DIR"]) / "media"
    canary = Canary()
    images = image_vectors(canary)
    before_live = mastodon_posts(images) + bluesky_posts() + rss_posts()
    live_posts = replay_posts(images)
    run(ingest(env["REDIS_URL"], media, before_live))

    problems: list[str] = []
    with WebServer(env) as server:
        origin = server.base
        accepted = 0
        with httpx.Client(base_url=origin) as client:
            for case in CASES:
                reply = client.post(
                    f"/e/{SLUG}/post", data={"text": case["html"], "name": case["html"][:60]}
                )
                too_long = len(case["html"].strip()) > 500
                assert reply.status_code == (400 if too_long else 201), (case["name"], reply.text)
                accepted += not too_long
        assert run(approve_uploads(env["REDIS_URL"])) == accepted
        # Posts that were nothing but markup are not taken; all the others are on the wall.
        stored = run(state_counts(env["REDIS_URL"]))["approved"]
        assert len(before_live) + accepted - 40 < stored <= len(before_live) + accepted

        context = browser.new_context(viewport={"width": 1280, "height": 900})
        pages = {}
        for name, path in [
            ("wall", f"/e/{SLUG}/wall"),
            ("live", f"/e/{SLUG}/live"),
            ("embed", f"/e/{SLUG}/embed"),
        ]:
            page = context.new_page()
            watch(page, origin, problems)
            page.goto(origin + path)
            page.wait_for_selector("body[data-connection=online]", state="attached", timeout=WAIT)
            pages[name] = page
        console = context.new_page()
        watch(console, origin, problems)
        console.goto(f"{origin}/login?next=/e/{SLUG}/moderate%3Ftab%3Dapproved")
        console.fill("input[name=email]", "mod@corpus.example")
        console.fill("input[name=password]", PASSWORD)
        console.click("button[type=submit]")
        console.wait_for_url(re.compile(r"/moderate\?tab=approved$"), timeout=WAIT)
        console.wait_for_selector("body[data-connection=online]", state="attached", timeout=WAIT)
        pages["console"] = console

        assert audit(pages["live"], problems, "live") == stored
        # The live half: replayed posts arrive over the websocket and htmx swaps them in.
        run(ingest(env["REDIS_URL"], media, live_posts))
        last = live_posts[-1]
        for name, page in pages.items():
            selector = f"#mod-{last.dom_id}" if name == "console" else f"#{last.dom_id}"
            page.wait_for_selector(selector, state="attached", timeout=WAIT)
            page.wait_for_load_state("load")
        everything = run(state_counts(env["REDIS_URL"]))["approved"]
        assert stored + len(live_posts) - 20 < everything <= stored + len(live_posts)
        counts = {name: audit(page, problems, name) for name, page in pages.items()}
        # Each page keeps its own number of posts (the live page as many as it first had).
        assert counts["console"] == everything and counts["live"] == stored, counts
        assert counts["wall"] == 60 and counts["embed"] >= 20, counts
        # A fresh load of the live page renders every post from the server in one go.
        fresh = context.new_page()
        watch(fresh, origin, problems)
        fresh.goto(f"{origin}/e/{SLUG}/live")
        fresh.wait_for_load_state("load")
        assert audit(fresh, problems, "live reloaded") == everything
        # Avatars that could not be fetched fall back to none (initials on the wall's faces).
        assert fresh.locator("img.avatar").count() == 0
        assert pages["wall"].locator(".face .initials").count() > 0
        # The recap: hostile names among the most active, the event's hostile title.
        recap = context.new_page()
        watch(recap, origin, problems)
        recap.goto(f"{origin}/e/{SLUG}/recap")
        recap.wait_for_load_state("load")
        audit(recap, problems, "recap")
        assert recap.locator("#most-active li").count() > 0
        # Posts dated 0001 and 9999 are among them: the recap stays small.
        assert len(recap.content()) < 3_000_000
        # Two ids the old DOM-id rule made one: hiding one leaves the other on open pages.
        twins = [
            Post.from_dict({**post_dict(native, f"twin {native}"), "source": "import"})
            for native in ("x.1", "x_1")
        ]
        run(ingest(env["REDIS_URL"], media, twins))
        live = pages["live"]
        for twin in twins:
            live.wait_for_selector(f"#{twin.dom_id}", state="attached", timeout=WAIT)
        run(hide(env["REDIS_URL"], twins[0].id))
        live.wait_for_selector(f"#{twins[0].dom_id}", state="detached", timeout=WAIT)
        assert live.locator(f"#{twins[1].dom_id}").count() == 1
        everything += 1
        context.close()

        with httpx.Client(base_url=origin) as client:
            feed = json.loads(client.get(f"/e/{SLUG}/feed.json").text)
            assert feed["items"]
            for item in feed["items"]:
                problems.extend(
                    f"feed.json: {p}" for p in executable_constructs(item["content_html"])
                )
                assert item["url"].startswith(origin), item["url"]
            atom = ET.fromstring(client.get(f"/e/{SLUG}/feed.atom").content)
            contents = atom.findall(".//{http://www.w3.org/2005/Atom}content")
            assert contents
            for content in contents:
                problems.extend(
                    f"feed.atom: {p}" for p in executable_constructs(content.text or "")
                )
            for link in atom.findall(".//{http://www.w3.org/2005/Atom}link"):
                assert link.get("href", "").startswith(("http://", "https://")), link.attrib

    # The static archive, opened from disk as it would be from a USB stick: nothing runs,
    # nothing is fetched from anywhere but the archive's own folder.
    archive = tmp_path / "archive"
    exported = eventwall("export", SLUG, "--format", "html", "--out", str(archive), env=env)
    assert exported.returncode == 0, exported.stderr
    offline = browser.new_page()
    watch(offline, "file://", problems)
    offline.goto((archive / "index.html").as_uri())
    offline.wait_for_load_state("load")
    assert audit(offline, problems, "archive") == everything
    offline.close()

    # The CSV export: no cell a spreadsheet would run as a formula.
    table = tmp_path / "posts.csv"
    exported = eventwall("export", SLUG, "--format", "csv", "--out", str(table), env=env)
    assert exported.returncode == 0, exported.stderr
    with table.open(newline="", encoding="utf-8") as handle:
        cells = [cell for row in csv.reader(handle) for cell in row]
    formulas = [c[:40] for c in cells if c.startswith(("=", "+", "-", "@", "\t", "\r"))]
    assert formulas == [] and any(c.startswith("'=HYPERLINK") for c in cells)

    # No image URL of any post made Eventwall connect to loopback, in any spelling.
    canary.close()
    assert canary.connections == 0
    assert problems == []
