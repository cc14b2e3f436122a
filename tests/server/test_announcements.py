"""Announcements: pushed to the wall's live channel with an expiry, withdrawn on demand."""

from __future__ import annotations

from pathlib import Path

from starlette.testclient import TestClient

from server.app import create_app
from tests.server.moderation_helpers import csrf_of, login, seed
from wall.settings import Settings


def test_announce_and_withdraw(redis_url: str, tmp_path: Path) -> None:
    """A moderator's announcement reaches wall sockets and the page; withdrawing hides it."""
    seed(redis_url, moderators={"mod@example.org": "testevent"})
    app = create_app(Settings(redis_url=redis_url, data_dir=tmp_path / "data", demo=False))
    with TestClient(app) as client:
        login(client, "mod@example.org")
        token = csrf_of(client)
        with client.websocket_connect("/e/testevent/ws") as wall:
            shown = client.post(
                "/e/testevent/moderate/announce",
                data={"text": "Talks resume at 8pm", "minutes": "10", "csrf": token},
                headers={"accept": "application/json"},
            )
            assert shown.status_code == 200
            message = wall.receive_text()
            assert 'id="announcement"' in message and "Talks resume at 8pm" in message
            assert "data-change-id=" in message and " hidden" not in message
            page = client.get("/e/testevent/wall").text
            assert "Talks resume at 8pm" in page
            client.post(
                "/e/testevent/moderate/announce",
                data={"withdraw": "1", "csrf": token},
                headers={"accept": "application/json"},
            )
            assert " hidden" in wall.receive_text()
        assert "Talks resume at 8pm" not in client.get("/e/testevent/wall").text
        forged = client.post("/e/testevent/moderate/announce", data={"text": "pwned"})
        assert forged.status_code == 403  # no CSRF token


def test_pin_puts_post_in_wall_spotlight(redis_url: str, tmp_path: Path) -> None:
    """Pinning a pending post approves it and puts it in the wall's spotlight; hiding clears both."""
    seed(redis_url, moderators={"mod@example.org": "testevent"}, pending=("1",))
    app = create_app(Settings(redis_url=redis_url, data_dir=tmp_path / "data", demo=False))
    json_only = {"accept": "application/json"}
    with TestClient(app) as client:
        login(client, "mod@example.org")
        token = csrf_of(client)
        with client.websocket_connect("/e/testevent/ws") as wall:
            pinned = client.post(
                "/e/testevent/moderate/decide",
                data={"post_id": "test:1", "action": "pin", "expected": "pending", "csrf": token},
                headers=json_only,
            )
            assert pinned.json()["ok"] is True
            assert 'id="post-test_1"' in wall.receive_text()  # shown on the wall
            spot = wall.receive_text()
            assert 'id="spotlight"' in spot and 'data-post-id="test:1"' in spot
            assert 'data-post-id="test:1"' in client.get("/e/testevent/wall").text
            client.post(
                "/e/testevent/moderate/decide",
                data={"post_id": "test:1", "action": "hide", "expected": "approved", "csrf": token},
                headers=json_only,
            )
            cleared = wall.receive_text()
            assert 'id="spotlight"' in cleared and "test:1" not in cleared
            assert 'hx-swap-oob="delete"' in wall.receive_text()
