"""In a real browser: the wall page shows posts live as they are ingested."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.helpers import ROOT, deadline, eventwall, post_dict, write_jsonl
from tests.processes import WebServer

pytestmark = pytest.mark.browser


def test_post_appears_on_wall_live(browser: Any, env: dict[str, str], tmp_path: Path) -> None:
    """A post replayed after the wall page loaded appears on it without a reload."""
    # Post-moderated: this test is about live delivery, not the moderators' queue.
    created = eventwall(
        "event",
        "create",
        "--replace",
        "testevent",
        "--title",
        "Test",
        "--moderation",
        "post",
        env=env,
    )
    assert created.returncode == 0, created.stderr
    first = write_jsonl(tmp_path / "first.jsonl", [post_dict("first", "Hello from the train")])
    assert (
        eventwall("ingest", "replay", str(first), "--event", "testevent", env=env).returncode == 0
    )
    with WebServer(env) as server:
        page = browser.new_page(viewport={"width": 1920, "height": 1080})
        errors: list[str] = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
        page.goto(f"{server.base}/e/testevent/wall")
        page.wait_for_selector("#post-test_first")
        page.wait_for_selector(
            "body[data-connection=online]", state="attached", timeout=deadline(10) * 1000
        )
        later = write_jsonl(
            tmp_path / "later.jsonl", [post_dict("later", "Live from the venue <b>bold</b>")]
        )
        result = eventwall("ingest", "replay", str(later), "--event", "testevent", env=env)
        assert result.returncode == 0, result.stderr
        page.wait_for_selector("#post-test_later", timeout=deadline(5) * 1000)
        ids = page.eval_on_selector_all("#posts > article", "els => els.map(e => e.id)")
        assert ids[:2] == ["post-test_later", "post-test_first"]
        assert "<b>bold</b>" in page.inner_text("#post-test_later")  # escaped, not markup
        shots = ROOT / "test-artifacts"
        shots.mkdir(exist_ok=True)
        page.screenshot(path=str(shots / "wall-1920x1080.png"))
        assert errors == []
        page.close()
