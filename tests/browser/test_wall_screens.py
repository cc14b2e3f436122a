"""In real browsers: a moderator on a phone steers named screens, and every wall on a screen
follows without a reload; the console counts the walls on each screen."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.browser.wallkit import seed, wait_until
from tests.helpers import ROOT, eventwall
from tests.processes import WebServer

pytestmark = pytest.mark.browser
PHONE = {"width": 390, "height": 844}
PASSWORD = "a long enough stage password"


def test_moderator_steers_a_screen_live(browser: Any, env: dict[str, str], tmp_path: Path) -> None:
    """Screens: holding slide and back, layout and theme switched live on `stage` walls only."""
    seed(env, tmp_path, "screens")
    added = eventwall(
        "moderator",
        "add",
        "mod@example.org",
        "--event",
        "screens",
        "--password-stdin",
        env=env,
        stdin=f"{PASSWORD}\n",
    )
    assert added.returncode == 0, added.stderr
    with WebServer(env) as server:
        walls = []
        for screen in ("stage", "stage", "main"):
            page = browser.new_page(viewport={"width": 1280, "height": 720})
            page.goto(f"{server.base}/e/screens/wall?screen={screen}")
            page.wait_for_selector("body[data-connection=online]", state="attached")
            page.evaluate("window.sameDocument = true")  # gone if the page reloads
            walls.append(page)
        stage, main = walls[:2], walls[2]

        phone_context = browser.new_context(viewport=PHONE, has_touch=True, is_mobile=True)
        phone = phone_context.new_page()
        phone.goto(f"{server.base}/e/screens/moderate")
        phone.fill("input[name=email]", "mod@example.org")
        phone.fill("input[name=password]", PASSWORD)
        phone.click("button[type=submit]")
        phone.wait_for_url(re.compile(r"/e/screens/moderate$"))
        phone.wait_for_selector("#screens-panel .screens-form")
        wait_until(
            phone,
            "document.querySelector('#screens-panel [data-screen=stage] .walls')?.textContent === '2'"
            " && document.querySelector('#screens-panel [data-screen=main] .walls')?.textContent"
            " === '1'",
            timeout=15,
            message="the console counting 2 walls on stage and 1 on main",
        )

        form = "#screens-panel .screens-form"
        phone.fill(f"{form} input[name=screen]", "stage")
        phone.fill(f"{form} input[name=holding]", "Back at 20:15")
        # The console reloads itself after each decision: wait for that, not for a time.
        with phone.expect_navigation():
            phone.click(f"{form} button[name=hold]")
        for wall in stage:
            wait_until(wall, "!document.getElementById('holding').hidden", message="holding slide")
            assert wall.text_content("#holding-text") == "Back at 20:15"
        assert main.evaluate("document.getElementById('holding').hidden"), "main is not stage"
        phone.screenshot(path=str(ROOT / "test-artifacts" / "screens-console-390x844.png"))

        # What a wall asks for on every (re)connect: the scene as it is now.
        now = httpx.get(f"{server.base}/e/screens/screens/stage").json()
        assert now["holding"] == "Back at 20:15" and now["screen"] == "stage"
        assert httpx.get(f"{server.base}/e/screens/screens/main").json()["holding"] == ""
        # A wall that opens (or reconnects) now shows the current scene.
        late = browser.new_page(viewport={"width": 1280, "height": 720})
        late.goto(f"{server.base}/e/screens/wall?screen=stage")
        assert not late.evaluate("document.getElementById('holding').hidden")
        late.close()

        phone.wait_for_selector(f"{form} select[name=layout]")
        phone.fill(f"{form} input[name=screen]", "stage")
        phone.select_option(f"{form} select[name=layout]", "spotlight")
        phone.select_option(f"{form} select[name=theme]", "light")
        phone.fill(f"{form} input[name=cycle]", "3")
        phone.click(f"{form} button[type=submit]:not([name])")
        for wall in stage:
            wait_until(
                wall,
                "document.getElementById('holding').hidden"
                " && document.body.classList.contains('layout-spotlight')"
                " && document.body.classList.contains('theme-light')"
                " && !!document.querySelector('#posts > .is-spotlit')",
                message="back to the wall, in the spotlight layout and light theme",
            )
            assert wall.evaluate("document.body.dataset.cycle") == "3"
            assert wall.evaluate("window.sameDocument === true"), "followed without a reload"
        assert main.evaluate("document.body.className").startswith("wall layout-grid theme-dark")
        wall_shot = ROOT / "test-artifacts" / "screens-stage-spotlight.png"
        stage[0].screenshot(path=str(wall_shot))
        for page in walls:
            page.close()
        phone_context.close()
