"""Named screens, steered live: the walls' "I am here", and the console's screens panel and
scene form (the scene's websocket message: scene_render)."""

from __future__ import annotations

import dataclasses
import time

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response

from server.auth import require_api_moderator
from server.pages import event_or_404
from server.services import services
from wall.layouts import names as layout_names
from wall.mod_store import AuditEntry, ModerationStore, now_ms
from wall.models import THEMES
from wall.screens import MAX_HOLDING, Scene, SceneError, ScreenStore, screen_name


def screen_store(request: Request) -> ScreenStore:
    """The screens store on this process's Redis."""
    svc = services(request)
    return ScreenStore(svc.redis, log_maxlen=svc.settings.changelog_maxlen)


async def seen(request: Request) -> Response:
    """POST from a wall every few seconds: it shows `{screen}` (counted for the console)."""
    slug = request.path_params["slug"]
    await event_or_404(request)
    form = await request.form()
    wall_id = str(form.get("wall", ""))
    name = screen_name(request.path_params["screen"])
    counted = await screen_store(request).seen(slug, name, wall_id, int(time.time() * 1000))
    return Response(status_code=204 if counted else 400)


async def current(request: Request) -> Response:
    """GET: the scene a screen shows now, as JSON; a wall asks on every (re)connect, so one
    that missed changes trimmed off the log still shows what the moderator chose."""
    slug = request.path_params["slug"]
    await event_or_404(request)
    scene = await screen_store(request).scene(slug, screen_name(request.path_params["screen"]))
    return JSONResponse(dataclasses.asdict(scene), headers={"cache-control": "no-store"})


async def panel(request: Request) -> Response:
    """GET (moderators): the screens, how many walls show each, and the scene form."""
    slug = request.path_params["slug"]
    session, _ = await require_api_moderator(request, slug, csrf=False)
    event = await event_or_404(request)
    store = screen_store(request)
    html = services(request).renderer.page(
        "_screens_panel.html",
        event=event,
        csrf=session.csrf,
        walls=await store.walls(slug, int(time.time() * 1000)),
        scenes=await store.scenes(slug),
        layouts=layout_names(),
        themes=THEMES,
        max_holding=MAX_HOLDING,
    )
    return HTMLResponse(html, headers={"cache-control": "no-store"})


async def set_scene(request: Request) -> Response:
    """POST (moderators) screen, layout, theme, cycle, and holding + hold=1 for the holding
    slide: every wall on that screen follows at once."""
    slug = request.path_params["slug"]
    _, moderator = await require_api_moderator(request, slug)
    await event_or_404(request)
    form = await request.form()
    holding = " ".join(str(form.get("holding", "")).split()) if form.get("hold") else ""
    try:
        scene = Scene(
            screen=str(form.get("screen", "")).strip().lower(),
            layout=str(form.get("layout", "")),
            theme=str(form.get("theme", "")),
            cycle=int(str(form.get("cycle", "0") or "0")),
            holding=holding,
        )
    except (SceneError, ValueError) as exc:
        message = str(exc) if isinstance(exc, SceneError) else "cycle: a whole number of seconds"
        return _reply(request, slug, False, message, 400)
    await screen_store(request).set_scene(slug, scene)
    note = f"screen {scene.screen}: " + (f"holding “{holding}”" if holding else "back to the wall")
    await ModerationStore(services(request).redis).record(
        slug, AuditEntry(now_ms(), moderator.email, "scene", "", "", "", note)
    )
    return _reply(request, slug, True, note[0].upper() + note[1:] + ".", 200)


def _reply(request: Request, slug: str, ok: bool, message: str, status: int) -> Response:
    # The console's script asks for JSON; a plain form post goes back to the console.
    if "application/json" in request.headers.get("accept", ""):
        return JSONResponse({"ok": ok, "message": message}, status_code=status)
    if not ok:
        raise HTTPException(status, message)
    return Response(status_code=303, headers={"location": f"/e/{slug}/moderate"})
