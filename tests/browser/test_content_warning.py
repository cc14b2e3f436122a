"""A content-warned post shows its warning and keeps its text behind it on every screen."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.helpers import deadline, eventwall, post_dict, write_jsonl
from tests.processes import WebServer

pytestmark = pytest.mark.browser
WAIT = deadline(20) * 1000


def test_warned_text_hidden_on_the_wall_and_behind_show_on_the_live_page(
    browser: Any, env: dict[str, str], tmp_path: Path
) -> None:
    """Wall: the warning, not the text. Live page: the text appears after "show" is pressed."""
    lines = [
        post_dict("cw1", "The ending of the film, in detail", content_warning="Spoilers"),
        post_dict("cw2", "Shown anyway", content_warning="Mild", warning_shown=True),
    ]
    made = eventwall("event", "create", "cw", "--title", "CW", "--moderation", "post", env=env)
    assert made.returncode == 0, made.stderr
    replayed = eventwall(
        "ingest", "replay", str(write_jsonl(tmp_path / "cw.jsonl", lines)), "--event", "cw", env=env
    )
    assert replayed.returncode == 0, replayed.stderr
    with WebServer(env) as server:
        context = browser.new_context(viewport={"width": 1280, "height": 800})
        page = context.new_page()
        page.goto(f"{server.base}/e/cw/wall")
        warned = page.locator("#post-test_cw1")
        warned.wait_for(state="attached", timeout=WAIT)
        assert warned.locator(".content-warning").is_visible()
        assert not warned.locator(".post-text").is_visible()
        assert page.locator("#post-test_cw2 .post-text").is_visible()

        page.goto(f"{server.base}/e/cw/live")
        warned = page.locator("#post-test_cw1")
        warned.wait_for(state="attached", timeout=WAIT)
        assert not warned.locator(".post-text").is_visible()
        warned.locator(".cw-show").click()
        assert warned.locator(".post-text").is_visible()
        assert "The ending of the film" in warned.locator(".post-text").inner_text()
        context.close()
