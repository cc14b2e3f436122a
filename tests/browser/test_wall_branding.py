"""Remote branding through the photo pipeline: a logo and sponsor logos are fetched once,
stored under /media and shown under img-src 'self'; the sponsor strip rotates."""

from __future__ import annotations

import io
import threading
from collections import Counter
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest
from PIL import Image

from tests.browser.wallkit import seed, wait_until
from tests.helpers import eventwall
from tests.processes import WebServer

pytestmark = pytest.mark.browser


def _png(colour: str, size: tuple[int, int] = (240, 80)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, colour).save(out, "PNG")
    return out.getvalue()


FILES = {
    "/logo.png": _png("#e63946"),
    "/acme.png": _png("#2a9d8f"),
    "/globex.png": _png("#f4a261"),
    "/not-an-image.png": b"<html>surprise</html>",
}


@pytest.fixture
def logo_server() -> Iterator[tuple[str, Counter[str]]]:
    """A real HTTP server on loopback serving logos, counting the requests for each."""
    hits: Counter[str] = Counter()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            hits[self.path] += 1
            body = FILES.get(self.path)
            self.send_response(200 if body else 404)
            self.send_header("content-type", "image/png")
            self.send_header("content-length", str(len(body or b"")))
            self.end_headers()
            self.wfile.write(body or b"")

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", hits
    server.shutdown()
    server.server_close()


def test_remote_logo_and_sponsors_stored_locally(
    browser: Any, env: dict[str, str], tmp_path: Path, logo_server: tuple[str, Counter[str]]
) -> None:
    """--logo-url and --sponsor URLs: fetched once, stored in /media, shown, the strip rotates."""
    base, hits = logo_server
    env = {**env, "FETCH_ALLOW_LOOPBACK": "true"}  # only this loopback server is ever named
    seed(env, tmp_path, "brand")
    updated = eventwall(
        "event",
        "update",
        "brand",
        "--logo-url",
        f"{base}/logo.png",
        "--sponsor",
        f"{base}/acme.png",
        "--sponsor",
        f"{base}/globex.png",
        env=env,
    )
    assert updated.returncode == 0, updated.stderr
    assert hits == {"/logo.png": 1, "/acme.png": 1, "/globex.png": 1}, "each fetched once"
    with WebServer(env) as server:
        html = httpx.get(f"{server.base}/e/brand/wall").text
        assert base not in html, "no remote URL reaches the page"
        page = browser.new_page(viewport={"width": 1920, "height": 1080})
        refused: list[str] = []
        page.on("console", lambda msg: refused.append(msg.text) if "Refused" in msg.text else None)
        page.goto(f"{server.base}/e/brand/wall")
        page.wait_for_selector("body[data-wall-ready]", state="attached")
        logo = page.eval_on_selector(".wall-header .logo", "i => [i.src, i.naturalWidth]")
        assert "/media/" in logo[0] and logo[1] > 0, "the logo is ours and it loaded"
        sponsors = page.eval_on_selector_all(
            "#sponsors .sponsor", "l => l.map(i => [new URL(i.src).pathname, i.naturalWidth])"
        )
        assert len(sponsors) == 2 and all(p.startswith("/media/") and w for p, w in sponsors)
        first = page.eval_on_selector("#sponsors .on", "i => i.src")
        wait_until(
            page,
            f"document.querySelector('#sponsors .on').src !== {first!r}",
            timeout=15,
            message="the strip moved on to the next sponsor",
        )
        assert refused == []
        page.close()
    assert sum(hits.values()) == 3, "the wall never fetched them again"


def test_logo_that_is_not_an_image_is_refused(
    env: dict[str, str], tmp_path: Path, logo_server: tuple[str, Counter[str]]
) -> None:
    """A logo URL that serves no image: one clear line, exit 2, the event left as it was."""
    base, _ = logo_server
    env = {**env, "FETCH_ALLOW_LOOPBACK": "true"}
    seed(env, tmp_path, "badlogo")
    bad = eventwall("event", "update", "badlogo", "--logo-url", f"{base}/not-an-image.png", env=env)
    assert bad.returncode == 2
    errors = [line for line in bad.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and errors[0].startswith("error: logo http://127.0.0.1:")
    assert "Traceback" not in bad.stderr
    missing = eventwall("event", "update", "badlogo", "--sponsor", f"{base}/gone.png", env=env)
    assert missing.returncode == 2 and "HTTP 404" in missing.stderr
