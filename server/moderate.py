"""The moderation console: the queue page, decisions (first one wins), undo, announcements."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response

from server.auth import require_api_moderator, require_moderator
from server.pages import event_or_404
from server.services import Services, services
from wall.accounts import Moderator
from wall.mod_store import Announcement, AuditEntry, ModerationStore, now_ms
from wall.moderation import ActionError, State, target_state
from wall.store import _key

TABS: dict[str, tuple[State, ...]] = {
    "pending": (State.PENDING,),
    "approved": (State.APPROVED,),
    "rejected": (State.REJECTED, State.HIDDEN),
    "audit": (),
}
MAX_ANNOUNCEMENT = 140


def moderation(svc: Services) -> ModerationStore:
    """The moderation store on this process's Redis."""
    return ModerationStore(svc.redis, log_maxlen=svc.settings.changelog_maxlen)


async def counts(svc: Services, slug: str) -> dict[str, int]:
    """Posts on each tab, read in one transaction so the tabs always add up."""
    async with svc.redis.pipeline(transaction=True) as pipe:
        for state in State:
            pipe.zcard(_key(slug, f"idx:{state.value}"))
        sizes = dict(zip(State, await pipe.execute(), strict=True))
    return {tab: sum(int(sizes[s]) for s in states) for tab, states in TABS.items() if states}


async def console(request: Request) -> Response:
    """The queue: one tab of posts (or the audit log), oldest or newest first."""
    svc = services(request)
    slug = request.path_params["slug"]
    session, moderator = await require_moderator(request, slug)
    event = await event_or_404(request)
    tab = request.query_params.get("tab", "pending")
    if tab not in TABS:
        tab = "pending"
    order = "newest" if request.query_params.get("order") == "newest" else "oldest"
    mod = moderation(svc)
    since = await svc.store.last_change_id(slug, "mod")
    posts, states = [], {}
    for state in TABS[tab]:
        for post in await svc.store.posts(slug, state, limit=svc.settings.page_size):
            posts.append(post)
            states[post.id] = state.value
    posts.sort(key=lambda p: p.created_ms, reverse=order == "newest")
    html = svc.renderer.page(
        "moderate.html",
        event=event,
        moderator=moderator,
        csrf=session.csrf,
        tab=tab,
        order=order,
        posts=posts,
        states=states,
        reasons=await mod.reasons(slug, [p.id for p in posts]),
        pinned=await mod.pinned(slug),
        counts=await counts(svc, slug),
        audit=await mod.audit(slug, limit=100) if tab == "audit" else [],
        announcement=await mod.announcement(slug),
        rules=await mod.rules(slug),
        opted_out=sorted(await mod.opted_out(slug)),
        since=since,
    )
    return HTMLResponse(html, headers={"cache-control": "no-store"})


async def tab_counts(request: Request) -> Response:
    """GET: the live counts for the tabs, as JSON."""
    svc = services(request)
    slug = request.path_params["slug"]
    await require_api_moderator(request, slug, csrf=False)
    return JSONResponse(await counts(svc, slug), headers={"cache-control": "no-store"})


@dataclass(frozen=True, slots=True)
class Result:
    """What a decision did, for the moderator who asked."""

    ok: bool
    state: str
    message: str
    status: int = 200


async def decide(
    svc: Services, slug: str, moderator: Moderator, post_id: str, action: str, expected: str
) -> Result:
    """Apply one moderator's action; a post another moderator has moved meanwhile is refused."""
    mod = moderation(svc)
    post = await svc.store.get_post(slug, post_id)
    current = await svc.store.get_state(slug, post_id)
    if post is None or current is None:
        return Result(False, "", f"No post {post_id!r} in this event.", 404)
    try:
        seen = State(expected) if expected else current
    except ValueError:
        return Result(False, current.value, f"Unknown state {expected!r}.", 400)
    try:
        target = target_state(action, seen)
    except ActionError as exc:
        return Result(False, current.value, f"{exc}.", 409)
    who = moderator.email
    if current != seen:
        return await _refused(mod, slug, who, action, post_id, seen, current)
    if action in {"ban", "trust"}:
        await mod.set_author(slug, post.author.handle, "banned" if action == "ban" else "trusted")
    if target != State.APPROVED:
        # Out of the spotlight before it leaves the wall, so no moment shows it there alone.
        await mod.pin(slug, post_id, False)
    outcome = await svc.store.set_state(
        slug, post_id, target, expected=seen, actor=who, reason=action
    )
    if outcome.conflict:
        return await _refused(mod, slug, who, action, post_id, seen, State(outcome.previous))
    if action == "pin" and not await mod.pin(slug, post_id, True):
        return Result(False, "", "Not pinned: the post is no longer approved.", 409)
    await mod.record(slug, AuditEntry(now_ms(), who, action, post_id, seen.value, target.value))
    await mod.set_reason(slug, post_id, f"{action} by {who}")
    return Result(True, target.value, f"{_past(action)}.")


async def _refused(
    mod: ModerationStore,
    slug: str,
    who: str,
    action: str,
    post_id: str,
    seen: State,
    current: State,
) -> Result:
    first = await mod.last_decider(slug, post_id)
    by = f" by {first.actor}" if first else ""
    await mod.record(
        slug,
        AuditEntry(
            now_ms(),
            who,
            action,
            post_id,
            current.value,
            current.value,
            f"expected {seen.value}",
            outcome="refused",
        ),
    )
    return Result(
        False, current.value, f"Already {current.value}{by}: your {action} was not applied.", 409
    )


def _past(action: str) -> str:
    return {
        "approve": "Approved",
        "reject": "Rejected",
        "hide": "Hidden from the wall",
        "restore": "Back in the queue",
        "pin": "In the spotlight on the wall",
        "ban": "Author banned, post rejected",
        "trust": "Author trusted, post approved",
    }.get(action, action)


def _reply(request: Request, slug: str, result: Result) -> Response:
    # Scripts ask for JSON; a plain form post (no JavaScript) goes back to the console.
    if "application/json" in request.headers.get("accept", ""):
        return JSONResponse(dataclasses.asdict(result), status_code=result.status)
    if result.status == 404:
        raise HTTPException(404, result.message)
    return RedirectResponse(f"/e/{slug}/moderate", status_code=303)


async def decision(request: Request) -> Response:
    """POST post_id, action, expected (the state the moderator saw)."""
    svc = services(request)
    slug = request.path_params["slug"]
    _, moderator = await require_api_moderator(request, slug)
    form = await request.form()
    result = await decide(
        svc,
        slug,
        moderator,
        str(form.get("post_id", "")),
        str(form.get("action", "")),
        str(form.get("expected", "")),
    )
    return _reply(request, slug, result)


async def undo(request: Request) -> Response:
    """POST: undo this moderator's last decision, unless someone has moved the post since."""
    svc = services(request)
    slug = request.path_params["slug"]
    _, moderator = await require_api_moderator(request, slug)
    result = await undo_last(svc, slug, moderator)
    return _reply(request, slug, result)


async def undo_last(svc: Services, slug: str, moderator: Moderator) -> Result:
    """Move the post of the moderator's last decision back to the state it came from."""
    mod = moderation(svc)
    last = await mod.last_decision(slug, moderator.email)
    if last is None:
        return Result(False, "", "Nothing to undo.", 409)
    before, after = State(last.from_state), State(last.to_state)
    if before != State.APPROVED or last.action == "pin":
        await mod.pin(slug, last.post_id, False)  # out of the spotlight before off the wall
    outcome = await svc.store.set_state(
        slug, last.post_id, before, expected=after, actor=moderator.email, reason="undo"
    )
    if outcome.missing:
        await mod.forget_last(slug, moderator.email)
        return Result(False, "", "That post no longer exists.", 404)
    if outcome.conflict:
        return Result(False, outcome.previous, "Someone has changed that post since.", 409)
    post = await svc.store.get_post(slug, last.post_id)
    if post is not None and last.action in {"ban", "trust"}:
        standing = "banned" if last.action == "ban" else "trusted"
        await mod.clear_author(slug, post.author.handle, standing)
    await mod.forget_last(slug, moderator.email)
    await mod.record(
        slug,
        AuditEntry(
            now_ms(), moderator.email, "undo", last.post_id, after.value, before.value, last.action
        ),
    )
    await mod.set_reason(slug, last.post_id, f"undo of {last.action} by {moderator.email}")
    return Result(True, before.value, f"Undone: {last.action}; the post is {before.value} again.")


async def announce(request: Request) -> Response:
    """POST text and minutes to show an announcement on the wall; empty text withdraws it."""
    svc = services(request)
    slug = request.path_params["slug"]
    _, moderator = await require_api_moderator(request, slug)
    form = await request.form()
    text = " ".join(str(form.get("text", "")).split())[:MAX_ANNOUNCEMENT]
    try:
        minutes = max(1, min(24 * 60, int(str(form.get("minutes", "15")))))
    except ValueError:
        minutes = 15
    mod = moderation(svc)
    if text and form.get("withdraw") is None:
        note = Announcement(text, now_ms() + minutes * 60_000, moderator.email)
        await mod.announce(slug, note)
        result = Result(True, "", f"Announcement shown for {minutes} minutes.")
        action = "announce"
    else:
        await mod.announce(slug, None)
        result, action, text = Result(True, "", "Announcement withdrawn."), "withdraw", ""
    await mod.record(slug, AuditEntry(now_ms(), moderator.email, action, "", "", "", text))
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
    mode = str(form.get("moderation", event.moderation))
    if mode not in {"pre", "post"}:
        raise HTTPException(400, "moderation: 'pre' or 'post'.")
    await svc.store.save_event(dataclasses.replace(event, moderation=mode))
    try:
        flood = int(str(form.get("flood_limit", "5")))
    except ValueError:
        raise HTTPException(400, "flood_limit: a whole number.") from None
    await moderation(svc).set_rules(
        slug,
        blocked_words=str(form.get("blocked_words", "")).split(","),
        blocked_tags=str(form.get("blocked_tags", "")).split(","),
        flood_limit=flood,
        hold_duplicates=form.get("hold_duplicates") == "1",
    )
    await moderation(svc).record(
        slug, AuditEntry(now_ms(), moderator.email, "rules", "", "", "", f"mode {mode}")
    )
    return _reply(request, slug, Result(True, "", "Rules saved."))


async def opt_out(request: Request) -> Response:
    """POST handle and action (add, remove): the event's opt-out list; those authors are never taken."""
    svc = services(request)
    slug = request.path_params["slug"]
    _, moderator = await require_api_moderator(request, slug)
    form = await request.form()
    handle = " ".join(str(form.get("handle", "")).split())[:200]
    action = str(form.get("action", "add"))
    if not handle.lstrip("@") or action not in {"add", "remove"}:
        raise HTTPException(400, "handle: required; action: add or remove.")
    await moderation(svc).opt_out(slug, handle, out=action == "add")
    await moderation(svc).record(
        slug, AuditEntry(now_ms(), moderator.email, f"opt-out {action}", "", "", "", handle)
    )
    message = f"{handle} opted out." if action == "add" else f"{handle} is back in."
    return _reply(request, slug, Result(True, "", message))
