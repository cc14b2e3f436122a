"""The moderation console: the queue page and its forms; the use-cases do the deciding."""

from __future__ import annotations

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response

from server.auth import require_api_moderator, require_moderator
from server.pages import event_or_404
from server.services import services
from usecases import Result, announcements, moderation, queue, rules
from wall.ordering import Cursor

STATUS = {"": 200, "missing": 404, "invalid": 400, "conflict": 409}


async def console(request: Request) -> Response:
    """The queue: one tab of posts (or the audit log), oldest or newest first."""
    svc = services(request)
    slug = request.path_params["slug"]
    session, moderator = await require_moderator(request, slug)
    event = await event_or_404(request)
    tab = request.query_params.get("tab", "pending")
    if tab not in moderation.TABS:
        tab = "pending"
    order = "newest" if request.query_params.get("order") == "newest" else "oldest"
    query = request.query_params.get("q", "")[:200]
    after = Cursor.decode(request.query_params.get("after", ""))
    mod = svc.stores.mod
    since = await svc.store.last_change_id(slug, "mod")
    page = await queue.queue_page(
        svc.stores,
        slug,
        tab,
        newest=order == "newest",
        after=after,
        query=query,
        limit=svc.settings.page_size,
    )
    posts, states = page.posts, page.states
    html = svc.renderer.page(
        "moderate.html",
        event=event,
        moderator=moderator,
        csrf=session.csrf,
        tab=tab,
        order=order,
        tabs={name: [s.value for s in states] for name, states in moderation.TABS.items()},
        posts=posts,
        states=states,
        reasons=await mod.reasons(slug, [p.id for p in posts]),
        pinned=await mod.pinned(slug),
        counts=await moderation.counts(svc.stores, slug),
        audit=await mod.audit(slug, limit=100) if tab == "audit" else [],
        announcement=await mod.announcement(slug),
        rules=await mod.rules(slug),
        opted_out=sorted(await mod.opted_out(slug)),
        since=since,
        query=query,
        paged=after is not None,
        next_page=page.next.encode() if page.next else "",
        scanned=page.scanned,
        back=request.url.path + (f"?{request.url.query}" if request.url.query else ""),
    )
    return HTMLResponse(html, headers={"cache-control": "no-store"})


async def bulk(request: Request) -> Response:
    """POST chosen (`state|post_id`, repeated) and action (approve or reject): one decision
    per selected post, each audited on its own; back to the page the moderator was on."""
    svc = services(request)
    slug = request.path_params["slug"]
    _, moderator = await require_api_moderator(request, slug)
    form = await request.form()
    action = str(form.get("action", ""))
    if action not in {"approve", "reject"}:
        raise HTTPException(400, "action: approve or reject.")
    chosen = []
    for value in form.getlist("chosen")[:500]:
        seen, bar, post_id = str(value).partition("|")
        if bar and post_id:
            chosen.append((post_id, seen))
    results = await queue.decide_many(svc.stores, slug, moderator, chosen, action)
    applied = sum(r.ok for r in results)
    if "application/json" in request.headers.get("accept", ""):
        return JSONResponse({"ok": True, "applied": applied, "refused": len(results) - applied})
    back = str(form.get("back", ""))
    if not back.startswith(f"/e/{slug}/moderate"):
        back = f"/e/{slug}/moderate"
    return RedirectResponse(back, status_code=303)


async def tab_counts(request: Request) -> Response:
    """GET: the live counts for the tabs, as JSON."""
    svc = services(request)
    slug = request.path_params["slug"]
    await require_api_moderator(request, slug, csrf=False)
    counts = await moderation.counts(svc.stores, slug)
    return JSONResponse(counts, headers={"cache-control": "no-store"})


def _reply(request: Request, slug: str, result: Result) -> Response:
    # Scripts ask for JSON; a plain form post (no JavaScript) goes back to the console.
    status = STATUS[result.problem]
    if "application/json" in request.headers.get("accept", ""):
        body = {"ok": result.ok, "state": result.state, "message": result.message}
        return JSONResponse({**body, "status": status}, status_code=status)
    if status == 404:
        raise HTTPException(404, result.message)
    return RedirectResponse(f"/e/{slug}/moderate", status_code=303)


async def decision(request: Request) -> Response:
    """POST post_id, action, expected (the state the moderator saw)."""
    svc = services(request)
    slug = request.path_params["slug"]
    _, moderator = await require_api_moderator(request, slug)
    form = await request.form()
    result = await moderation.decide(
        svc.stores,
        slug,
        moderator,
        str(form.get("post_id", "")),
        str(form.get("action", "")),
        str(form.get("expected", "")),
    )
    return _reply(request, slug, result)


async def warned_text(request: Request) -> Response:
    """POST post_id, shown ("1" or "0"): a content-warned post's text on the wall or not."""
    svc = services(request)
    slug = request.path_params["slug"]
    _, moderator = await require_api_moderator(request, slug)
    form = await request.form()
    result = await moderation.show_warned_text(
        svc.stores, slug, moderator, str(form.get("post_id", "")), form.get("shown") != "0"
    )
    return _reply(request, slug, result)


async def undo(request: Request) -> Response:
    """POST: undo this moderator's last decision, unless someone has moved the post since."""
    svc = services(request)
    slug = request.path_params["slug"]
    _, moderator = await require_api_moderator(request, slug)
    return _reply(request, slug, await moderation.undo_last(svc.stores, slug, moderator))


async def announce(request: Request) -> Response:
    """POST text and minutes to show an announcement on the wall; empty text withdraws it."""
    svc = services(request)
    slug = request.path_params["slug"]
    _, moderator = await require_api_moderator(request, slug)
    form = await request.form()
    if form.get("withdraw") is not None:
        result = await announcements.withdraw(svc.stores, slug, moderator.email)
    else:
        minutes = announcements.clamp_minutes(str(form.get("minutes", "15")))
        text = str(form.get("text", ""))
        result = await announcements.announce(svc.stores, slug, moderator.email, text, minutes)
    return _reply(request, slug, result)


async def event_settings(request: Request) -> Response:
    """POST (admins): moderation mode, blocked words and hashtags, flood limit."""
    svc = services(request)
    slug = request.path_params["slug"]
    _, moderator = await require_api_moderator(request, slug)
    if not moderator.admin:
        raise HTTPException(403, "Only admins change an event's rules.")
    event = await event_or_404(request)
    form = await request.form()
    try:
        flood = int(str(form.get("flood_limit", "5")))
    except ValueError:
        raise HTTPException(400, "flood_limit: a whole number.") from None
    result = await rules.set_rules(
        svc.stores,
        slug,
        moderator.email,
        mode=str(form.get("moderation", event.moderation)),
        blocked_words=str(form.get("blocked_words", "")).split(","),
        blocked_tags=str(form.get("blocked_tags", "")).split(","),
        flood_limit=flood,
        hold_duplicates=form.get("hold_duplicates") == "1",
    )
    if result.problem == "invalid":
        raise HTTPException(400, result.message)
    return _reply(request, slug, result)


async def opt_out(request: Request) -> Response:
    """POST handle and action (add, remove): the event's opt-out list; those authors are never taken."""
    svc = services(request)
    slug = request.path_params["slug"]
    _, moderator = await require_api_moderator(request, slug)
    form = await request.form()
    action = str(form.get("action", "add"))
    if action not in {"add", "remove"}:
        raise HTTPException(400, "handle: required; action: add or remove.")
    handle = str(form.get("handle", ""))
    result = await rules.opt_out(svc.stores, slug, moderator.email, handle, out=action == "add")
    if result.problem == "invalid":
        raise HTTPException(400, "handle: required; action: add or remove.")
    return _reply(request, slug, result)
