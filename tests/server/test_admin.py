"""The admin page a venue runs alone: links, mode and rules, moderators, sources, log-out."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from server.app import create_app
from tests.server.moderation_helpers import login, run, seed
from wall.accounts import Accounts
from wall.mod_store import ModerationStore
from wall.settings import Settings
from wall.store import Store


@pytest.fixture
def admin(redis_url: str, tmp_path: Path) -> Iterator[TestClient]:
    """An admin logged in to a fresh app, with events testevent and other and one moderator."""
    seed(redis_url, moderators={"mod@example.org": "testevent"}, admins=("boss@example.org",))
    settings = Settings(redis_url=redis_url, data_dir=tmp_path / "data", demo=False)
    with TestClient(create_app(settings), base_url="http://testserver") as client:
        assert login(client, "boss@example.org").status_code == 303
        yield client


def _csrf(client: TestClient) -> str:
    match = re.search(r'name="csrf" value="([^"]+)"', client.get("/admin").text)
    assert match
    return match.group(1)


def test_each_event_links_its_screens_and_the_page_logs_out(admin: TestClient) -> None:
    """Each event links its wall, live page, console and recap; a log-out form is there."""
    page = admin.get("/admin").text
    for slug in ("testevent", "other"):
        for path in ("wall", "live", "moderate", "recap"):
            assert f'href="/e/{slug}/{path}"' in page
    assert 'action="/logout"' in page and 'href="/account/password' in page
    admin.post("/logout", data={"csrf": _csrf(admin)})
    assert admin.get("/admin", follow_redirects=False).status_code == 303


def test_mode_and_rules_are_switched_from_admin(admin: TestClient, redis_url: str) -> None:
    """The mode switch and the rules form go through the same use-cases as the console."""
    token = _csrf(admin)
    switched = admin.post(
        "/admin", data={"csrf": token, "kind": "mode", "event": "testevent", "moderation": "post"}
    )
    assert switched.status_code == 200 and "post-moderation" in switched.text
    bad = admin.post(
        "/admin", data={"csrf": token, "kind": "mode", "event": "nosuch", "moderation": "post"}
    )
    assert bad.status_code == 400 and "no event" in bad.text
    form = {
        "csrf": token,
        "kind": "rules",
        "event": "testevent",
        "moderation": "pre",
        "blocked_words": "spam, scam",
        "blocked_tags": "",
        "flood_limit": "3",
    }
    assert admin.post("/admin?event=testevent", data=form).status_code == 200

    async def read(store: Store, accounts: Accounts, mod: ModerationStore) -> tuple[str, int]:
        event = await store.get_event("testevent")
        rules = await mod.rules("testevent")
        assert event is not None
        return event.moderation, rules.flood_limit

    assert run(redis_url, read) == ("pre", 3)
    assert 'value="spam, scam"' in admin.get("/admin?event=testevent").text


def test_moderators_are_listed_reset_and_removed(admin: TestClient, redis_url: str) -> None:
    """Moderators are listed with their events; a reset gives a one-time password; removal."""
    page = admin.get("/admin").text
    assert "mod@example.org · testevent" in page
    token = _csrf(admin)
    reset = admin.post(
        "/admin", data={"csrf": token, "kind": "moderator-reset", "email": "mod@example.org"}
    )
    assert reset.status_code == 200 and "one-time password" in reset.text
    assert "has not chosen a password yet" in reset.text
    removed = admin.post(
        "/admin", data={"csrf": token, "kind": "moderator-remove", "email": "mod@example.org"}
    )
    assert removed.status_code == 200 and "Removed mod@example.org" in removed.text
    assert "mod@example.org ·" not in removed.text
    itself = admin.post(
        "/admin", data={"csrf": token, "kind": "moderator-remove", "email": "boss@example.org"}
    )
    assert itself.status_code == 400 and "your own account" in itself.text


def test_sources_show_their_event_and_status(admin: TestClient) -> None:
    """A source added from /admin is listed with its event and its status; unknown events fail."""
    token = _csrf(admin)
    form = {"csrf": token, "kind": "source", "source_kind": "rss", "url": "https://example.org/f"}
    refused = admin.post("/admin", data={**form, "event": "nosuch"})
    assert refused.status_code == 400 and "no event" in refused.text
    added = admin.post("/admin", data={**form, "event": "testevent"})
    assert added.status_code == 200
    assert "rss https://example.org/f -&gt; testevent" in added.text
    assert 'href="/e/testevent/moderate">its console</a>' in added.text
    assert re.search(r'class="source-status">[^<]+<', added.text)
