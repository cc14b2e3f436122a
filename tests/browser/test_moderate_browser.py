"""In real browsers: a moderator on a phone approves a pending post; the wall shows it live."""

from __future__ import annotations

import base64
import re
import time
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.helpers import ROOT, deadline, eventwall, post_dict, write_jsonl
from tests.processes import WebServer
from tests.server.moderation_helpers import PASSWORD

pytestmark = pytest.mark.browser
PHONE = {"width": 390, "height": 844}


def test_phone_moderator_approves_and_wall_shows_it(
    browser: Any, env: dict[str, str], tmp_path: Path
) -> None:
    """Log in at 390x844, see pending posts arrive live, approve one; the wall shows it within a second."""
    shots = ROOT / "test-artifacts"
    shots.mkdir(exist_ok=True)
    # An event of its own: browser tests share the session's Redis without flushing it.
    created = eventwall("event", "create", "--replace", "phone", "--title", "Test Meetup", env=env)
    assert created.returncode == 0, created.stderr
    added = eventwall(
        "moderator",
        "add",
        "mod@example.org",
        "--event",
        "phone",
        "--password-stdin",
        env=env,
        stdin=f"{PASSWORD}\n",
    )
    assert added.returncode == 0, added.stderr
    first = write_jsonl(
        tmp_path / "first.jsonl", [post_dict("pending", "Waiting for a moderator", sensitive=True)]
    )
    assert eventwall("ingest", "replay", str(first), "--event", "phone", env=env).returncode == 0

    with WebServer(env) as server:
        errors: list[str] = []
        wall_context = browser.new_context(viewport={"width": 1280, "height": 720})
        wall = wall_context.new_page()
        wall.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        wall.goto(f"{server.base}/e/phone/wall")
        wall.wait_for_selector("body[data-connection=online]", state="attached")
        assert wall.locator("#post-test_pending").count() == 0  # pre-moderation: not yet

        phone_context = browser.new_context(viewport=PHONE, has_touch=True, is_mobile=True)
        phone = phone_context.new_page()
        phone.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        phone.on("pageerror", lambda exc: errors.append(str(exc)))
        phone.goto(f"{server.base}/e/phone/moderate")
        assert "/login" in phone.url
        phone.fill("input[name=email]", "mod@example.org")
        phone.fill("input[name=password]", PASSWORD)
        phone.screenshot(path=str(shots / "moderate-login-390x844.png"))
        phone.click("button[type=submit]")
        phone.wait_for_url(re.compile(r"/e/phone/moderate$"))
        phone.wait_for_selector("body[data-connection=online]", state="attached")
        card = phone.locator("#mod-post-test_pending")
        card.wait_for()
        # Sensitive photo-less post: the card is there with its reason; counts are live.
        assert phone.inner_text("[data-count=pending]") == "1"

        # A new post arrives in the open console without a reload.
        later = write_jsonl(tmp_path / "later.jsonl", [post_dict("second", "Second in line")])
        assert (
            eventwall("ingest", "replay", str(later), "--event", "phone", env=env).returncode == 0
        )
        phone.wait_for_selector("#mod-post-test_second", timeout=deadline(5) * 1000)
        expect(phone.locator("[data-count=pending]")).to_have_text("2", timeout=deadline(5) * 1000)

        # Every action button is a comfortable touch target.
        sizes = card.locator("button").evaluate_all(
            "els => els.filter(e => e.offsetParent).map(e => [e.offsetWidth, e.offsetHeight])"
        )
        assert sizes and all(w >= 44 and h >= 44 for w, h in sizes), sizes
        assert phone.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
        phone.screenshot(path=str(shots / "moderate-queue-390x844.png"), full_page=True)

        started = time.monotonic()
        card.locator("button[value=approve]").tap()
        wall.wait_for_selector("#post-test_pending", timeout=deadline(1.5) * 1000)
        latency = time.monotonic() - started
        card.wait_for(state="detached")
        expect(phone.locator("[data-count=approved]")).to_have_text("1", timeout=deadline(5) * 1000)
        expect(phone.locator("[data-count=pending]")).to_have_text("1", timeout=deadline(5) * 1000)
        assert wall.locator("#post-test_second").count() == 0  # still pending: not on the wall
        phone.screenshot(path=str(shots / "moderate-after-approve-390x844.png"), full_page=True)
        wall.screenshot(path=str(shots / "wall-after-approve-1280x720.png"))
        (shots / "moderate-approve-latency.txt").write_text(f"{latency:.3f}s\n")
        assert errors == []
        phone_context.close()
        wall_context.close()


# Pages load images from this site only (CSP img-src 'self'): the photo is a local media file.
PIXEL = "/media/pixel.png"
PIXEL_PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg=="
)


def test_desktop_keys_and_sensitive_photos(
    browser: Any, env: dict[str, str], tmp_path: Path
) -> None:
    """A sensitive photo stays blurred until tapped; j/k move and 'a' approves the focused post."""
    # An event of its own: browser tests share the session's Redis without flushing it.
    assert (
        eventwall("event", "create", "--replace", "desk", "--title", "T", env=env).returncode == 0
    )
    added = eventwall(
        "moderator",
        "add",
        "desk@example.org",
        "--event",
        "desk",
        "--password-stdin",
        env=env,
        stdin=f"{PASSWORD}\n",
    )
    assert added.returncode == 0, added.stderr
    media = Path(env["DATA_DIR"]) / "media"
    media.mkdir(parents=True, exist_ok=True)
    (media / "pixel.png").write_bytes(PIXEL_PNG)
    photo = {"url": PIXEL, "width": 400, "height": 300, "alt": "A crowd"}
    posts = [
        post_dict(
            "one",
            "First",
            sensitive=True,
            content_warning="flash",
            photos=[photo],
            created_at="2026-01-01T10:00:00Z",
        ),
        post_dict("two", "Second", created_at="2026-01-01T10:01:00Z"),
    ]
    replay = write_jsonl(tmp_path / "posts.jsonl", posts)
    assert eventwall("ingest", "replay", str(replay), "--event", "desk", env=env).returncode == 0
    with WebServer(env) as server:
        context = browser.new_context(viewport={"width": 1280, "height": 800})
        page = context.new_page()
        errors: list[str] = []
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        page.goto(f"{server.base}/login?next=/e/desk/moderate")
        page.fill("input[name=email]", "desk@example.org")
        page.fill("input[name=password]", PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_selector("body[data-connection=online]", state="attached")
        image = page.locator("#mod-post-test_one .mod-photo img")
        assert "blur" in image.evaluate("el => getComputedStyle(el).filter")
        assert "CW: flash" in page.inner_text("#mod-post-test_one")
        assert "Alt: A crowd" in page.inner_text("#mod-post-test_one")
        page.click("#mod-post-test_one .reveal")
        assert image.evaluate("el => getComputedStyle(el).filter") == "none"
        page.screenshot(path=str(ROOT / "test-artifacts" / "moderate-desktop-1280x800.png"))
        # Oldest first: j focuses the first post, j again the second; 'a' approves it.
        page.keyboard.press("j")
        page.keyboard.press("j")
        expect(page.locator(".mod-card.focused")).to_have_attribute("data-post-id", "test:two")
        page.keyboard.press("a")
        page.locator("#mod-post-test_two").wait_for(state="detached")
        expect(page.locator("[data-count=approved]")).to_have_text("1", timeout=deadline(5) * 1000)
        assert page.locator("#mod-post-test_one").count() == 1
        assert errors == []
        context.close()
