"""Helpers for the wall's browser tests: a seeded event, and measurements taken in the page."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from PIL import Image

from tests.helpers import deadline, eventwall, post_dict, write_jsonl

LONG = (
    "The keynote just walked us through twelve years of packaging history, from eggs to wheels "
    "to lock files, and every slide got a laugh or a groan. "
) * 6
TEXTS = [
    ("long", LONG, True, True),
    ("emoji", "Pizza has landed 🍕🍕 and the stickers are gone in 30 seconds 🐍✨🎉", False, True),
    ("rtl", "שלום מהמפגש! مرحبا من اللقاء، القاعة ممتلئة الليلة", False, False),
    ("cjk", "会場は満員です。次の発表は型ヒントについて。大家好，欢迎来到聚会！", True, True),  # noqa: RUF001
    ("short", "Hi!", False, True),
    ("stage", "Lightning talks are starting on the main stage, come over", True, False),
    ("coffee", "Best coffee at a meetup so far, thank you sponsors", False, True),
    ("group", "Group photo time, everyone to the front", True, True),
]


def picture(path: Path, size: tuple[int, int], colour: str) -> None:
    """A small PNG drawn locally (tests never fetch anything)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", size, colour).save(path)


def seed(env: dict[str, str], tmp: Path, slug: str, *branding: str, count: int = 0) -> None:
    """Create an event and replay a mix of posts into it: photos or not, long, emoji, RTL, CJK;
    `count` posts in all (the mix repeated), else the mix once."""
    media = Path(env["DATA_DIR"]) / "media"
    picture(media / "photo-wide.png", (1200, 800), "#3a6ea5")
    picture(media / "photo-tall.png", (600, 900), "#a53a6e")
    picture(media / "avatar.png", (128, 128), "#e0a030")
    made = eventwall(
        "event",
        "create",
        "--replace",
        slug,
        "--title",
        "Wall Test Night",
        "--tag",
        slug,
        "--moderation",
        "post",
        *branding,
        env=env,
    )
    assert made.returncode == 0, made.stderr
    start = datetime.now(UTC) - timedelta(minutes=30)
    items = []
    for i in range(count or len(TEXTS)):
        native, text, photo, avatar = TEXTS[i % len(TEXTS)]
        if i >= len(TEXTS):
            native = f"{native}{i}"
        extra: dict[str, Any] = {
            "created_at": (start + timedelta(seconds=30 * i)).isoformat(),
            "author": {
                "handle": f"@{native}@example.org",
                "display_name": f"Attendee {native.title()}",
                "avatar_url": "/media/avatar.png" if avatar else "",
            },
        }
        if photo:
            name = "photo-tall.png" if i % 2 else "photo-wide.png"
            size = (600, 900) if i % 2 else (1200, 800)
            extra["photos"] = [
                {"url": f"/media/{name}", "width": size[0], "height": size[1], "alt": "a photo"}
            ]
        items.append(post_dict(native, text, **extra))
    replayed = eventwall(
        "ingest", "replay", str(write_jsonl(tmp / f"{slug}.jsonl", items)), "--event", slug, env=env
    )
    assert replayed.returncode == 0, replayed.stderr


# Measures the page as a projector shows it. Returns overflow facts, the visible posts'
# font sizes, and the contrast of every visible text against its effective background.
MEASURE = r"""
() => {
  const W = innerWidth, H = innerHeight;
  const rgb = s => (s.match(/[\d.]+/g) || []).map(Number);
  const lum = c => {
    const [r, g, b] = c.slice(0, 3).map(v => v / 255).map(v =>
      v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4));
    return 0.2126 * r + 0.7152 * g + 0.0722 * b;
  };
  const ratio = (a, b) => {
    const [x, y] = [lum(a), lum(b)].sort((p, q) => q - p);
    return (x + 0.05) / (y + 0.05);
  };
  const background = el => {
    for (let e = el; e; e = e.parentElement) {
      const c = rgb(getComputedStyle(e).backgroundColor);
      if (c.length === 3 || (c.length === 4 && c[3] > 0)) return c;
    }
    return null;
  };
  const visible = el => {
    const r = el.getBoundingClientRect();
    const s = getComputedStyle(el);
    return r.width > 0 && r.height > 0 && s.visibility !== "hidden" &&
      r.right > 0 && r.bottom > 0 && r.left < W && r.top < H;
  };
  const scrollers = [];
  for (const el of document.querySelectorAll("*")) {
    const s = getComputedStyle(el);
    const scrolls = v => v === "auto" || v === "scroll";
    if ((scrolls(s.overflowY) && el.scrollHeight > el.clientHeight) ||
        (scrolls(s.overflowX) && el.scrollWidth > el.clientWidth)) {
      scrollers.push(el.tagName + "#" + el.id + "." + el.className);
    }
  }
  const root = document.scrollingElement;
  const texts = [];
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  for (let n = walker.nextNode(); n; n = walker.nextNode()) {
    const el = n.parentElement;
    if (!n.textContent.trim() || !el || !visible(el)) continue;
    if (el.closest("svg, script, style, [hidden]")) continue;
    const bg = background(el);
    const fg = rgb(getComputedStyle(el).color);
    texts.push({
      text: n.textContent.trim().slice(0, 40), cls: el.className,
      ratio: bg ? ratio(fg, bg) : 0,
    });
  }
  const posts = [...document.querySelectorAll("#posts > article.post")].filter(visible).map(a => ({
    id: a.id,
    photo: a.classList.contains("has-photo"),
    photoLoaded: [...a.querySelectorAll(".photo img")].filter(visible)
      .every(i => i.complete && i.naturalWidth > 0),
    text: parseFloat(getComputedStyle(a.querySelector(".post-text")).fontSize),
    name: parseFloat(getComputedStyle(a.querySelector(".display-name")).fontSize),
  }));
  return {
    width: W, height: H,
    docOverflow: root.scrollWidth > W || root.scrollHeight > H,
    scrollers, texts, posts,
  };
}
"""


def wait_until(page: Any, expression: str, *, timeout: float = 5.0, message: str = "") -> None:
    """Poll a JS expression until it is truthy. Page-side polling (wait_for_function) would
    eval a string, which the wall's CSP forbids; CDP evaluation is not subject to it."""
    end = time.monotonic() + deadline(timeout)
    while not page.evaluate(expression):
        if time.monotonic() > end:
            raise AssertionError(f"timed out waiting for {message or expression}")
        page.wait_for_timeout(50)


# How much of the screen content covers (sampled every 8 px), and which posts are clipped:
# cut by the screen's or the stream's edge, or overflowing their own card.
FILL = r"""
() => {
  const W = innerWidth, H = innerHeight;
  const shown = el => {
    if (!el || el.closest("[hidden]")) return null;
    const s = getComputedStyle(el);
    if (s.display === "none" || s.visibility === "hidden" || +s.opacity === 0) return null;
    const r = el.getBoundingClientRect();
    return r.width > 0 && r.height > 0 ? r : null;
  };
  const posts = [...document.querySelectorAll("#posts > article.post, #spotlight article")]
    .filter(a => shown(a));
  const rects = [...posts, ...document.querySelectorAll(".wall-header, .join")]
    .map(shown).filter(Boolean);
  let hit = 0, total = 0;
  for (let y = 4; y < H; y += 8) {
    for (let x = 4; x < W; x += 8) {
      total++;
      if (rects.some(r => x >= r.left && x < r.right && y >= r.top && y < r.bottom)) hit++;
    }
  }
  const stream = document.getElementById("stream").getBoundingClientRect();
  const clipped = posts.map(a => {
    const r = a.getBoundingClientRect();
    const inside = a.closest("#posts") ? stream : {left: 0, top: 0, right: W, bottom: H};
    const id = a.id || a.dataset.postId;
    if (r.left < Math.max(0, inside.left) - 1 || r.top < Math.max(0, inside.top) - 1 ||
        r.right > Math.min(W, inside.right) + 1 || r.bottom > Math.min(H, inside.bottom) + 1) {
      return `${id} crosses the edge`;
    }
    if (a.scrollHeight > a.clientHeight + 1 || a.scrollWidth > a.clientWidth + 1) {
      return `${id} overflows its card`;
    }
    return "";
  }).filter(Boolean);
  return {fill: hit / total, shown: posts.length, clipped};
}
"""

SETTLED = (
    "!!document.body.dataset.wallReady && [...document.images].every(i => i.complete)"
    " && document.fonts.status === 'loaded' && !document.body.dataset.layoutPending"
    " && document.getAnimations().every(a => a.playState !== 'running')"
)
"""True once the wall is still: images in, no transition or fade running."""
