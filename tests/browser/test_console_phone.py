"""The console on a phone: the tab bar fits at 390 px with 3-digit counts; one's own
decisions are not announced back to oneself."""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from playwright.sync_api import expect
from redis.asyncio import Redis

from tests.helpers import ROOT, deadline, post_dict
from tests.processes import WebServer
from tests.server.moderation_helpers import PASSWORD
from wall.accounts import Accounts
from wall.models import Event, Post
from wall.moderation import State
from wall.store import Store

PHONE = {"width": 390, "height": 844}


def _seed(redis_url: str, slug: str, counts: dict[State, int], emails: list[str]) -> None:
    async def work() -> None:
        redis = Redis.from_url(redis_url, decode_responses=True)
        try:
            store = Store(redis)
            await store.save_event(Event(slug=slug, title="Phone Meetup"))
            for email in emails:
                await Accounts(redis).add(email, PASSWORD, event=slug)
            items = [
                (Post.from_dict(post_dict(f"{state.value}-{n}")), state, "test", "")
                for state, total in counts.items()
                for n in range(total)
            ]
            await store.ingest_many(slug, items)
        finally:
            await redis.aclose()

    # In a thread of its own: Playwright's sync API keeps an event loop running in this one.
    with ThreadPoolExecutor(1) as pool:
        pool.submit(asyncio.run, work()).result()


def _log_in(page: Any, base: str, path: str, email: str) -> None:
    page.goto(f"{base}{path}")
    page.fill("input[name=email]", email)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_selector("body[data-connection=online]", state="attached")


def test_tab_bar_fits_a_phone_with_three_digit_counts(
    browser: Any, env: dict[str, str], redis_url: str
) -> None:
    """At 390x844 with counts in the hundreds, no tab's label or count is clipped."""
    counts = {State.PENDING: 128, State.APPROVED: 356, State.REJECTED: 104}
    _seed(redis_url, "narrow", counts, ["narrow@example.org"])
    with WebServer(env) as server:
        context = browser.new_context(viewport=PHONE, has_touch=True, is_mobile=True)
        page = context.new_page()
        _log_in(page, server.base, "/e/narrow/moderate", "narrow@example.org")
        expect(page.locator("[data-count=approved]")).to_have_text("356")
        shots = ROOT / "test-artifacts"
        shots.mkdir(exist_ok=True)
        page.screenshot(path=str(shots / "moderate-tabs-390x844.png"))
        clipped = page.eval_on_selector_all(
            ".tabs .tab",
            """tabs => tabs.filter(t => t.scrollWidth > t.clientWidth + 1
                || [...t.children].some(c => c.getBoundingClientRect().right
                                           > t.getBoundingClientRect().right + 1))
                .map(t => t.textContent.trim())""",
        )
        assert clipped == [], clipped
        bar = page.eval_on_selector(".tabs", "b => [b.scrollWidth, b.clientWidth]")
        assert bar[0] <= bar[1], bar
        assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
        context.close()


def test_own_decision_is_not_toasted_back(
    browser: Any, env: dict[str, str], redis_url: str
) -> None:
    """Alice approving on her laptop: her phone says nothing about it, Bob sees 'by alice'."""
    _seed(redis_url, "toast", {State.PENDING: 1}, ["alice@example.org", "bob@example.org"])
    with WebServer(env) as server:
        pages = {}
        for name, email in (("phone", "alice"), ("laptop", "alice"), ("bob", "bob")):
            context = browser.new_context(viewport=PHONE, has_touch=True, is_mobile=True)
            pages[name] = context.new_page()
            _log_in(pages[name], server.base, "/e/toast/moderate", f"{email}@example.org")
            pages[name].locator("#mod-post-test_pending-0").wait_for()
        pages["laptop"].locator("#mod-post-test_pending-0 button[value=approve]").tap()
        wait = deadline(10) * 1000
        expect(pages["bob"].locator("#toast")).to_contain_text(
            "approved by alice@example.org", timeout=wait
        )
        # Alice's phone has applied the same change (its resume position is past it) ...
        since = pages["bob"].evaluate("document.body.dataset.since")
        pages["phone"].wait_for_function(f"document.body.dataset.since === {since!r}", timeout=wait)
        pages["phone"].locator("#mod-post-test_pending-0").wait_for(state="detached")
        # ... without telling her what she did herself.
        assert "by alice" not in (pages["phone"].locator("#toast").text_content() or "")
        for page in pages.values():
            page.context.close()
