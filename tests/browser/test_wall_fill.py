"""In a real browser: every layout fills every screen shape, and no post is cut off."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest

from tests.browser.wallkit import FILL, SETTLED, seed, wait_until
from tests.helpers import ROOT, deadline
from tests.processes import WebServer

pytestmark = pytest.mark.browser

SLUG = "filltest"
SHOTS = ROOT / "test-artifacts"
SHAPES = [(1920, 1080), (1280, 720), (1024, 768), (1080, 1920), (3840, 2160)]
# The least of the screen content must cover with 30 posts present. The ticker is a strip
# laid over slides, so its floor is the strip.
FLOOR = {"grid": 0.85, "mosaic": 0.85, "spotlight": 0.7, "ticker": 0.06}


@pytest.fixture(scope="module")
def fill_server(redis_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[WebServer]:
    """A real web server over an event with 30 posts of every kind."""
    tmp = tmp_path_factory.mktemp("fill")
    env = {"REDIS_URL": redis_url, "DATA_DIR": str(tmp / "data"), "DEMO": "false"}
    seed(env, tmp, SLUG, count=30)
    with WebServer(env) as server:
        yield server


@pytest.mark.parametrize("layout", list(FLOOR))
@pytest.mark.parametrize("shape", SHAPES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_layout_fills_the_screen(
    browser: Any, fill_server: WebServer, shape: tuple[int, int], layout: str
) -> None:
    """Fill: content covers the layout's floor of the viewport, and no post is clipped."""
    width, height = shape
    page = browser.new_page(viewport={"width": width, "height": height})
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.goto(f"{fill_server.base}/e/{SLUG}/wall?layout={layout}&idle=3600")
    if layout in ("spotlight", "ticker"):
        page.wait_for_selector("#posts > .is-spotlit", state="attached")
    wait_until(page, SETTLED, timeout=15, message="a still wall")
    m = page.evaluate(FILL)
    where = f"{layout} at {width}x{height}"
    print(f"{where}: {m['fill']:.1%} covered, {m['shown']} posts")
    SHOTS.mkdir(exist_ok=True)
    page.screenshot(path=str(SHOTS / f"fill-{layout}-{width}x{height}.png"))
    assert m["clipped"] == [], f"{where}: posts cut off: {m['clipped']}"
    assert m["fill"] >= FLOOR[layout], f"{where}: content covers only {m['fill']:.0%}"
    if layout == "grid":
        assert m["shown"] >= 6, f"{where}: only {m['shown']} posts shown of 30"
    assert errors == []
    page.close()


SPOTLIT_PHOTO = r"""
() => {
  // The spotlight cycles: measure only a loaded portrait photo, in one evaluation.
  const img = document.querySelector("#posts > .is-spotlit .photo img");
  if (!img || !img.complete || img.naturalHeight <= img.naturalWidth) return null;
  const post = img.closest("article");
  const r = img.getBoundingClientRect();
  const portrait = innerHeight > innerWidth;
  // The room the layout gives the photo: beside the words (landscape), above them (portrait).
  const words = [...post.children].filter(c => !c.classList.contains("photo"))
    .reduce((sum, c) => sum + c.getBoundingClientRect().height, 0);
  return {natural: img.naturalWidth / img.naturalHeight, shown: r.width / r.height,
          height: r.height, width: r.width,
          roomH: portrait ? post.clientHeight - words : post.clientHeight,
          roomW: portrait ? post.clientWidth : post.clientWidth * 0.6};
}
"""


@pytest.mark.parametrize("shape", [(1920, 1080), (1080, 1920)], ids=lambda s: f"{s[0]}x{s[1]}")
def test_spotlight_photo_at_its_own_aspect(
    browser: Any, fill_server: WebServer, shape: tuple[int, int]
) -> None:
    """Spotlight: a photo keeps its aspect and is as large as the room the layout gives it."""
    page = browser.new_page(viewport={"width": shape[0], "height": shape[1]})
    page.goto(f"{fill_server.base}/e/{SLUG}/wall?layout=spotlight&cycle=1")
    # The seeded portrait photos are 600x900. The same photo measured twice, 50 ms apart,
    # has finished any transition.
    end = time.monotonic() + deadline(20)
    m, last = None, None
    while m is None or m != last:
        if time.monotonic() > end:
            raise AssertionError(
                f"timed out waiting for a settled portrait photo in the spotlight: {m}"
            )
        last, m = m, page.evaluate(SPOTLIT_PHOTO)
        page.wait_for_timeout(50)
    assert abs(m["shown"] - m["natural"]) < 0.02 * m["natural"], m
    assert m["height"] >= 0.9 * m["roomH"] or m["width"] >= 0.95 * m["roomW"], m
    page.close()
