"""Browser side: the wall page under 10 posts/s keeps its JS heap and DOM node count flat.

A real headless Chromium (Playwright's sync API, Debian's /usr/bin/chromium) opens the wall
while the publisher sends 10 posts/s through the real ingest path. Every 10 s we force a
garbage collection (CDP HeapProfiler.collectGarbage) and read CDP Performance.getMetrics:
JSHeapUsedSize and Nodes. "Flat" compares the mean of the last third of the samples with
the first samples after the wall has filled (it holds at most 60 posts, full in 6 s).
"""

from __future__ import annotations

import asyncio
import os
import time
import uuid
from typing import Any

from bench import publisher
from bench.process import ServerProcess
from wall.store import Store

CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
ARGS = ["--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking"]
HEAP_GROWTH_LIMIT = 0.10  # 10 % above the settled heap
NODE_GROWTH_LIMIT = 0.10


def flat(samples: list[float], *, limit: float, skip: int = 1) -> tuple[bool, float]:
    """Whether the late samples stay within `limit` (fraction) of the early ones; the growth."""
    settled = samples[skip:] or samples
    if len(settled) < 2:
        return True, 0.0
    third = max(1, len(settled) // 3)
    early = sum(settled[:third]) / third
    late = sum(settled[-third:]) / third
    growth = (late - early) / early if early else 0.0
    return growth <= limit, growth


def _watch(url: str, seconds: float, every: float) -> list[dict[str, float]]:
    from playwright.sync_api import sync_playwright

    samples: list[dict[str, float]] = []
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
        page = browser.new_page(viewport={"width": 1920, "height": 1080})
        page.goto(url)
        cdp = page.context.new_cdp_session(page)
        cdp.send("Performance.enable")
        start = time.monotonic()
        while True:
            cdp.send("HeapProfiler.collectGarbage")
            metrics = {m["name"]: m["value"] for m in cdp.send("Performance.getMetrics")["metrics"]}
            posts = page.locator("#posts > *").count()
            samples.append(
                {
                    "t": round(time.monotonic() - start, 1),
                    "heap_mb": metrics["JSHeapUsedSize"] / 2**20,
                    "nodes": metrics["Nodes"],
                    "listeners": metrics.get("JSEventListeners", 0),
                    "posts": posts,
                }
            )
            if time.monotonic() - start >= seconds:
                break
            page.wait_for_timeout(every * 1000)
        browser.close()
    return samples


async def measure(store: Store, redis_url: str, seconds: float) -> dict[str, Any]:
    """Run the wall in Chromium for `seconds` at 10 posts/s; samples and whether both are flat."""
    if not os.access(CHROMIUM, os.X_OK):
        return {"summary": f"skipped: no Chromium at {CHROMIUM}", "flat": None, "samples": []}
    server = ServerProcess("eventwall", redis_url).start()
    run = uuid.uuid4().hex[:8]
    every = 10.0 if seconds >= 120 else 5.0
    try:
        feeding = asyncio.create_task(
            publisher.publish_at_rate(store, run, int(10 * (seconds + 30)), 10.0)
        )
        url = f"http://127.0.0.1:{server.port}/e/{publisher.SLUG}/wall"
        samples = await asyncio.to_thread(_watch, url, seconds, every)
        feeding.cancel()
    finally:
        server.stop()
    heap_ok, heap_growth = flat([s["heap_mb"] for s in samples], limit=HEAP_GROWTH_LIMIT)
    nodes_ok, nodes_growth = flat([s["nodes"] for s in samples], limit=NODE_GROWTH_LIMIT)
    last = samples[-1] if samples else {}
    summary = (
        f"{seconds:.0f} s at 10 posts/s, {len(samples)} samples: JS heap "
        f"{samples[1]['heap_mb'] if len(samples) > 1 else 0:.1f} → {last.get('heap_mb', 0):.1f} MB "
        f"({100 * heap_growth:+.1f} %), DOM nodes "
        f"{samples[1]['nodes'] if len(samples) > 1 else 0:.0f} → {last.get('nodes', 0):.0f} "
        f"({100 * nodes_growth:+.1f} %), posts on the wall {last.get('posts', 0)}"
    )
    return {"summary": summary, "flat": heap_ok and nodes_ok, "samples": samples}
