"""The moderators' websocket checks the whole origin: scheme, host and port."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from server.app import create_app
from server.auth import origin_key
from tests.helpers import post_dict
from tests.server.moderation_helpers import login, run, seed
from wall.accounts import Accounts
from wall.mod_store import ModerationStore
from wall.models import Post
from wall.moderation import State
from wall.settings import Settings
from wall.store import Store


@pytest.fixture
def app(redis_url: str, tmp_path: Path) -> Iterator[Settings]:
    """Settings for the real app on the test Redis."""
    yield Settings(redis_url=redis_url, data_dir=tmp_path / "data", demo=False)


async def _new_pending_post(store: Store, accounts: Accounts, mod: ModerationStore) -> None:
    await store.ingest("testevent", Post.from_dict(post_dict("fresh")), State.PENDING)


@pytest.mark.parametrize(
    "origin",
    [
        "evil://testserver",
        "https://testserver",  # served over http: another origin
        "http://testserver:8080",
        "http://testserver.evil.example",
        "http://evil.example#testserver",
        "http://user@testserver",
        "null",
        "",
    ],
)
def test_console_socket_refuses_any_other_origin(
    app: Settings, redis_url: str, origin: str
) -> None:
    """A logged-in moderator's cookie used from a page of another origin: closed with 4401."""
    seed(redis_url, moderators={"mod@example.org": "testevent"})
    with TestClient(create_app(app), base_url="http://testserver") as client:
        login(client, "mod@example.org")
        headers = {"origin": origin}
        with client.websocket_connect("/e/testevent/moderate/ws", headers=headers) as ws:
            with pytest.raises(Exception) as closed:
                ws.receive_text()
        assert getattr(closed.value, "code", None) == 4401


@pytest.mark.parametrize(
    "origin", ["http://testserver", "http://TestServer:80", "http://testserver/"]
)
def test_console_socket_accepts_its_own_origin(app: Settings, redis_url: str, origin: str) -> None:
    """Our own page's origin, in any spelling of it, is accepted."""
    seed(redis_url, moderators={"mod@example.org": "testevent"})
    with TestClient(create_app(app), base_url="http://testserver") as client:
        login(client, "mod@example.org")
        with client.websocket_connect("/e/testevent/moderate/ws", headers={"origin": origin}) as ws:
            run(redis_url, _new_pending_post)
            assert "test:fresh" in ws.receive_text()  # open: the new post arrives


def test_origin_key_reads_only_http_origins() -> None:
    """Default ports are filled in; other schemes and malformed values are not origins."""
    assert origin_key("https://wall.example") == ("https", "wall.example", 443)
    assert origin_key("http://wall.example:8000") == ("http", "wall.example", 8000)
    for bad in ("evil://wall.example", "wall.example", "http://wall.example:99999", "null"):
        assert origin_key(bad) is None
