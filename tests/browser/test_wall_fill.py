"""In a real browser: every layout fills every screen shape, and no post is cut off."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.browser.wallkit import FILL, SETTLED, seed, wait_until
from tests.helpers import WebServer

pytestmark = pytest.mark.browser

SLUG = "filltest"
SHAPES = [(1920, 1080), (1280, 720), (1024, 768), (1080, 1920), (3840, 2160)]
# The least of the screen content must cover with 30 posts present. The ticker is a strip
# laid over slides, so its floor is the strip.
FLOOR = {"grid": 0.85, "spotlight": 0.7, "ticker": 0.06}


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
    assert m["clipped"] == [], f"{where}: posts cut off: {m['clipped']}"
    assert m["fill"] >= FLOOR[layout], f"{where}: content covers only {m['fill']:.0%}"
    if layout == "grid":
        assert m["shown"] >= 6, f"{where}: only {m['shown']} posts shown of 30"
    assert errors == []
    page.close()
