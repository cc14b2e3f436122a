"""The admin page: events, moderators and sources, from the browser (admins only)."""

from __future__ import annotations

import time

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response

from server.auth import auth, check_csrf, require_moderator
from server.services import services
from wall import details
from wall.accounts import Moderator, Session, new_password
from wall.models import Event, PostError, normalize_tag
from wall.sources import KINDS, SourceConfig, SourceRegistry


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
        try:
            if kind == "event":
                event = Event(
                    slug=str(form.get("slug", "")).strip(),
                    title=str(form.get("title", "")).strip(),
                    hashtags=tuple(
                        t
                        for t in (normalize_tag(x) for x in str(form.get("tags", "")).split(","))
                        if t
                    ),
                    moderation=str(form.get("moderation", "pre")),
                )
                if await svc.store.get_event(event.slug) is not None:
                    raise PostError(f"slug: {event.slug!r} already exists")
                await svc.store.save_event(event)
                message = f"Created event {event.slug} ({event.moderation}-moderation)."
            elif kind == "details":
                slug = str(form.get("event", ""))
                found = await svc.store.get_event(slug)
                if found is None:
                    raise PostError(f"event: no event called {slug!r}")
                editing = slug
                changes = typed = {name: str(form.get(name, "")) for name in details.FIELDS}
                await svc.store.save_event(details.apply(found, changes))
                message = f"Saved the details of {slug}."
            elif kind == "moderator":
                slug = str(form.get("event", ""))
                make_admin = form.get("admin") == "1"
                if not make_admin and await svc.store.get_event(slug) is None:
                    raise PostError("event: choose an event, or make the moderator an admin")
                password = new_password()
                added = await auth(request).accounts.add(
                    str(form.get("email", "")), password, event=slug, admin=make_admin
                )
                message = f"{added.email} can log in with this one-time password: {password}"
            elif kind == "source":
                config = SourceConfig.create(
                    str(form.get("source_kind", "")),
                    str(form.get("event", "")),
                    server=str(form.get("server", "")).strip(),
                    tag=str(form.get("tag", "")).strip(),
                    url=str(form.get("url", "")).strip(),
                    token=str(form.get("token", "")).strip(),
                )
                if await svc.store.get_event(config.event) is None:
                    raise PostError(f"event: no event {config.event!r}")
                await SourceRegistry(svc.redis).add(config)
                message = f"Added {config.describe}; the worker starts it within seconds."
            elif kind == "source-remove":
                source_id = str(form.get("id", ""))
                if not await SourceRegistry(svc.redis).remove(source_id):
                    raise PostError(f"source: no source {source_id!r}")
                message = f"Removed source {source_id}."
            else:
                raise PostError("unknown form")
        except (PostError, ValueError) as exc:
            error, status = str(exc), 400
    events = await svc.store.list_events()
    chosen = next((e for e in events if e.slug == editing), None)
    values = details.current(chosen) if chosen else {}
    if error and typed:
        values = typed  # a refused form keeps what was typed
    html = svc.renderer.page(
        "admin.html",
        editing=chosen,
        detail_values=values,
        moderator=moderator,
        csrf=session.csrf,
        events=events,
        moderators=await auth(request).accounts.all(),
        sources=await _sources(SourceRegistry(svc.redis)),
        kinds=KINDS,
        message=message,
        error=error,
    )
    return HTMLResponse(html, status_code=status, headers={"cache-control": "no-store"})


async def _sources(registry: SourceRegistry) -> list[tuple[SourceConfig, str]]:
    """Every configured source with its status line."""
    now = time.time()
    return [(c, (await registry.status(c.id)).summary(now)) for c in await registry.list()]
