"""First login with a generated password, the change-password page, safe `next`."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from server.app import create_app
from server.auth import safe_next
from tests.server.moderation_helpers import login, run, seed
from usecases import Stores
from usecases.moderators import invite
from wall.accounts import Accounts
from wall.mod_store import ModerationStore
from wall.settings import Settings
from wall.store import Store


@pytest.fixture
def app(redis_url: str, tmp_path: Path) -> Iterator[Settings]:
    """Settings for the real app on the test Redis."""
    yield Settings(redis_url=redis_url, data_dir=tmp_path / "data", demo=False)


def _invite(redis_url: str, email: str) -> str:
    async def work(store: Store, accounts: Accounts, mod: ModerationStore) -> str:
        return (await invite(Stores.on(store.redis), email, event="testevent")).password

    return run(redis_url, work)


def _form_csrf(page: Any) -> str:
    match = re.search(r'name="csrf" value="([^"]+)"', page.text)
    assert match, page.text
    return match.group(1)


def test_generated_password_must_be_changed_at_first_login(app: Settings, redis_url: str) -> None:
    """A generated password leads to the change page; nothing else opens until it is changed."""
    seed(redis_url)
    initial = _invite(redis_url, "ada@example.org")
    with TestClient(create_app(app), base_url="http://testserver") as client:
        logged = login(client, "ada@example.org", initial)
        assert logged.status_code == 303
        assert logged.headers["location"].startswith("/account/password?next=")
        console = client.get("/e/testevent/moderate?tab=audit", follow_redirects=False)
        assert console.status_code == 303
        assert console.headers["location"] == (
            "/account/password?next=/e/testevent/moderate%3Ftab%3Daudit"
        )
        assert client.get("/e/testevent/moderate/counts").status_code == 403
        with client.websocket_connect("/e/testevent/moderate/ws") as ws:
            with pytest.raises(Exception) as closed:
                ws.receive_text()
        assert getattr(closed.value, "code", None) == 4401
        page = client.get(console.headers["location"])
        assert page.status_code == 200 and "Choose your password" in page.text
        form = {"csrf": _form_csrf(page), "current": initial, "new": "short", "again": "short"}
        refused = client.post(console.headers["location"], data=form, follow_redirects=False)
        assert refused.status_code == 400 and "at least 10" in refused.text
        form |= {"new": "a sound passphrase", "again": "a sound passphrase"}
        changed = client.post(console.headers["location"], data=form, follow_redirects=False)
        assert changed.status_code == 303
        assert changed.headers["location"] == "/e/testevent/moderate?tab=audit"
        assert client.get("/e/testevent/moderate?tab=audit").status_code == 200
    with TestClient(create_app(app), base_url="http://testserver") as again:
        assert login(again, "ada@example.org", initial).status_code == 401
        assert login(again, "ada@example.org", "a sound passphrase").headers["location"] == "/"


def test_password_change_logs_out_other_browsers(app: Settings, redis_url: str) -> None:
    """Changing one's password closes the other sessions; this browser stays logged in."""
    seed(redis_url, moderators={"mod@example.org": "testevent"})
    phone = TestClient(create_app(app), base_url="http://testserver")
    laptop = TestClient(create_app(app), base_url="http://testserver")
    with phone, laptop:
        assert login(phone, "mod@example.org").status_code == 303
        assert login(laptop, "mod@example.org").status_code == 303
        page = laptop.get("/account/password")
        form = {
            "csrf": _form_csrf(page),
            "current": "correct horse battery",
            "new": "another sound one",
            "again": "another sound one",
        }
        assert laptop.post("/account/password", data=form).status_code == 200
        assert laptop.get("/e/testevent/moderate").status_code == 200
        assert phone.get("/e/testevent/moderate", follow_redirects=False).status_code == 303


def test_logged_out_console_tab_survives_login(app: Settings, redis_url: str) -> None:
    """/e/x/moderate?tab=audit while logged out comes back to the audit tab after login."""
    seed(redis_url, moderators={"mod@example.org": "testevent"})
    with TestClient(create_app(app), base_url="http://testserver") as client:
        away = client.get("/e/testevent/moderate?tab=audit", follow_redirects=False)
        assert away.headers["location"] == "/login?next=/e/testevent/moderate%3Ftab%3Daudit"
        page = client.get(away.headers["location"])
        form = {
            "email": "mod@example.org",
            "password": "correct horse battery",
            "csrf": _form_csrf(page),
            "next": re.search(r'name="next" value="([^"]+)"', page.text).group(1),  # type: ignore[union-attr]
        }
        logged = client.post("/login", data=form, follow_redirects=False)
        assert logged.headers["location"] == "/e/testevent/moderate?tab=audit"


@pytest.mark.parametrize(
    ("given", "kept"),
    [
        ("/e/demo/moderate?tab=audit", "/e/demo/moderate?tab=audit"),
        ("//evil.example/x", "/"),
        ("/\\evil.example", "/"),
        ("https://evil.example/", "/"),
        ("javascript:alert(1)", "/"),
        ("/e/demo\r\nSet-Cookie: x=1", "/"),
        ("e/demo", "/"),
    ],
)
def test_next_is_a_same_site_path(given: str, kept: str) -> None:
    """After login only a relative path on this site is followed; anything else goes home."""
    assert safe_next(given) == kept
