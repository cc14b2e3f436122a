"""The admin page: events, moderators and sources, from the browser (admins only).

Every form goes through the same use-cases as the `eventwall` command, so the two accept
and refuse the same things.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from starlette.datastructures import FormData
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response

from ingest.sources import kinds
from server.auth import check_csrf, require_moderator
from server.services import services
from usecases import Stores, events, moderators, rules, sources
from wall import details
from wall.accounts import Moderator, Session
from wall.models import PostError


async def _admin(request: Request) -> tuple[Session, Moderator]:
    # Any slug: require_moderator redirects to login; admins moderate every event.
    session, moderator = await require_moderator(request, "")
    if not moderator.admin:
        raise HTTPException(403, "Only admins manage events and moderators.")
    return session, moderator


def _text(form: FormData, name: str, default: str = "") -> str:
    value = form.get(name, default)
    return value if isinstance(value, str) else default


Form = Callable[[Stores, FormData, Moderator], Awaitable[str]]


async def _new_event(stores: Stores, form: FormData, admin: Moderator) -> str:
    event = await events.create_event(
        stores,
        events.new_event(
            _text(form, "slug"),
            _text(form, "title"),
            _text(form, "tags").split(","),
            moderation=_text(form, "moderation", "pre"),
        ),
    )
    return f"Created event {event.slug} ({event.moderation}-moderation)."


async def _details(stores: Stores, form: FormData, admin: Moderator) -> str:
    slug = _text(form, "event")
    await events.update_details(stores, slug, {n: _text(form, n) for n in details.FIELDS})
    return f"Saved the details of {slug}."


async def _mode(stores: Stores, form: FormData, admin: Moderator) -> str:
    result = await rules.set_mode(
        stores, _text(form, "event"), admin.email, _text(form, "moderation")
    )
    if not result.ok:
        raise PostError(result.message)
    return f"Switched {result.message}."


async def _rules(stores: Stores, form: FormData, admin: Moderator) -> str:
    slug = _text(form, "event")
    try:
        flood = int(_text(form, "flood_limit", "5"))
    except ValueError:
        raise PostError("flood_limit: a whole number") from None
    result = await rules.set_rules(
        stores,
        slug,
        admin.email,
        mode=_text(form, "moderation", "pre"),
        blocked_words=_text(form, "blocked_words").split(","),
        blocked_tags=_text(form, "blocked_tags").split(","),
        flood_limit=flood,
        hold_duplicates=form.get("hold_duplicates") == "1",
    )
    if not result.ok:
        raise PostError(result.message)
    return f"Saved the rules of {slug}."


async def _new_moderator(stores: Stores, form: FormData, admin: Moderator) -> str:
    invited = await moderators.invite(
        stores, _text(form, "email"), event=_text(form, "event"), admin=form.get("admin") == "1"
    )
    email = invited.moderator.email
    if not invited.password:
        return f"{email} already had an account: they now moderate {_role(invited.moderator)}."
    return (
        f"{email} can log in with this one-time password, and then chooses their own: "
        f"{invited.password}"
    )


async def _reset(stores: Stores, form: FormData, admin: Moderator) -> str:
    email = _text(form, "email")
    password = await moderators.reset_password(stores, email)
    return f"{email} is logged out everywhere; their new one-time password: {password}"


async def _remove_moderator(stores: Stores, form: FormData, admin: Moderator) -> str:
    removed = await moderators.remove_moderator(stores, _text(form, "email"), by=admin.email)
    return f"Removed {removed.email}; their sessions are closed."


async def _new_source(stores: Stores, form: FormData, admin: Moderator) -> str:
    config = await sources.add_source(
        stores,
        _text(form, "source_kind"),
        _text(form, "event"),
        **{name: _text(form, name) for name in kinds.options()},
    )
    return f"Added {config.describe}; the worker starts it within seconds."


async def _remove_source(stores: Stores, form: FormData, admin: Moderator) -> str:
    source_id = _text(form, "id")
    await sources.remove_source(stores, source_id)
    return f"Removed source {source_id}."


FORMS: dict[str, Form] = {
    "event": _new_event,
    "details": _details,
    "mode": _mode,
    "rules": _rules,
    "moderator": _new_moderator,
    "moderator-reset": _reset,
    "moderator-remove": _remove_moderator,
    "source": _new_source,
    "source-remove": _remove_source,
}


def _role(moderator: Moderator) -> str:
    return "every event" if moderator.admin else ", ".join(moderator.events) or "no event"


async def admin_page(request: Request) -> Response:
    """GET: events, moderators, sources; POST: one of FORMS, through the use-cases."""
    svc = services(request)
    session, moderator = await _admin(request)
    message, error, status = "", "", 200
    # Which event the details and rules forms edit: ?event=SLUG, with its current values.
    editing = request.query_params.get("event", "")
    typed: dict[str, str] = {}
    if request.method == "POST":
        await check_csrf(request, session)
        form = await request.form()
        handler = FORMS.get(_text(form, "kind"))
        if _text(form, "kind") == "details":
            editing = _text(form, "event")
            typed = {name: _text(form, name) for name in details.FIELDS}
        try:
            if handler is None:
                raise PostError("unknown form")
            message = await handler(svc.stores, form, moderator)
        except (PostError, ValueError) as exc:
            error, status = str(exc), 400
    every = await svc.store.list_events()
    chosen = next((e for e in every if e.slug == editing), None)
    values = details.current(chosen) if chosen else {}
    if error and typed:
        values = typed  # a refused form keeps what was typed
    html = svc.renderer.page(
        "admin.html",
        editing=chosen,
        rules=await svc.stores.mod.rules(chosen.slug) if chosen else None,
        detail_values=values,
        moderator=moderator,
        csrf=session.csrf,
        events=every,
        moderators=await svc.stores.accounts.all(),
        sources=await sources.sources_with_status(svc.stores),
        kinds=sorted(kinds.discover()),
        source_fields=kinds.options(),
        message=message,
        error=error,
    )
    return HTMLResponse(html, status_code=status, headers={"cache-control": "no-store"})
