"""The console over HTTP: login, roles, CSRF, forged sessions, decisions and their refusals."""

from __future__ import annotations

import re
import time

import pytest
from starlette.testclient import TestClient

from server.app import create_app
from server.auth import COOKIE
from tests.helpers import post_dict
from tests.server.moderation_helpers import csrf_of, login, run, seed, state_of
from wall.accounts import Accounts
from wall.mod_store import ModerationStore
from wall.models import Post
from wall.moderation import State
from wall.settings import Settings
from wall.sources import SourceRegistry
from wall.store import Store

JSON = {"accept": "application/json"}


def client_for(settings: Settings) -> TestClient:
    """A client of a fresh app instance; its lifespan runs while the client is open."""
    return TestClient(create_app(settings), base_url="http://testserver")


def test_console_needs_login(settings: Settings, redis_url: str) -> None:
    """A page without a session redirects to login; an API call gets 401."""
    seed(redis_url)
    with client_for(settings) as client:
        page = client.get("/e/testevent/moderate", follow_redirects=False)
        assert page.status_code == 303
        assert page.headers["location"] == "/login?next=/e/testevent/moderate"
        assert client.get("/e/testevent/moderate/counts").status_code == 401
        assert client.post("/e/testevent/moderate/decide", data={}).status_code == 401


def test_login_sets_hardened_cookie_and_new_session(settings: Settings, redis_url: str) -> None:
    """Login sets an HttpOnly, SameSite=Lax cookie and a fresh session id every time."""
    seed(redis_url, moderators={"mod@example.org": "testevent"})
    with client_for(settings) as client:
        first = login(client, "mod@example.org")
        assert first.status_code == 303
        header = first.headers["set-cookie"].lower()
        assert "httponly" in header and "samesite=lax" in header
        cookie1 = client.cookies[COOKIE]
        second = login(client, "mod@example.org")
        assert second.status_code == 303
        assert client.cookies[COOKIE] != cookie1
        # The session replaced at the second login no longer works.
        fresh = client.cookies[COOKIE]
        client.cookies.clear()
        client.cookies.set(COOKIE, cookie1)
        assert client.get("/e/testevent/moderate/counts").status_code == 401
        client.cookies.clear()
        client.cookies.set(COOKIE, fresh)
        assert client.get("/e/testevent/moderate/counts").json()["pending"] == 0


def test_wrong_password_and_slow_down(settings: Settings, redis_url: str) -> None:
    """Wrong passwords get 401, and after five failures the account is locked for a while (429)."""
    seed(redis_url, moderators={"mod@example.org": "testevent"})
    with client_for(settings) as client:
        for _ in range(5):
            assert login(client, "mod@example.org", "wrong password").status_code == 401
        locked = login(client, "mod@example.org")  # even the right password must wait
        assert locked.status_code == 429
        assert int(locked.headers["retry-after"]) >= 1
        assert COOKIE not in client.cookies


def test_forged_session_is_refused(settings: Settings, redis_url: str) -> None:
    """A cookie not signed by our key, or naming no session, is not logged in."""
    seed(redis_url, moderators={"mod@example.org": "testevent"})
    with client_for(settings) as client:
        client.cookies.set(COOKIE, "forged.value.here")
        assert client.get("/e/testevent/moderate", follow_redirects=False).status_code == 303
        assert client.get("/e/testevent/moderate/counts").status_code == 401
        with client.websocket_connect("/e/testevent/moderate/ws") as ws:
            with pytest.raises(Exception) as closed:
                ws.receive_text()
        assert getattr(closed.value, "code", None) == 4401


def test_roles(settings: Settings, redis_url: str) -> None:
    """A moderator sees only assigned events; an admin sees every event."""
    seed(redis_url, moderators={"mod@example.org": "testevent"}, admins=("boss@example.org",))
    with client_for(settings) as client:
        login(client, "mod@example.org")
        assert client.get("/e/testevent/moderate").status_code == 200
        assert client.get("/e/other/moderate").status_code == 403
        token = csrf_of(client)
        rules = client.post(
            "/e/testevent/moderate/settings",
            data={"moderation": "post", "csrf": token},
            headers=JSON,
        )
        assert rules.status_code == 403  # rules are for admins
    with client_for(settings) as admin:
        login(admin, "boss@example.org")
        assert admin.get("/e/other/moderate").status_code == 200
        token = csrf_of(admin, "other")
        saved = admin.post(
            "/e/other/moderate/settings",
            data={"moderation": "post", "csrf": token, "blocked_words": "spam", "flood_limit": "3"},
            headers=JSON,
        )
        assert saved.status_code == 200

    async def check(store: Store, accounts: Accounts, mod: ModerationStore) -> None:
        event = await store.get_event("other")
        assert event is not None and event.moderation == "post"
        assert (await mod.rules("other")).blocked_words == ("spam",)

    run(redis_url, check)


def test_csrf_required_on_decisions(settings: Settings, redis_url: str) -> None:
    """A decision without the session's CSRF token is refused and changes nothing."""
    seed(redis_url, moderators={"mod@example.org": "testevent"}, pending=("1",))
    with client_for(settings) as client:
        login(client, "mod@example.org")
        token = csrf_of(client)
        form = {"post_id": "test:1", "action": "approve", "expected": "pending"}
        assert client.post("/e/testevent/moderate/decide", data=form).status_code == 403
        bad = client.post("/e/testevent/moderate/decide", data={**form, "csrf": "x" + token})
        assert bad.status_code == 403
        assert state_of(redis_url, "test:1") == "pending"
        ok = client.post("/e/testevent/moderate/decide", data={**form, "csrf": token}, headers=JSON)
        assert ok.status_code == 200 and ok.json()["state"] == "approved"
        assert state_of(redis_url, "test:1") == "approved"
        # Logout is a CSRF-checked POST too.
        assert client.post("/logout", data={}).status_code == 403
        assert (
            client.post("/logout", data={"csrf": token}, follow_redirects=False).status_code == 303
        )
        assert client.get("/e/testevent/moderate/counts").status_code == 401


def test_unknown_post_is_404(settings: Settings, redis_url: str) -> None:
    """A decision on an unknown post id: 404 with a message naming it."""
    seed(redis_url, moderators={"mod@example.org": "testevent"})
    with client_for(settings) as client:
        login(client, "mod@example.org")
        token = csrf_of(client)
        missing = client.post(
            "/e/testevent/moderate/decide",
            data={"post_id": "test:nope", "action": "approve", "csrf": token},
            headers=JSON,
        )
        assert missing.status_code == 404
        assert "test:nope" in missing.json()["message"]


def test_undo_last_decision(settings: Settings, redis_url: str) -> None:
    """The undo form answers 200 when applied and 409 with nothing left to undo."""
    seed(redis_url, moderators={"mod@example.org": "testevent"}, pending=("1",))
    with client_for(settings) as client:
        login(client, "mod@example.org")
        token = csrf_of(client)
        client.post(
            "/e/testevent/moderate/decide",
            data={"post_id": "test:1", "action": "approve", "expected": "pending", "csrf": token},
            headers=JSON,
        )
        assert state_of(redis_url, "test:1") == "approved"
        undone = client.post("/e/testevent/moderate/undo", data={"csrf": token}, headers=JSON)
        assert undone.status_code == 200
        assert state_of(redis_url, "test:1") == "pending"
        again = client.post("/e/testevent/moderate/undo", data={"csrf": token}, headers=JSON)
        assert again.status_code == 409


def test_two_moderators_see_changes_live(settings: Settings, redis_url: str) -> None:
    """Both consoles' sockets get a new pending post, then the other moderator's approval."""
    seed(redis_url, moderators={"ann@example.org": "testevent", "bob@example.org": "testevent"})
    with client_for(settings) as ann, client_for(settings) as bob:
        login(ann, "ann@example.org")
        login(bob, "bob@example.org")
        token = csrf_of(ann)
        with (
            ann.websocket_connect("/e/testevent/moderate/ws") as ann_ws,
            bob.websocket_connect("/e/testevent/moderate/ws") as bob_ws,
        ):

            async def ingest(store: Store, accounts: Accounts, mod: ModerationStore) -> None:
                from ingest.pipeline import take
                from tests.helpers import post_dict
                from wall.models import Post

                event = await store.get_event("testevent")
                assert event is not None
                await take(store, event, Post.from_dict(post_dict("live")), moderation=mod)

            run(redis_url, ingest)
            for ws in (ann_ws, bob_ws):
                message = ws.receive_json()
                assert message["type"] == "new" and message["state"] == "pending"
                assert 'data-post-id="test:live"' in message["html"]
            ann.post(
                "/e/testevent/moderate/decide",
                data={
                    "post_id": "test:live",
                    "action": "approve",
                    "expected": "pending",
                    "csrf": token,
                },
                headers=JSON,
            )
            for ws in (ann_ws, bob_ws):
                message = ws.receive_json()
                assert message["type"] == "state" and message["state"] == "approved"
                assert message["actor"] == "ann@example.org"


def test_admin_page_creates_event_and_moderator(settings: Settings, redis_url: str) -> None:
    """Admins create events and moderators from /admin; a plain moderator gets 403; CSRF needed."""
    seed(redis_url, moderators={"mod@example.org": "testevent"}, admins=("boss@example.org",))
    with client_for(settings) as plain:
        login(plain, "mod@example.org")
        assert plain.get("/admin").status_code == 403
    with client_for(settings) as admin:
        login(admin, "boss@example.org")
        token = csrf_of(admin)
        event = {"kind": "event", "slug": "conf", "title": "Conf", "moderation": "pre"}
        assert admin.post("/admin", data=event).status_code == 403  # no CSRF token
        assert admin.post("/admin", data={**event, "csrf": token}).status_code == 200
        page = admin.post(
            "/admin",
            data={"kind": "moderator", "email": "new@example.org", "event": "conf", "csrf": token},
        )
        password = re.search(r"one-time password: (\S+)</p>", page.text)
        assert page.status_code == 200 and password, page.text
    with client_for(settings) as new:
        assert login(new, "new@example.org", password.group(1)).status_code == 303
        assert new.get("/e/conf/moderate").status_code == 200
        assert new.get("/e/testevent/moderate").status_code == 403


def test_websocket_from_another_site_is_refused(settings: Settings, redis_url: str) -> None:
    """A logged-in moderator's cookie used from another site's page: the socket closes with 4401."""
    seed(redis_url, moderators={"mod@example.org": "testevent"})
    with client_for(settings) as client:
        login(client, "mod@example.org")
        headers = {"origin": "https://evil.example"}
        with client.websocket_connect("/e/testevent/moderate/ws", headers=headers) as ws:
            with pytest.raises(Exception) as closed:
                ws.receive_text()
        assert getattr(closed.value, "code", None) == 4401


@pytest.mark.parametrize("target", ["//evil.example/x", "/\\evil.example", "https://evil.example"])
def test_login_never_redirects_off_site(settings: Settings, redis_url: str, target: str) -> None:
    """The `next` after login is a local path only, never another site."""
    seed(redis_url, moderators={"mod@example.org": "testevent"})
    with client_for(settings) as client:
        page = client.get("/login")
        token = re.search(r'name="csrf" value="([^"]+)"', page.text)
        assert token
        response = client.post(
            "/login",
            data={
                "email": "mod@example.org",
                "password": "correct horse battery",
                "csrf": token.group(1),
                "next": target,
            },
            follow_redirects=False,
        )
        assert response.status_code == 303 and response.headers["location"] == "/"


def test_logout_closes_open_console_socket(settings: Settings, redis_url: str) -> None:
    """Logging out ends the session everywhere: an open moderators' socket is closed with 4401."""
    seed(redis_url, moderators={"mod@example.org": "testevent"})
    with client_for(settings) as client:
        login(client, "mod@example.org")
        token = csrf_of(client)
        with client.websocket_connect("/e/testevent/moderate/ws") as ws:
            assert (
                client.post("/logout", data={"csrf": token}, follow_redirects=False).status_code
                == 303
            )
            with pytest.raises(Exception) as closed:
                ws.receive_text()  # returns when the server closes the socket
        assert getattr(closed.value, "code", None) == 4401


def test_admin_adds_watches_and_removes_sources(settings: Settings, redis_url: str) -> None:
    """An admin adds a source from /admin, sees the worker's status of it, and removes it."""
    seed(redis_url, moderators={"mod@example.org": "testevent"}, admins=("boss@example.org",))
    feed = {"kind": "source", "source_kind": "rss", "event": "testevent"}
    with client_for(settings) as plain:
        login(plain, "mod@example.org")
        assert plain.post("/admin", data={**feed, "csrf": csrf_of(plain)}).status_code == 403
    with client_for(settings) as admin:
        login(admin, "boss@example.org")
        token = csrf_of(admin)
        bad = admin.post("/admin", data={**feed, "url": "ftp://example.org/x", "csrf": token})
        assert bad.status_code == 400 and "rss needs --url" in bad.text
        unknown = {**feed, "event": "nope", "url": "https://example.org/feed.xml"}
        missing = admin.post("/admin", data={**unknown, "csrf": token})
        assert missing.status_code == 400 and "no event" in missing.text
        feed["url"] = "https://example.org/feed.xml"
        assert admin.post("/admin", data=feed).status_code == 403  # no CSRF token
        added = admin.post("/admin", data={**feed, "csrf": token})
        assert added.status_code == 200, added.text
        (config,) = run(redis_url, lambda store, *_: SourceRegistry(store.redis).list())
        assert config.url == feed["url"] and config.event == "testevent"
        assert "not connected · 0 taken" in admin.get("/admin").text

        async def worker_reports(store: Store, *_: object) -> None:
            registry = SourceRegistry(store.redis)
            await registry.set_status(config.id, connected=1, last_event=f"{time.time() - 150}")
            for _ in range(3):
                await registry.count_taken(config.id)

        run(redis_url, worker_reports)
        assert "connected · 3 taken · last 2 min ago" in admin.get("/admin").text
        removed = admin.post(
            "/admin", data={"kind": "source-remove", "id": config.id, "csrf": token}
        )
        assert removed.status_code == 200 and "No sources yet." in removed.text
        again = admin.post("/admin", data={"kind": "source-remove", "id": config.id, "csrf": token})
        assert again.status_code == 400


def test_show_warned_text_from_the_console(settings: Settings, redis_url: str) -> None:
    """A warned post's card offers "Show text on the wall"; the CSRF-checked form sets it."""
    seed(redis_url, moderators={"mod@example.org": "testevent"})

    async def warned(store: Store, accounts: Accounts, mod: ModerationStore) -> None:
        post = Post.from_dict(post_dict("cw", "the twist", content_warning="Spoilers"))
        await store.ingest("testevent", post, State.PENDING)

    run(redis_url, warned)
    with client_for(settings) as client:
        login(client, "mod@example.org")
        token = csrf_of(client)
        console = client.get("/e/testevent/moderate").text
        assert "Show text on the wall" in console
        form = {"post_id": "test:cw", "shown": "1"}
        assert client.post("/e/testevent/moderate/warning", data=form).status_code == 403
        ok = client.post(
            "/e/testevent/moderate/warning", data={**form, "csrf": token}, headers=JSON
        )
        assert ok.status_code == 200 and ok.json()["ok"]

        async def flag(store: Store, accounts: Accounts, mod: ModerationStore) -> bool:
            post = await store.get_post("testevent", "test:cw")
            return post is not None and post.warning_shown

        assert run(redis_url, flag)
        assert "Hide text behind the warning" in client.get("/e/testevent/moderate").text
