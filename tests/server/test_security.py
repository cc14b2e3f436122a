"""Hardening across the app: CSRF on every POST, CSP, body and socket limits, the secret key."""

from __future__ import annotations

import re
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest
from starlette.routing import Route
from starlette.testclient import TestClient

from server.app import create_app
from server.auth import secret_key
from tests.server.moderation_helpers import csrf_of, login, run, seed
from wall.settings import Settings

# POST routes without a session's CSRF token, each with the reason it is safe.
NO_SESSION_CSRF = {
    "/login": "double-submit cookie instead (no session yet): tested below",
    "/e/{slug}/post": "anonymous attendee uploads: no session to ride, rate-limited per IP",
    "/e/{slug}/screens/{screen}/seen": "a wall's anonymous 'I show this screen': bounded counts",
}
PAGES = [
    "/",
    "/e/testevent/wall",
    "/e/testevent/live",
    "/e/testevent/embed",
    "/e/testevent/gallery",
    "/e/testevent/post",
    "/e/testevent/join",
    "/login",
]


def post_routes(settings: Settings) -> list[str]:
    """Every path of the app that takes a POST."""
    return [
        r.path
        for r in create_app(settings).routes
        if isinstance(r, Route) and r.methods and "POST" in r.methods
    ]


def test_every_post_route_refuses_a_missing_or_wrong_csrf_token(
    settings: Settings, redis_url: str
) -> None:
    """Logged in as an admin, each state-changing route answers 403 without the right token."""
    seed(redis_url, admins=("boss@example.org",))
    routes = post_routes(settings)
    assert "/e/{slug}/moderate/decide" in routes and "/admin" in routes
    with TestClient(create_app(settings), base_url="http://testserver") as client:
        assert login(client, "boss@example.org").status_code == 303
        token = csrf_of(client)
        for path in routes:
            if path in NO_SESSION_CSRF:
                continue
            url = path.replace("{slug}", "testevent")
            for form in ({}, {"csrf": token[:-1] + "x"}):
                refused = client.post(url, data=form, follow_redirects=False)
                assert refused.status_code == 403, (path, form, refused.status_code)
        # Still logged in: the refusals changed nothing, logout included.
        assert client.get("/e/testevent/moderate/counts").status_code == 200


def test_login_form_needs_its_double_submit_token(settings: Settings, redis_url: str) -> None:
    """A login POST from another site (no matching cookie and field) is refused with 403."""
    seed(redis_url, moderators={"mod@example.org": "testevent"})
    with TestClient(create_app(settings), base_url="http://testserver") as client:
        form = {"email": "mod@example.org", "password": "correct horse battery", "csrf": "forged"}
        assert client.post("/login", data=form, follow_redirects=False).status_code == 403


def test_planted_session_cookie_is_replaced_at_login(settings: Settings, redis_url: str) -> None:
    """Session fixation: a cookie an attacker planted stops working once the victim logs in."""
    seed(redis_url, moderators={"mod@example.org": "testevent", "eve@example.org": "other"})
    with TestClient(create_app(settings), base_url="http://testserver") as attacker:
        login(attacker, "eve@example.org")
        planted = attacker.cookies["ew_session"]
        with TestClient(create_app(settings), base_url="http://testserver") as victim:
            victim.cookies.set("ew_session", planted)
            response = login(victim, "mod@example.org")
            assert response.status_code == 303
            issued = re.search(r"ew_session=([^;]+)", response.headers["set-cookie"])
            assert issued and issued.group(1).strip('"') != planted
            victim.cookies.clear()
            victim.cookies.set("ew_session", issued.group(1).strip('"'))
            assert victim.get("/e/testevent/moderate/counts").status_code == 200
        assert attacker.get("/e/other/moderate/counts").status_code == 401


def test_pages_have_a_strict_csp_and_nothing_inline(settings: Settings, redis_url: str) -> None:
    """No inline script or style, no eval, images and everything else from this site only."""
    seed(redis_url)
    with TestClient(create_app(settings), base_url="http://testserver") as client:
        for path in PAGES:
            response = client.get(path)
            assert response.status_code == 200, path
            csp = dict(
                part.strip().split(" ", 1)
                for part in response.headers["content-security-policy"].split(";")
            )
            assert csp["script-src"] == "'self'" and csp["style-src"] == "'self'", csp
            assert csp["img-src"] == "'self'" and csp["default-src"] == "'self'", csp
            assert csp["object-src"] == "'none'" and csp["base-uri"] == "'none'", csp
            assert response.headers["x-content-type-options"] == "nosniff"
            assert response.headers["referrer-policy"] == "same-origin"
            html = response.text
            assert not re.search(r"<script(?![^>]*\ssrc=)[^>]*>", html), path
            assert not re.search(r"\sstyle=", html), path
            assert not re.search(r"\son[a-z]+=", html), path
            config = re.search(r'<meta name="htmx-config" content=\'([^\']+)\'>', html)
            assert config, path
            assert '"allowEval": false' in config.group(1)
            assert '"includeIndicatorStyles": false' in config.group(1)


def test_big_request_bodies_get_413(redis_url: str, tmp_path: Path) -> None:
    """A declared or streamed body past MAX_BODY_BYTES is refused with 413 and says why."""
    seed(redis_url)
    settings = Settings(
        redis_url=redis_url, data_dir=tmp_path / "data", demo=False, max_body_bytes=1000
    )
    with TestClient(create_app(settings), base_url="http://testserver") as client:
        declared = client.post("/login", content=b"x" * 5000)
        assert declared.status_code == 413
        assert "at most 1000 bytes" in declared.text

        def chunks() -> Iterator[bytes]:
            for _ in range(10):
                yield b"email=" + b"y" * 500

        streamed = client.post(
            "/login",
            content=chunks(),
            headers={"content-type": "application/x-www-form-urlencoded"},
        )
        assert streamed.status_code == 413
        # Under the limit, the form is read as usual (403: no login token, not 413).
        assert client.post("/login", data={"email": "a"}).status_code == 403
        # Uploads have their own, larger limit (MEDIA_MAX_BYTES).
        upload = client.post("/e/testevent/post", data={"text": "x" * 400})
        assert upload.status_code == 201


def test_moderation_socket_closes_on_big_or_many_messages(
    settings: Settings, redis_url: str
) -> None:
    """The console's socket only listens: a big message closes it (1009), a flood too (1008)."""
    seed(redis_url, moderators={"mod@example.org": "testevent"})
    with TestClient(create_app(settings), base_url="http://testserver") as client:
        login(client, "mod@example.org")
        with client.websocket_connect("/e/testevent/moderate/ws") as ws:
            ws.send_text("x" * 10_000)
            with pytest.raises(Exception) as closed:
                ws.receive_text()
        assert getattr(closed.value, "code", None) == 1009
        with client.websocket_connect("/e/testevent/moderate/ws") as ws:
            for _ in range(61):
                ws.send_text("ping")
            with pytest.raises(Exception) as closed:
                ws.receive_text()
        assert getattr(closed.value, "code", None) == 1008


def test_admin_page_is_for_admins_only(settings: Settings, redis_url: str) -> None:
    """A moderator who is not an admin gets 403 from /admin, GET and POST alike."""
    seed(redis_url, moderators={"mod@example.org": "testevent"})
    with TestClient(create_app(settings), base_url="http://testserver") as client:
        login(client, "mod@example.org")
        token = csrf_of(client)
        assert client.get("/admin").status_code == 403
        assert client.post("/admin", data={"csrf": token, "slug": "x"}).status_code == 403


def test_secret_key_generated_once_with_mode_0600(tmp_path: Path) -> None:
    """Without SECRET_KEY a key is written to DATA_DIR/secret_key (0600) and reused; set, it wins."""
    settings = Settings(data_dir=tmp_path / "data")
    first = secret_key(settings)
    path = tmp_path / "data" / "secret_key"
    assert len(first) >= 40
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert secret_key(settings) == first
    assert secret_key(Settings(data_dir=tmp_path / "data", secret_key="from-env")) == "from-env"
    assert secret_key(Settings(data_dir=tmp_path / "other")) != first


def test_moderators_keep_the_opt_out_list_from_the_console(
    settings: Settings, redis_url: str
) -> None:
    """A moderator adds and removes an author on the opt-out list; the console lists them."""
    seed(redis_url, moderators={"mod@example.org": "testevent"})
    with TestClient(create_app(settings), base_url="http://testserver") as client:
        login(client, "mod@example.org")
        token = csrf_of(client)
        url = "/e/testevent/moderate/optout"
        form = {"csrf": token, "handle": "@Shy@Example.org", "action": "add"}
        assert client.post(url, data=form, follow_redirects=False).status_code == 303
        assert "<li>shy@example.org</li>" in client.get("/e/testevent/moderate").text
        assert run(redis_url, lambda s, a, m: m.opted_out("testevent")) == {"shy@example.org"}
        assert client.post(url, data={**form, "handle": " "}).status_code == 400
        client.post(url, data={**form, "action": "remove"})
        assert run(redis_url, lambda s, a, m: m.opted_out("testevent")) == set()
