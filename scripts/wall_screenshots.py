"""Regenerate docs/screenshots/: the demo wall in each layout at 1920x1080 and 1080x1920, and
the join page on a phone, as small PNGs. Besides the demo's evening it posts a few more of the
kinds a real wall gets: right-to-left and CJK text, emoji, a long post, a short one.

Run from the repository root: `python scripts/wall_screenshots.py` (needs Chromium).
"""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from PIL import Image
from playwright.sync_api import Page, sync_playwright

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "docs" / "screenshots"
CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
ARGS = ["--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking"]
LANDSCAPE, PORTRAIT, PHONE = (1920, 1080), (1080, 1920), (390, 844)
SHOTS = {
    "wall-grid": ("layout=grid", LANDSCAPE),
    "wall-mosaic": ("layout=mosaic", LANDSCAPE),
    "wall-spotlight": ("layout=spotlight&cycle=4", LANDSCAPE),
    "wall-ticker": ("layout=ticker&cycle=4", LANDSCAPE),
    "wall-grid-portrait": ("layout=grid", PORTRAIT),
    "wall-mosaic-portrait": ("layout=mosaic", PORTRAIT),
    "wall-spotlight-portrait": ("layout=spotlight&cycle=4", PORTRAIT),
    "wall-ticker-portrait": ("layout=ticker&cycle=4", PORTRAIT),
    "wall-grid-light": ("layout=grid&theme=light", LANDSCAPE),
    "wall-mosaic-contrast": ("layout=mosaic&theme=contrast", LANDSCAPE),
}
# (handle, name, text, demo scene for a photo or None)
EXTRA = [
    (
        "nour",
        "Nour Haddad",
        "الليلة رائعة! شكراً للمنظمين على البيتزا والحديث عن المولدات 🍕",
        "coffee",
    ),
    ("yael", "Yael Cohen", "ערב מדהים, מחכה כבר למפגש הבא! 🎉", None),
    (
        "mei",
        "Mei Tanaka",
        "初めての参加です。非同期ジェネレーターの話がとても分かりやすかった！🐍",  # noqa: RUF001
        None,
    ),
    ("omar", "Omar Diallo", "🎉🎉🎉", None),
    (
        "sofia",
        "Sofia Rossi",
        "Long post incoming: the talk on async generators finally made aclosing() click for me. "
        "We have been leaking connections in a worker for months because a consumer broke out "
        "of an async for early, and nobody knew where the cleanup went. Tomorrow I fix it. "
        "Thank you Chen, and thank you to whoever brought the good coffee ☕",
        None,
    ),
    (
        "kai",
        "Kai Müller",
        "The plant corner by the window is the best seat in the house 🌱",
        "plants",
    ),
]


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


def post_more(env: dict[str, str], folder: Path) -> None:
    """Replay the extra posts into the running demo (newest first on the wall)."""
    from ingest.sources.demo_media import ensure_scene

    lines = []
    for i, (handle, name, text, scene) in enumerate(EXTRA):
        photos = []
        if scene:
            path, width, height = ensure_scene(Path(env["DATA_DIR"]) / "media", scene)
            photos = [{"url": f"/media/{path}", "width": width, "height": height, "alt": scene}]
        lines.append(
            json.dumps(
                {
                    "source": "demo",
                    "native_id": f"screenshot-{i}",
                    "author": {"handle": f"@{handle}@pyvalley.example", "display_name": name},
                    "text": f"{text} #pyvalley",
                    "created_at": datetime.now(UTC).isoformat(),
                    "hashtags": ["pyvalley"],
                    "photos": photos,
                }
            )
        )
    extra = folder / "extra.jsonl"
    extra.write_text("\n".join(lines) + "\n")
    subprocess.run(
        [sys.executable, "-m", "server.cli", "ingest", "replay", str(extra), "--event", "demo"],
        cwd=ROOT,
        env=env,
        check=True,
        capture_output=True,
    )


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
                browser = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
                page = browser.new_page(viewport={"width": 1920, "height": 1080})
                page.goto(base)
                # The whole demo corpus (60 posts) in, so the wall is still while it is shot.
                settle(page, "+document.getElementById('stats').dataset.posts >= 60")
                post_more(env, Path(data))
                settle(page, "+document.getElementById('stats').dataset.posts >= 66")
                OUT.mkdir(parents=True, exist_ok=True)
                for name, (query, size) in SHOTS.items():
                    page.set_viewport_size({"width": size[0], "height": size[1]})
                    page.goto(f"{base}?{query}&idle=3600")
                    settle(page, "!!document.body.dataset.wallReady")
                    ready = (
                        "[...document.images].every(i => i.complete) && document.getAnimations()"
                        ".every(a => a.effect?.target?.classList.contains('burn-shift')"
                        " || a.playState !== 'running')"
                    )
                    if "spotlight" in query or "ticker" in query:
                        ready += " && !!document.querySelector('#posts > .is-spotlit.has-photo')"
                    settle(page, ready)
                    shot = OUT / f"{name}.png"
                    page.screenshot(path=str(shot))
                    Image.open(shot).convert("RGB").quantize(128).save(shot, optimize=True)
                    print(f"{shot.relative_to(ROOT)}: {shot.stat().st_size // 1024} KiB")
                page.set_viewport_size({"width": PHONE[0], "height": PHONE[1]})
                page.goto(base.replace("/wall", "/join"))
                shot = OUT / "join-phone.png"
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
