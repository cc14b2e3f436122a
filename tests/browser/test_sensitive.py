"""Photos marked sensitive are blurred on the wall and the live page unless the event allows them."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from tests.helpers import deadline, eventwall, post_dict, write_jsonl
from tests.processes import WebServer

pytestmark = pytest.mark.browser
WAIT = deadline(20) * 1000


def test_sensitive_photos_blurred_unless_the_event_allows_them(
    browser: Any, env: dict[str, str], tmp_path: Path
) -> None:
    """Blurred on the wall and live page by default; shown as they are with --show-sensitive."""
    media = Path(env["DATA_DIR"]) / "media"
    media.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", (40, 30), (200, 30, 30)).save(media / "room.jpg")
    photo = {"url": "/media/room.jpg", "width": 40, "height": 30, "alt": "The room"}
    lines = [post_dict("s1", "Careful", sensitive=True, photos=[photo])]
    for slug, flags in (("blurred", []), ("shown", ["--show-sensitive"])):
        made = eventwall(
            "event",
            "create",
            "--replace",
            slug,
            "--title",
            slug,
            "--moderation",
            "post",
            *flags,
            env=env,
        )
        assert made.returncode == 0, made.stderr
        replayed = eventwall(
            "ingest",
            "replay",
            str(write_jsonl(tmp_path / f"{slug}.jsonl", lines)),
            "--event",
            slug,
            env=env,
        )
        assert replayed.returncode == 0, replayed.stderr
    with WebServer(env) as server:
        context = browser.new_context(viewport={"width": 1280, "height": 800})
        page = context.new_page()
        for slug, blurred in (("blurred", True), ("shown", False)):
            for screen in ("wall", "live"):
                page.goto(f"{server.base}/e/{slug}/{screen}")
                image = page.locator("#post-test_s1 .photo img")
                image.wait_for(state="attached", timeout=WAIT)
                css_filter = image.evaluate("img => getComputedStyle(img).filter")
                assert ("blur" in css_filter) is blurred, (slug, screen, css_filter)
        context.close()
