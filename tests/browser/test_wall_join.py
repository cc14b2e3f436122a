"""In a real browser on a phone-sized screen: the wall's QR target lets an attendee post or follow."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from tests.browser.wallkit import seed
from tests.processes import WebServer

pytestmark = pytest.mark.browser

PHONE = {"width": 390, "height": 844}


def test_join_page_posts_a_photo_and_links_live(
    browser: Any, env: dict[str, str], tmp_path: Path
) -> None:
    """Join page: hashtag to copy, Follow live, and the upload form that sends a photo to moderation."""
    seed(env, tmp_path, "joinus")
    photo = tmp_path / "me.png"
    Image.new("RGB", (64, 48), "#2a9d8f").save(photo)
    with WebServer(env) as server:
        wall = browser.new_page()
        wall.goto(f"{server.base}/e/joinus/wall")
        target = wall.text_content(".join-url") or ""
        assert target.endswith("/e/joinus/join"), "the QR code's URL is the join page"
        wall.close()
        context = browser.new_context(viewport=PHONE, has_touch=True, is_mobile=True)
        context.grant_permissions(["clipboard-read", "clipboard-write"], origin=server.base)
        page = context.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        page.goto(f"{server.base}/e/joinus/join")
        assert page.text_content("#hashtag") == "#joinus"
        assert page.evaluate("document.scrollingElement.scrollWidth") <= PHONE["width"]
        page.click("button.copy")
        assert page.evaluate("navigator.clipboard.readText()") == "#joinus"
        live = page.get_attribute("a.choice:has-text('Follow live')", "href")
        assert live == "/e/joinus/live"
        choice = page.locator("a.choice").first.bounding_box()
        assert choice and choice["height"] >= 44, "a thumb-sized target"
        page.click("a.choice:has-text('Post a photo')")
        page.set_input_files("#photo", str(photo))
        page.fill("#text", "Hello from row 12")
        page.fill("#name", "Rowan")
        page.click("button[type=submit]")
        assert "waiting for a moderator" in (page.text_content(".notice.thanks") or "")
        assert errors == []
        context.close()
