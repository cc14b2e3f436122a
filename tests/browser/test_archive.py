"""In a real browser: the static archive opens from file:// with every post and photo and
not one network request."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from tests.helpers import eventwall, post_dict, write_jsonl

pytestmark = pytest.mark.browser


def _jpeg(path: Path, colour: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    out = io.BytesIO()
    Image.new("RGB", (64, 48), colour).save(out, "JPEG")
    path.write_bytes(out.getvalue())


def test_archive_opens_offline_with_every_post_and_photo(
    browser: Any, env: dict[str, str], tmp_path: Path
) -> None:
    """Every approved post and every local photo (and avatar) shows from file://; remote
    images are left out; every request the page makes is a file: URL."""
    slug = "archived"  # an event of its own: browser tests share the Redis unflushed
    media = Path(env["DATA_DIR"]) / "media"
    for name, colour in (("aa/one", "red"), ("aa/one-t", "red"), ("bb/two", "blue")):
        _jpeg(media / "p" / f"{name}.jpg", colour)
    _jpeg(media / "avatars" / "ada.jpg", "green")
    posts = [
        post_dict(
            f"post{i}",
            f"Post number {i} from the night #testevent",
            created_at=f"2026-11-2{i % 4}T19:{i:02d}:00+01:00",
            # One handle each: the flood rule would hold a sixth post a minute from one author.
            author={"handle": f"@p{i}@example.org", "avatar_url": "/media/avatars/ada.jpg"},
        )
        for i in range(8)
    ]
    posts[1]["photos"] = [{"url": "/media/p/aa/one.jpg", "thumb_url": "/media/p/aa/one-t.jpg"}]
    posts[2]["photos"] = [{"url": "/media/p/bb/two.jpg", "alt": "The blue room"}]
    posts[3]["author"] = {"handle": "@far@example.org", "avatar_url": "https://cdn.example/a.png"}
    posts[3]["photos"] = [{"url": "/media/p/aa/one.jpg"}, {"url": "https://cdn.example/x.jpg"}]
    source = write_jsonl(tmp_path / "posts.jsonl", posts)
    assert eventwall("ingest", "replay", str(source), "--event", slug, env=env).returncode == 0
    update = eventwall(
        "event", "update", slug, "--starts-at", "2026-11-23T19:00+01:00",
        "--ends-at", "2026-11-23T22:00+01:00", "--timezone", "Europe/Paris", env=env,
    )  # fmt: skip
    assert update.returncode == 0, update.stderr
    folder = tmp_path / "archive"
    result = eventwall("export", slug, "--format", "html", "--out", str(folder), env=env)
    assert result.returncode == 0, result.stderr
    assert (folder / "media" / "p" / "bb" / "two.jpg").is_file()

    page = browser.new_page(viewport={"width": 1000, "height": 800})
    requests: list[str] = []
    page.on("request", lambda request: requests.append(request.url))
    page.goto((folder / "index.html").as_uri(), wait_until="load")
    ids = page.eval_on_selector_all("#posts article", "els => els.map(e => e.id)")
    assert sorted(ids) == sorted(f"post-test_post{i}" for i in range(8))
    failed = page.evaluate(
        """async () => {
            const bad = [];
            for (const img of document.images) {
                img.scrollIntoView();
                try { await img.decode(); } catch (e) { bad.push(img.getAttribute('src')); }
                if (!img.naturalWidth) bad.push(img.getAttribute('src'));
            }
            return bad;
        }"""
    )
    assert failed == []
    sources = page.eval_on_selector_all("#posts img", "els => els.map(e => e.getAttribute('src'))")
    # Post images: 7 local avatars, 3 local photos; the remote avatar and photo left out.
    assert sorted(sources) == sorted(
        ["media/avatars/ada.jpg"] * 7
        + ["media/p/aa/one.jpg", "media/p/bb/two.jpg", "media/p/aa/one.jpg"]
    )
    assert page.locator("svg.chart[role=img]").count() >= 1
    assert page.locator("table.chart-data").count() >= 1
    assert page.locator("#recap-photos img").count() == 3
    assert page.evaluate("getComputedStyle(document.body).backgroundColor") != "rgba(0, 0, 0, 0)"
    assert requests, "the page made no request at all: the recorder is not working"
    assert all(url.startswith("file:") for url in requests), requests
    assert any(url.endswith("style.css") for url in requests)
    page.close()
