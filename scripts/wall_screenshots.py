"""Regenerate docs/screenshots/: the demo wall in each layout at 1920x1080, as small PNGs.

Run from the repository root: `python scripts/wall_screenshots.py` (needs Chromium).
"""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from PIL import Image
from playwright.sync_api import Page, sync_playwright

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "docs" / "screenshots"
CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
SHOTS = {
    "wall-grid": "layout=grid",
    "wall-spotlight": "layout=spotlight&cycle=4",
    "wall-ticker": "layout=ticker&cycle=4",
    "wall-grid-light": "layout=grid&theme=light",
    "wall-spotlight-contrast": "layout=spotlight&theme=contrast&cycle=4",
}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def settle(page: Page, expression: str, timeout: float = 30) -> None:
    end = time.monotonic() + timeout
    while not page.evaluate(expression):
        if time.monotonic() > end:
            raise SystemExit(f"timed out waiting for {expression}")
        page.wait_for_timeout(100)


def main() -> int:
    port = free_port()
    with tempfile.TemporaryDirectory() as data:
        env = {
            **os.environ,
            "DATA_DIR": data,
            "DEMO": "true",
            "DEMO_RATE": "10",
            "DEMO_LOOP": "false",
            "PORT": str(port),
        }
        env.pop("REDIS_URL", None)
        server = subprocess.Popen(
            [sys.executable, "-m", "server.cli", "run"],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        try:
            assert server.stdout
            for line in server.stdout:
                if re.search(r"Uvicorn running", line):
                    break
            base = f"http://127.0.0.1:{port}/e/demo/wall"
            with sync_playwright() as pw:
                browser = pw.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
                page = browser.new_page(viewport={"width": 1920, "height": 1080})
                page.goto(base)
                # The whole demo corpus (60 posts) in, so the wall is still while it is shot.
                settle(page, "+document.getElementById('stats').dataset.posts >= 60")
                OUT.mkdir(parents=True, exist_ok=True)
                for name, query in SHOTS.items():
                    page.goto(f"{base}?{query}&idle=3600")
                    settle(page, "!!document.body.dataset.wallReady")
                    ready = (
                        "[...document.images].every(i => i.complete) && document.getAnimations()"
                        ".every(a => a instanceof CSSTransition || a.playState !== 'running')"
                    )
                    if "spotlight" in query or "ticker" in query:
                        ready += " && !!document.querySelector('#posts > .is-spotlit.has-photo')"
                    settle(page, ready)
                    shot = OUT / f"{name}.png"
                    page.screenshot(path=str(shot))
                    Image.open(shot).convert("RGB").quantize(128).save(shot, optimize=True)
                    print(f"{shot.relative_to(ROOT)}: {shot.stat().st_size // 1024} KiB")
                browser.close()
        finally:
            server.terminate()
            server.wait(20)
            if server.stdout:
                server.stdout.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
