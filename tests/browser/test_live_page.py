"""In a real browser: the live page never moves under a reader who has scrolled down."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.helpers import ROOT, deadline, eventwall, post_dict, write_jsonl
from tests.processes import WebServer

pytestmark = pytest.mark.browser

WAIT = deadline(10) * 1000


def replay(env: dict[str, str], path: Path, ids: list[str], slug: str) -> None:
    items = [
        post_dict(i, f"Post {i} from the venue, with enough words to fill a card") for i in ids
    ]
    result = eventwall("ingest", "replay", str(write_jsonl(path, items)), "--event", slug, env=env)
    assert result.returncode == 0, result.stderr


def open_live(browser: Any, server: WebServer, errors: list[str], slug: str) -> Any:
    page = browser.new_page(viewport={"width": 800, "height": 600})
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    page.goto(f"{server.base}/e/{slug}/live")
    page.wait_for_selector("body[data-connection=online]", state="attached", timeout=WAIT)
    return page


def test_new_posts_wait_behind_a_button_when_scrolled_down(
    browser: Any, env: dict[str, str], tmp_path: Path
) -> None:
    """Scrolled down, new posts raise an "N new posts" button and the view stays put;
    the button brings them in at the top; at the top, new posts slide straight in."""
    slug = "scrolled"  # an event of its own: browser tests share the Redis unflushed
    replay(env, tmp_path / "first.jsonl", [f"old{i:02d}" for i in range(20)], slug)
    with WebServer(env) as server:
        errors: list[str] = []
        page = open_live(browser, server, errors, slug)
        page.evaluate("window.scrollTo(0, 1200)")
        page.wait_for_function("window.scrollY === 1200")
        anchor = "document.getElementById('post-test_old10').getBoundingClientRect().top"
        top_before = page.evaluate(anchor)

        replay(env, tmp_path / "later.jsonl", ["new1", "new2", "new3"], slug)
        button = page.locator("#new-posts")
        button.wait_for(state="visible", timeout=WAIT)
        expect(button).to_have_text("3 new posts", timeout=WAIT)
        assert page.evaluate("window.scrollY") == 1200
        assert page.evaluate(anchor) == top_before
        assert page.locator("#post-test_new3").is_hidden()
        shots = ROOT / "test-artifacts"
        shots.mkdir(exist_ok=True)
        page.screenshot(path=str(shots / "live-new-posts-800x600.png"))

        button.focus()
        page.keyboard.press("Enter")  # keyboard use, not only the mouse
        page.wait_for_function("window.scrollY === 0", timeout=WAIT)
        assert page.locator("#post-test_new3").is_visible()
        assert button.is_hidden()
        ids = page.eval_on_selector_all("#posts > article", "els => els.map(e => e.id)")
        assert ids[:4] == ["post-test_new3", "post-test_new2", "post-test_new1", "post-test_old19"]
        assert page.evaluate("document.activeElement.id") == "post-test_new3"

        replay(env, tmp_path / "top.jsonl", ["new4"], slug)
        page.wait_for_selector("#post-test_new4", state="visible", timeout=WAIT)
        assert button.is_hidden()
        assert errors == []
        page.close()


def test_load_older_appends_the_next_page_once(
    browser: Any, env: dict[str, str], tmp_path: Path
) -> None:
    """ "Load older" appends the page after the last post on screen, with no post twice,
    even when new posts arrived since the page was rendered."""
    env = {**env, "PAGE_SIZE": "8"}
    slug = "paging"
    replay(env, tmp_path / "first.jsonl", [f"old{i:02d}" for i in range(20)], slug)
    with WebServer(env) as server:
        errors: list[str] = []
        page = open_live(browser, server, errors, slug)
        replay(env, tmp_path / "later.jsonl", ["new1", "new2"], slug)
        page.wait_for_selector("#post-test_new2", state="attached", timeout=WAIT)
        articles = page.locator("#posts > article")
        for _ in range(5):
            if page.locator("#older-nav .older-end").count():
                break
            before = articles.count()
            page.locator("#load-older").press("Enter")  # a link, usable from the keyboard
            expect(articles).not_to_have_count(before, timeout=WAIT)
        ids = page.eval_on_selector_all("#posts > article", "els => els.map(e => e.id)")
        assert len(ids) == len(set(ids))
        olds = [i for i in ids if i.startswith("post-test_old")]
        assert olds == [f"post-test_old{i:02d}" for i in range(19, -1, -1)]
        assert page.locator("#older-nav .older-end").is_visible()
        assert errors == []
        page.close()


def test_gallery_lightbox_opens_steps_and_closes_from_the_keyboard(
    browser: Any, env: dict[str, str], tmp_path: Path
) -> None:
    """The gallery's photos open in a lightbox (Enter), step with arrow keys, close with
    Escape and give focus back to the photo they came from."""
    from PIL import Image

    media = Path(env["DATA_DIR"]) / "media"
    media.mkdir(parents=True)
    items = []
    for i, colour in enumerate(["red", "blue"]):
        Image.new("RGB", (320, 200), colour).save(media / f"{colour}.jpg")
        photo = {
            "url": f"/media/{colour}.jpg",
            "width": 320,
            "height": 200,
            "alt": f"A {colour} slide",
        }
        items.append(post_dict(f"photo{i}", f"Slide {i}", photos=[photo]))
    path = write_jsonl(tmp_path / "photos.jsonl", items)
    assert eventwall("ingest", "replay", str(path), "--event", "photos", env=env).returncode == 0
    with WebServer(env) as server:
        errors: list[str] = []
        page = browser.new_page(viewport={"width": 800, "height": 600})
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
        page.goto(f"{server.base}/e/photos/gallery")
        thumbs = page.locator("a.thumb")
        expect(thumbs).to_have_count(2)
        thumbs.nth(0).focus()
        page.keyboard.press("Enter")
        dialog = page.locator("#lightbox")
        expect(dialog).to_be_visible(timeout=WAIT)
        image = page.locator("#lightbox-img")
        expect(image).to_have_attribute("alt", "A blue slide")
        page.keyboard.press("ArrowRight")
        expect(image).to_have_attribute("alt", "A red slide")
        page.keyboard.press("Escape")
        expect(dialog).to_be_hidden(timeout=WAIT)
        assert page.evaluate("document.activeElement.className") == "thumb"
        assert errors == []
        page.close()
