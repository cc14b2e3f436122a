"""In a real browser without an emoji font: Eventwall serves one, so emoji are drawn, not boxes."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.browser.wallkit import seed, wait_until
from tests.processes import WebServer

pytestmark = pytest.mark.browser

# Draws a character in a font, black on white, and returns which pixels are inked.
DRAW = r"""
async ([family, text]) => {
  await document.fonts.load(`64px "${family}"`, text);
  const canvas = document.createElement("canvas");
  canvas.width = canvas.height = 96;
  const ctx = canvas.getContext("2d");
  ctx.fillStyle = "#fff";
  ctx.fillRect(0, 0, 96, 96);
  ctx.fillStyle = "#000";
  ctx.font = `64px "${family}", monospace`;
  ctx.textBaseline = "top";
  ctx.fillText(text, 8, 8);
  const data = ctx.getImageData(0, 0, 96, 96).data;
  const ink = [];
  for (let i = 0; i < data.length; i += 4) ink.push(data[i] < 128 ? 1 : 0);
  return ink;
}
"""

LOADED = r"""
() => [...document.fonts].filter(f => f.family.replace(/"/g, "") === "Eventwall Emoji"
  && f.status === "loaded").length
"""


def test_no_emoji_font_on_this_machine() -> None:
    """The premise: Chromium here has no emoji font of its own (a bare projector laptop)."""
    fonts = [p.name.lower() for p in Path("/usr/share/fonts").rglob("*") if p.is_file()]
    if any("emoji" in name for name in fonts):
        pytest.skip("this machine has an emoji font; the test would prove nothing")


def test_emoji_font_served_from_self(env: dict[str, str], tmp_path: Path, browser: Any) -> None:
    """🎉 is drawn from Eventwall's own emoji font (not a missing-glyph box), under font-src 'self'."""
    seed(env, tmp_path, "emoji")
    with WebServer(env) as server:
        css = httpx.get(f"{server.base}/static/vendor/emoji.css")
        assert css.status_code == 200 and "Eventwall Emoji" in css.text
        assert "http" not in css.text, "the font comes from this server, not a CDN"
        page = browser.new_page(viewport={"width": 1280, "height": 720})
        refused: list[str] = []
        page.on("console", lambda msg: refused.append(msg.text) if "Refused" in msg.text else None)
        page.goto(f"{server.base}/e/emoji/wall")
        page.wait_for_selector("body[data-wall-ready]", state="attached")
        served = page.evaluate(DRAW, ["Eventwall Emoji", "🎉"])
        bare = page.evaluate(DRAW, ["monospace", "🎉"])  # what this machine has: a box
        box = page.evaluate(DRAW, ["Eventwall Emoji", "\U0010fffd"])  # a glyph no font has
        assert sum(served) > 300, "🎉 has ink"
        differ = sum(a != b for a, b in zip(served, bare, strict=True))
        assert differ > 300, "🎉 is not the missing-glyph box the machine draws without the font"
        assert sum(a != b for a, b in zip(served, box, strict=True)) > 300
        # The emoji post on the wall pulled in the subset that holds 🍕.
        wait_until(page, f"({LOADED})() > 0", message="the emoji font loaded by the page")
        assert refused == []
        page.close()
