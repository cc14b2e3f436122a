"""The admin page: events, moderators and sources, from the browser (admins only)."""

from __future__ import annotations

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response

from ingest.sources import kinds
from server.auth import check_csrf, require_moderator
from server.services import services
from usecases import events, sources
from wall import details
from wall.accounts import Moderator, Session, new_password
from wall.models import PostError


async def _admin(request: Request) -> tuple[Session, Moderator]:
    # Any slug: require_moderator redirects to login; admins moderate every event.
    session, moderator = await require_moderator(request, "")
    if not moderator.admin:
        raise HTTPException(403, "Only admins manage events and moderators.")
    return session, moderator


async def admin_page(request: Request) -> Response:
    """GET: events, moderators, sources; POST: create an event or a moderator, add or remove a source."""
    svc = services(request)
    session, moderator = await _admin(request)
    message, error, status = "", "", 200
    # Which event the details form edits: ?event=SLUG, prefilled with its current values.
    editing = request.query_params.get("event", "")
    typed: dict[str, str] = {}
    if request.method == "POST":
        await check_csrf(request, session)
        form = await request.form()
        kind = str(form.get("kind", ""))
        stores = svc.stores
        try:
            if kind == "event":
                event = await events.create_event(
                    stores,
                    events.new_event(
                        str(form.get("slug", "")),
                        str(form.get("title", "")),
                        str(form.get("tags", "")).split(","),
                        moderation=str(form.get("moderation", "pre")),
                    ),
                )
                message = f"Created event {event.slug} ({event.moderation}-moderation)."
            elif kind == "details":
                slug = str(form.get("event", ""))
                editing = slug
                typed = {name: str(form.get(name, "")) for name in details.FIELDS}
                await events.update_details(stores, slug, typed)
                message = f"Saved the details of {slug}."
            elif kind == "moderator":
                password = new_password()
                added = await events.add_moderator(
                    stores,
                    str(form.get("email", "")),
                    password,
                    event=str(form.get("event", "")),
                    admin=form.get("admin") == "1",
                )
                message = f"{added.email} can log in with this one-time password: {password}"
            elif kind == "source":
                config = await sources.add_source(
                    stores,
                    str(form.get("source_kind", "")),
                    str(form.get("event", "")),
                    **{name: str(form.get(name, "")) for name in kinds.options()},
                )
                message = f"Added {config.describe}; the worker starts it within seconds."
            elif kind == "source-remove":
                source_id = str(form.get("id", ""))
                await sources.remove_source(stores, source_id)
                message = f"Removed source {source_id}."
            else:
                raise PostError("unknown form")
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
