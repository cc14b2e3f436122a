"""In a real browser: the projector wall fits, reads and contrasts at every size, layout and theme."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import segno

from tests.browser.wallkit import MEASURE, seed, wait_until
from tests.helpers import ROOT, deadline
from tests.processes import WebServer

pytestmark = pytest.mark.browser

SLUG = "walltest"
SIZES = [(1280, 720), (1920, 1080), (3840, 2160)]
LAYOUTS = ["grid", "mosaic", "spotlight", "ticker"]
THEMES = ["dark", "light", "contrast"]
SHOTS = ROOT / "test-artifacts"
ACCENT = "#ff0066"


@pytest.fixture(scope="module")
def wall_server(redis_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[WebServer]:
    """A real web server over an event seeded with posts of every kind."""
    tmp = tmp_path_factory.mktemp("wall")
    env = {"REDIS_URL": redis_url, "DATA_DIR": str(tmp / "data"), "DEMO": "false"}
    seed(env, tmp, SLUG, "--accent", ACCENT, "--logo-url", "/media/avatar.png")
    with WebServer(env) as server:
        yield server


def _check(m: dict[str, Any], where: str) -> None:
    scale = m["width"] / 1920
    assert not m["docOverflow"], f"{where}: the page overflows the screen"
    assert m["scrollers"] == [], f"{where}: scrollbars on {m['scrollers']}"
    assert m["posts"], f"{where}: no post visible"
    for post in m["posts"]:
        assert post["text"] >= 28 * scale - 0.5, f"{where}: {post['id']} text {post['text']}px"
        assert post["name"] >= 24 * scale - 0.5, f"{where}: {post['id']} name {post['name']}px"
        assert post["photoLoaded"], f"{where}: {post['id']} shown before its photo loaded"
    low = [t for t in m["texts"] if t["ratio"] < 7]
    assert low == [], f"{where}: contrast below 7:1 for {low[:5]}"


@pytest.mark.parametrize("theme", THEMES)
@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_wall_legible_at_every_size(
    browser: Any, wall_server: WebServer, size: tuple[int, int], layout: str, theme: str
) -> None:
    """Legibility: no overflow or scrollbar, type at the minimums, contrast >= 7:1, photos or not."""
    width, height = size
    page = browser.new_page(viewport={"width": width, "height": height})
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.goto(f"{wall_server.base}/e/{SLUG}/wall?layout={layout}&theme={theme}&cycle=1")
    page.wait_for_selector("body[data-wall-ready]", state="attached")
    where = f"{layout}/{theme}/{width}x{height}"
    if layout in ("grid", "mosaic"):
        wait_until(
            page, "[...document.querySelectorAll('#posts .photo img')].every(i => i.complete)"
        )
        m = page.evaluate(MEASURE)
        _check(m, where)
        kinds = {p["photo"] for p in m["posts"]}
        assert kinds == {True, False}, f"{where}: posts with and without photos both show"
    else:
        for photo in (True, False):
            # One post at a time: wait until the cycle brings one of each kind.
            selector = ".is-spotlit.has-photo" if photo else ".is-spotlit:not(.has-photo)"
            page.wait_for_selector(f"#posts > {selector}", timeout=deadline(20) * 1000)
            m = page.evaluate(MEASURE)
            _check(m, f"{where}/{'photo' if photo else 'text'}")
            assert len(m["posts"]) == 1, f"{where}: one post at a time"
    if width == 1920:
        wait_until(
            page,
            "document.getAnimations()"
            ".every(a => a instanceof CSSTransition || a.playState !== 'running')",
        )
        SHOTS.mkdir(exist_ok=True)
        page.screenshot(path=str(SHOTS / f"wall-{layout}-{theme}.png"))
    assert errors == []
    page.close()


def test_wall_join_code_and_stats(wall_server: WebServer) -> None:
    """Join in: server-rendered QR SVG of the join page, short URL, prompt, stats; no inline script."""
    html = httpx.get(f"{wall_server.base}/e/{SLUG}/wall").text
    join = f"{wall_server.base}/e/{SLUG}/join"
    expected = segno.make(join, error="m", micro=False).svg_inline(scale=1, border=2)
    path = re.search(r'class="qrline"[^>]*\sd="([^"]+)"', expected)
    assert path and path.group(1) in html, "the QR code encodes the join page's URL"
    assert f"127.0.0.1:{wall_server.port}/<wbr>e/<wbr>{SLUG}/<wbr>join" in html, "breaks at slashes"
    assert f"Post with #{SLUG} or scan" in html
    assert re.search(r"<script(?![^>]*\ssrc=)", html) is None, "no inline script"
    assert 'data-posts="8" data-people="8" data-photos="4"' in html
    assert 'id="announcement"' in html and 'id="spotlight"' in html, "moderators' overlays"


def test_wall_url_overrides_fall_back(wall_server: WebServer) -> None:
    """?layout= and ?theme= override the event's choice; unknown values fall back to it."""
    chosen = httpx.get(f"{wall_server.base}/e/{SLUG}/wall?layout=ticker&theme=light").text
    assert 'class="wall layout-ticker theme-light"' in chosen
    typo = httpx.get(f"{wall_server.base}/e/{SLUG}/wall?layout=tickr&theme=neon").text
    assert 'class="wall layout-grid theme-dark"' in typo


def test_branding_and_burn_in_shift(browser: Any, wall_server: WebServer) -> None:
    """Branding: the event's accent colour and logo show; static parts carry a burn-in shift
    of whole pixels, within 0.35 % of the screen, set without a transition (nothing to paint
    between steps)."""
    page = browser.new_page(viewport={"width": 1920, "height": 1080})
    page.goto(f"{wall_server.base}/e/{SLUG}/wall")
    page.wait_for_selector("body[data-wall-ready]", state="attached")
    accent = page.evaluate("getComputedStyle(document.body).getPropertyValue('--accent').trim()")
    assert accent == ACCENT
    ring = page.eval_on_selector("#faces .face.new", "f => getComputedStyle(f).borderTopColor")
    assert ring == "rgb(255, 0, 102)"
    assert page.eval_on_selector(".wall-header .logo", "i => i.complete && i.naturalWidth") == 128
    for axis in "xy":
        shift = page.evaluate(f"document.body.style.getPropertyValue('--shift-{axis}')")
        assert shift.endswith("px") and abs(int(shift.removesuffix("px"))) <= 3, shift
    shift_x = int(page.evaluate("document.body.style.getPropertyValue('--shift-x')")[:-2])
    join = page.eval_on_selector(
        ".join",
        "e => ({t: new DOMMatrix(getComputedStyle(e).transform).e, d: getComputedStyle(e).transitionDuration})",
    )
    assert join == {"t": shift_x, "d": "0s"}
    page.close()


def test_rtl_and_emoji_posts_render(browser: Any, wall_server: WebServer) -> None:
    """Right-to-left text runs right to left; emoji and CJK text keep their characters."""
    page = browser.new_page(viewport={"width": 1920, "height": 1080})
    page.goto(f"{wall_server.base}/e/{SLUG}/wall")
    page.wait_for_selector("body[data-wall-ready]", state="attached")
    rtl = page.eval_on_selector("#post-test_rtl .post-text", "e => getComputedStyle(e).direction")
    assert rtl == "rtl"
    english = page.eval_on_selector(
        "#post-test_short .post-text", "e => getComputedStyle(e).direction"
    )
    assert english == "ltr"
    assert "🍕" in page.text_content("#post-test_emoji .post-text")
    assert "会場は満員です" in page.text_content("#post-test_cjk .post-text")
    page.close()


def test_grid_resurfaces_older_posts_when_quiet(browser: Any, wall_server: WebServer) -> None:
    """Never frozen: with no new post for `idle` seconds, the oldest post moves to the top."""
    page = browser.new_page(viewport={"width": 1920, "height": 1080})
    page.goto(f"{wall_server.base}/e/{SLUG}/wall?idle=1")
    page.wait_for_selector("body[data-wall-ready]", state="attached")
    oldest = page.eval_on_selector("#posts > article:last-child", "a => a.id")
    page.wait_for_selector(f"#posts > #{oldest}:first-child.resurfaced", timeout=deadline(5) * 1000)
    page.close()


def test_cursor_hides_and_f_toggles_fullscreen(browser: Any, wall_server: WebServer) -> None:
    """The cursor hides after inactivity and comes back on a move; `f` enters and leaves fullscreen."""
    page = browser.new_page(viewport={"width": 1280, "height": 720})
    page.goto(f"{wall_server.base}/e/{SLUG}/wall")
    page.wait_for_selector("body[data-wall-ready]", state="attached")
    page.mouse.move(200, 200)
    page.wait_for_selector("body.cursor-idle", state="attached", timeout=deadline(8) * 1000)
    assert page.evaluate("getComputedStyle(document.body).cursor") == "none"
    page.mouse.move(300, 300)
    assert "cursor-idle" not in (page.get_attribute("body", "class") or "")
    page.keyboard.press("f")
    wait_until(page, "document.fullscreenElement !== null", message="fullscreen")
    page.keyboard.press("f")
    wait_until(page, "document.fullscreenElement === null", message="leaving fullscreen")
    page.close()


def test_layout_screenshots_exist() -> None:
    """Every layout has its screenshots, landscape and portrait, in docs/screenshots and the
    guide to running an event."""
    guide = (ROOT / "docs" / "running-an-event.md").read_text()
    for layout in LAYOUTS:
        for name in (f"wall-{layout}.png", f"wall-{layout}-portrait.png"):
            assert (ROOT / "docs" / "screenshots" / name).is_file(), name
            assert f"screenshots/{name}" in guide, name


JOIN_LINES = r"""
() => {
  const el = document.querySelector(".join-url");
  const range = document.createRange();
  const lines = new Map();
  const walker = document.createTreeWalker(el, NodeFilter.SHOW_TEXT);
  for (let n = walker.nextNode(); n; n = walker.nextNode()) {
    for (let i = 0; i < n.length; i++) {
      range.setStart(n, i);
      range.setEnd(n, i + 1);
      const r = range.getBoundingClientRect();
      if (!r.width) continue;
      const top = Math.round(r.top);
      lines.set(top, (lines.get(top) || "") + n.data[i]);
    }
  }
  return [...lines.keys()].sort((a, b) => a - b).map(k => lines.get(k));
}
"""


@pytest.mark.parametrize("size", [(1024, 768), (1280, 720), (1080, 1920)], ids=str)
def test_join_url_breaks_only_at_slashes(
    browser: Any, wall_server: WebServer, size: tuple[int, int]
) -> None:
    """The join URL wraps only after a slash, never inside a word."""
    page = browser.new_page(viewport={"width": size[0], "height": size[1]})
    page.goto(f"{wall_server.base}/e/{SLUG}/wall")
    page.wait_for_selector("body[data-wall-ready]", state="attached")
    lines = page.evaluate(JOIN_LINES)
    assert "".join(lines) == f"127.0.0.1:{wall_server.port}/e/{SLUG}/join"
    assert all(line.endswith("/") for line in lines[:-1]), lines
    page.close()
