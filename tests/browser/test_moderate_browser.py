"""In real browsers: a moderator on a phone approves a pending post; the wall shows it live."""

from __future__ import annotations

import re
import time
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.helpers import ROOT, WebServer, deadline, eventwall, post_dict, write_jsonl

pytestmark = pytest.mark.browser
PHONE = {"width": 390, "height": 844}


def test_phone_moderator_approves_and_wall_shows_it(
    browser: Any, env: dict[str, str], tmp_path: Path
) -> None:
    """Log in at 390x844, see pending posts arrive live, approve one; the wall shows it within a second."""
    shots = ROOT / "test-artifacts"
    shots.mkdir(exist_ok=True)
    created = eventwall("event", "create", "testevent", "--title", "Test Meetup", env=env)
    assert created.returncode == 0, created.stderr
    added = eventwall("moderator", "add", "mod@example.org", "--event", "testevent", env=env)
    assert added.returncode == 0, added.stderr
    password = re.search(r"one-time password \(shown once\): (\S+)", added.stdout)
    assert password, added.stdout
    first = write_jsonl(
        tmp_path / "first.jsonl", [post_dict("pending", "Waiting for a moderator", sensitive=True)]
    )
    assert (
        eventwall("ingest", "replay", str(first), "--event", "testevent", env=env).returncode == 0
    )

    with WebServer(env) as server:
        errors: list[str] = []
        wall_context = browser.new_context(viewport={"width": 1280, "height": 720})
        wall = wall_context.new_page()
        wall.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        wall.goto(f"{server.base}/e/testevent/wall")
        wall.wait_for_selector("body[data-connection=online]", state="attached")
        assert wall.locator("#post-test_pending").count() == 0  # pre-moderation: not yet

        phone_context = browser.new_context(viewport=PHONE, has_touch=True, is_mobile=True)
        phone = phone_context.new_page()
        phone.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        phone.on("pageerror", lambda exc: errors.append(str(exc)))
        phone.goto(f"{server.base}/e/testevent/moderate")
        assert "/login" in phone.url
        phone.fill("input[name=email]", "mod@example.org")
        phone.fill("input[name=password]", password.group(1))
        phone.screenshot(path=str(shots / "moderate-login-390x844.png"))
        phone.click("button[type=submit]")
        phone.wait_for_url(re.compile(r"/e/testevent/moderate$"))
        phone.wait_for_selector("body[data-connection=online]", state="attached")
        card = phone.locator("#mod-post-test_pending")
        card.wait_for()
        # Sensitive photo-less post: the card is there with its reason; counts are live.
        assert phone.inner_text("[data-count=pending]") == "1"

        # A new post arrives in the open console without a reload.
        later = write_jsonl(tmp_path / "later.jsonl", [post_dict("second", "Second in line")])
        assert (
            eventwall("ingest", "replay", str(later), "--event", "testevent", env=env).returncode
            == 0
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
