"""The console over HTTP at scale: pages by cursor, a search box, bulk decisions."""

from __future__ import annotations

import html
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from server.app import create_app
from tests.server.moderation_helpers import csrf_of, login, seed, state_of
from wall.settings import Settings


@pytest.fixture
def app(redis_url: str, tmp_path: Path) -> Iterator[Settings]:
    """The real app with pages of 5 posts, so paging shows with few posts."""
    yield Settings(redis_url=redis_url, data_dir=tmp_path / "data", demo=False, page_size=5)


def _ids(page: str) -> list[str]:
    return re.findall(r'data-post-id="([^"]+)"', page)


def test_console_pages_reach_every_pending_post(app: Settings, redis_url: str) -> None:
    """Following "next" from the oldest-first page lists every pending post once, in order."""
    pending = tuple(f"{i:02d}" for i in range(12))
    seed(redis_url, moderators={"mod@example.org": "testevent"}, pending=pending)
    with TestClient(create_app(app)) as client:
        login(client, "mod@example.org")
        seen: list[str] = []
        url = "/e/testevent/moderate?tab=pending&order=oldest"
        for _ in range(5):
            page = client.get(url).text
            seen += _ids(page)
            more = re.search(r'id="next-page" href="([^"]+)"', page)
            if more is None:
                break
            url = "/e/testevent/moderate" + html.unescape(more.group(1))
        assert sorted(seen) == sorted(f"test:{i}" for i in pending) and len(seen) == 12
        assert '<span class="count" data-count="pending">12</span>' in client.get(url).text


def test_console_search_and_bulk_approve(app: Settings, redis_url: str) -> None:
    """A search shows matching posts only; the bulk form approves the chosen ones (CSRF
    checked) and goes back to the page it came from."""
    seed(redis_url, moderators={"mod@example.org": "testevent"}, pending=("1", "2", "3"))
    with TestClient(create_app(app)) as client:
        login(client, "mod@example.org")
        found = client.get("/e/testevent/moderate?tab=pending&q=POST%202").text
        assert _ids(found) == ["test:2"]
        token = csrf_of(client)
        form = {"chosen": ["pending|test:1", "pending|test:3"], "action": "approve"}
        assert client.post("/e/testevent/moderate/bulk", data=form).status_code == 403
        back = "/e/testevent/moderate?tab=pending&q=post"
        done = client.post(
            "/e/testevent/moderate/bulk",
            data={**form, "csrf": token, "back": back},
            follow_redirects=False,
        )
        assert done.status_code == 303 and done.headers["location"] == back
        assert [state_of(redis_url, f"test:{i}") for i in "123"] == [
            "approved",
            "pending",
            "approved",
        ]
        off_site = client.post(
            "/e/testevent/moderate/bulk",
            data={"chosen": ["pending|test:2"], "action": "reject", "csrf": token, "back": "//x"},
            follow_redirects=False,
        )
        assert off_site.headers["location"] == "/e/testevent/moderate"
