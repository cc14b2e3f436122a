"""A moderator's own account: choosing a new password (required after a generated one)."""

from __future__ import annotations

from urllib.parse import quote

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from server.auth import PASSWORD_PAGE, auth, check_csrf, here_path, safe_next
from server.services import services
from usecases import Refused, moderators


async def password_page(request: Request) -> Response:
    """GET: the form; POST: check the current password, set the new one, log out elsewhere."""
    the_auth = auth(request)
    found = await the_auth.current(request)
    if found is None:
        raise HTTPException(
            303, headers={"location": f"/login?next={quote(here_path(request), safe='/')}"}
        )
    session, moderator = found
    next_url = safe_next(request.query_params.get("next", "/"))
    error, status = "", 200
    if request.method == "POST":
        await check_csrf(request, session)
        form = await request.form()
        new, again = str(form.get("new", "")), str(form.get("again", ""))
        try:
            if new != again:
                raise Refused("new password: the two entries differ")
            await moderators.change_password(
                services(request).stores, moderator.email, str(form.get("current", "")), new
            )
        except Refused as exc:
            error, status = str(exc), 400
        else:
            # Every session was closed, this one too: this browser gets a fresh one.
            fresh = await the_auth.accounts.open_session(moderator.email)
            response = RedirectResponse(next_url, status_code=303)
            the_auth.set_cookie(request, response, fresh)
            return response
    html = services(request).renderer.page(
        "account_password.html",
        moderator=moderator,
        csrf=session.csrf,
        error=error,
        action=f"{PASSWORD_PAGE}?next={quote(next_url, safe='/')}",
        minimum=moderators.MIN_PASSWORD,
    )
    return HTMLResponse(html, status_code=status, headers={"cache-control": "no-store"})
