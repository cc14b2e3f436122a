"""Moderators' sessions: a signed cookie naming a server-side session, CSRF, login pages."""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote, urlsplit

from itsdangerous import BadSignature, URLSafeTimedSerializer
from starlette.exceptions import HTTPException
from starlette.requests import HTTPConnection, Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from server.services import services
from wall.accounts import Accounts, Moderator, Session
from wall.settings import Settings

COOKIE = "ew_session"
# One address trying many accounts (password spraying) is slowed too, later and for less
# long than one address and account: a shared venue address must not lock everyone out.
IP_FREE = 30
IP_CAP = 60
PASSWORD_PAGE = "/account/password"
UNAUTHORIZED_CLOSE = 4401


def secret_key(settings: Settings) -> str:
    """SECRET_KEY, or a key generated on first run into DATA_DIR/secret_key readable by us only."""
    if settings.secret_key:
        return settings.secret_key
    path: Path = settings.data_dir / "secret_key"
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path.read_text().strip()
    with os.fdopen(fd, "w") as out:
        out.write(secrets.token_urlsafe(48))
    return path.read_text().strip()


@dataclass
class Auth:
    """Signs and reads session cookies; owned by the lifespan's services."""

    accounts: Accounts
    signer: URLSafeTimedSerializer
    max_age: int

    @classmethod
    def create(cls, accounts: Accounts, settings: Settings) -> Auth:
        """An Auth with the configured key and session lifetime."""
        signer = URLSafeTimedSerializer(secret_key(settings), salt="eventwall-session")
        return cls(accounts, signer, settings.session_hours * 3600)

    def cookie_value(self, session: Session) -> str:
        """The signed session id the browser keeps."""
        return self.signer.dumps(session.sid)

    async def current(self, conn: HTTPConnection) -> tuple[Session, Moderator] | None:
        """The logged-in moderator of this request, or None for a missing, forged or expired one."""
        raw = conn.cookies.get(COOKIE, "")
        if not raw:
            return None
        try:
            sid = self.signer.loads(raw, max_age=self.max_age)
        except BadSignature:
            return None
        if not isinstance(sid, str):
            return None
        session = await self.accounts.get_session(sid)
        if session is None:
            return None
        moderator = await self.accounts.get(session.email)
        return (session, moderator) if moderator else None

    def set_cookie(self, request: Request, response: Response, session: Session) -> None:
        """Set the session cookie: HttpOnly, SameSite=Lax, Secure when served over https."""
        response.set_cookie(
            COOKIE,
            self.cookie_value(session),
            max_age=self.max_age,
            httponly=True,
            samesite="lax",
            secure=request.url.scheme == "https",
            path="/",
        )


def auth(conn: HTTPConnection) -> Auth:
    """The process's Auth."""
    value: Auth = conn.app.state.auth
    return value


async def require_moderator(request: Request, slug: str) -> tuple[Session, Moderator]:
    """The moderator of this event making the request; else redirect to login (pages)."""
    found = await auth(request).current(request)
    here = quote(here_path(request), safe="/")
    if found is None:
        raise HTTPException(303, headers={"location": f"/login?next={here}"})
    if found[1].must_change:
        # A generated (or reset) password is only good for choosing one's own.
        raise HTTPException(303, headers={"location": f"{PASSWORD_PAGE}?next={here}"})
    if not found[1].can_moderate(slug):
        raise HTTPException(403, "You are not a moderator of this event.")
    return found


def here_path(request: Request) -> str:
    """This request's path with its query (`/e/demo/moderate?tab=audit`), to come back to."""
    query = request.url.query
    return request.url.path + (f"?{query}" if query else "")


async def require_api_moderator(
    request: Request, slug: str, *, csrf: bool = True
) -> tuple[Session, Moderator]:
    """As require_moderator, but 401 instead of a redirect (API calls), and CSRF checked."""
    found = await auth(request).current(request)
    if found is None:
        raise HTTPException(401, "Log in again: your session is missing or has expired.")
    if found[1].must_change:
        raise HTTPException(403, f"Choose your own password first: {PASSWORD_PAGE}")
    if not found[1].can_moderate(slug):
        raise HTTPException(403, "You are not a moderator of this event.")
    if csrf:
        await check_csrf(request, found[0])
    return found


async def check_csrf(request: Request, session: Session) -> None:
    """A state-changing request must carry the session's CSRF token (header or form field)."""
    token = request.headers.get("x-csrf-token", "")
    if not token:
        form = await request.form()
        value = form.get("csrf", "")
        token = value if isinstance(value, str) else ""
    if not token or not hmac.compare_digest(token, session.csrf):
        raise HTTPException(403, "Missing or wrong CSRF token: reload the page and try again.")


def login_keys(ip: str, email: str) -> tuple[str, str]:
    """The back-off keys of a login attempt: its address, and its address with the account.

    Never the account alone: a stranger failing on purpose would lock its owner out. The
    account's owner, from another address, is never slowed by a stranger's failures.
    """
    account = hashlib.sha256(email.encode()).hexdigest()[:24]
    return f"ip:{ip}", f"ipacct:{ip}:{account}"


def _client_ip(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def safe_next(value: str) -> str:
    """Where to go after logging in: a path on this site (with its query), else "/".

    Never an open redirect: no scheme, no host, no `//` or backslash that a browser would
    read as another site, no control characters.
    """
    local = (
        value.startswith("/")
        and not value.startswith(("//", "/\\"))
        and "\\" not in value
        and value.isprintable()
        and len(value) <= 2000
    )
    return value if local else "/"


async def login_page(request: Request) -> Response:
    """GET shows the form; POST checks the password, slowing down repeated failures."""
    svc = services(request)
    the_auth = auth(request)
    next_url = safe_next(request.query_params.get("next", "/"))
    # A login form's own CSRF token: a double-submit cookie, since there is no session yet.
    login_csrf = request.cookies.get("ew_login_csrf") or secrets.token_urlsafe(24)
    error, status, wait = "", 200, 0
    if request.method == "POST":
        form = await request.form()
        email = str(form.get("email", "")).strip().casefold()
        password = str(form.get("password", ""))
        next_url = safe_next(str(form.get("next", next_url)))
        ip_key, pair_key = login_keys(_client_ip(request), email)
        wait = await the_auth.accounts.login_wait([ip_key, pair_key])
        if not hmac.compare_digest(
            str(form.get("csrf", "")), request.cookies.get("ew_login_csrf", "-")
        ):
            error, status = "The form expired: please try again.", 403
        elif wait > 0:
            error, status = f"Too many failed attempts: wait {wait} seconds and try again.", 429
        else:
            moderator = await the_auth.accounts.authenticate(email, password)
            if moderator is None:
                await the_auth.accounts.login_failed([pair_key])
                await the_auth.accounts.login_failed([ip_key], free=IP_FREE, cap=IP_CAP)
                error, status = "Wrong email or password.", 401
            else:
                await the_auth.accounts.login_succeeded([pair_key])
                # Always a fresh session at login: a session id planted before cannot be reused.
                old = await the_auth.current(request)
                if old is not None:
                    await the_auth.accounts.close_session(old[0].sid)
                session = await the_auth.accounts.open_session(moderator.email)
                if moderator.must_change:
                    next_url = f"{PASSWORD_PAGE}?next={quote(next_url, safe='/')}"
                response = RedirectResponse(next_url, status_code=303)
                the_auth.set_cookie(request, response, session)
                response.delete_cookie("ew_login_csrf", path="/login")
                return response
    html = svc.renderer.page(
        "login.html", error=error, next_url=next_url, csrf=login_csrf, email=""
    )
    page: Response = HTMLResponse(html, status_code=status, headers={"cache-control": "no-store"})
    if status == 429:
        page.headers["retry-after"] = str(max(1, wait))
    page.set_cookie(
        "ew_login_csrf",
        login_csrf,
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
        path="/login",
    )
    return page


async def logout(request: Request) -> Response:
    """POST: close the session (CSRF-checked) and go back to the login page."""
    the_auth = auth(request)
    found = await the_auth.current(request)
    if found is not None:
        await check_csrf(request, found[0])
        await the_auth.accounts.close_session(found[0].sid)
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(COOKIE, path="/")
    return response


def same_origin(conn: HTTPConnection) -> bool:
    """Whether a websocket handshake comes from one of our own pages (or a non-browser client):
    the whole origin must match, scheme, host and port, not just the host."""
    origin = conn.headers.get("origin")
    if origin is None:
        return True
    secure = conn.url.scheme in ("https", "wss")
    ours = origin_key(f"{'https' if secure else 'http'}://{conn.headers.get('host', '')}")
    return ours is not None and origin_key(origin) == ours


def origin_key(origin: str) -> tuple[str, str, int] | None:
    """An origin as (scheme, host, port) with the default port filled in; None if it is not
    an http(s) origin (`null`, `evil://host`, one with a path or credentials)."""
    try:
        parts = urlsplit(origin.strip())
        port = parts.port
    except ValueError:
        return None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return None
    if parts.username or parts.password or parts.path not in ("", "/") or parts.query:
        return None
    default = 443 if parts.scheme == "https" else 80
    return parts.scheme, parts.hostname, port or default
