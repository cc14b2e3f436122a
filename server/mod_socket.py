"""The moderators' websocket: every change of the event's `mod` log, for logged-in moderators."""

from __future__ import annotations

import asyncio
import contextlib
import json

from starlette.websockets import WebSocket, WebSocketDisconnect

from server.auth import UNAUTHORIZED_CLOSE, auth, same_origin
from server.services import Services, services
from server.sockets import _close, _serve
from wall.changes import stream_id

# How often an open console's session is re-checked: a moderator logged out elsewhere
# (or whose session expired) stops receiving the queue within this many seconds.
SESSION_RECHECK = 2.0


async def moderator_socket(websocket: WebSocket) -> None:
    """Authorized on connect (else closed with 4401); `?since=ID` resumes the mod log."""
    svc = services(websocket)
    slug = websocket.path_params["slug"]
    found = await auth(websocket).current(websocket)
    # Accept before closing: a close before accept reaches the browser as a bare 403,
    # and the console needs the 4401 code to know it should send the moderator to login.
    await websocket.accept()
    # Origin too: a page on another site must not ride on a moderator's cookie.
    if found is None or not found[1].can_moderate(slug) or not same_origin(websocket):
        await websocket.close(code=UNAUTHORIZED_CLOSE, reason="log in as a moderator of this event")
        return
    if await svc.store.get_event(slug) is None:
        await websocket.close(code=4404, reason="no such event")
        return
    async with svc.hub.subscribe(slug, "mod", kind="moderate") as client:
        since = websocket.query_params.get("since", "")
        try:
            if since:
                changes = await svc.store.changes_since(
                    slug, since, stream="mod", limit=svc.settings.resume_limit
                )
                if changes is None:
                    # Too far behind to replay exactly: the console reloads itself.
                    await websocket.send_text(json.dumps({"type": "reload"}))
                    client.last = stream_id(await svc.store.last_change_id(slug, "mod"))
                else:
                    for change in changes:
                        await websocket.send_text(svc.hub.message(change).data)
                        client.last = stream_id(change.id)
        except (WebSocketDisconnect, RuntimeError, OSError):
            return
        watcher = asyncio.create_task(_watch_session(svc, websocket, found[0].sid))
        try:
            closing = await _serve(svc, websocket, client)
        finally:
            watcher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await watcher
    # The console only listens (decisions are CSRF-checked POSTs): a client that floods the
    # socket or sends something big is closed with the reason.
    if closing is not None:
        await _close(websocket, *closing)


async def _watch_session(svc: Services, websocket: WebSocket, sid: str) -> None:
    """Close the socket with 4401 once its session is gone (logout, expiry)."""
    accounts = auth(websocket).accounts
    while True:
        await asyncio.sleep(SESSION_RECHECK)
        if await accounts.get_session(sid) is None:
            await _close(websocket, UNAUTHORIZED_CLOSE, "session ended")
            return
