"""The moderators' websocket: every change of the event's `mod` log, for logged-in moderators."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging

from redis.exceptions import RedisError
from starlette.websockets import WebSocket

from server.auth import UNAUTHORIZED_CLOSE, auth, same_origin
from server.services import Services, services
from server.sockets import close_socket, resume, serve_client, start_writer

log = logging.getLogger(__name__)

# How often an open console's session is re-checked: a moderator logged out elsewhere
# (or whose session expired) stops receiving the queue within this many seconds.
SESSION_RECHECK = 0.5


async def moderator_socket(websocket: WebSocket) -> None:
    """Authorized on connect (else closed with 4401); `?since=ID` resumes the mod log."""
    svc = services(websocket)
    slug = websocket.path_params["slug"]
    found = await auth(websocket).current(websocket)
    # Accept before closing: a close before accept reaches the browser as a bare 403,
    # and the console needs the 4401 code to know it should send the moderator to login.
    # Origin too: a page on another site must not ride on a moderator's cookie.
    if found is None or not found[1].can_moderate(slug) or not same_origin(websocket):
        await websocket.accept()
        await websocket.close(code=UNAUTHORIZED_CLOSE, reason="log in as a moderator of this event")
        return
    if await svc.store.get_event(slug) is None:
        await websocket.accept()
        await websocket.close(code=4404, reason="no such event")
        return

    async def lost() -> tuple[str, str]:
        # Too far behind to replay exactly: the console reloads itself.
        return json.dumps({"type": "reload"}), await svc.store.last_change_id(slug, "mod")

    async with svc.hub.subscribe(
        slug, "mod", start_writer=start_writer, socket=websocket, kind="moderate"
    ) as client:
        # Accepted once subscribed: a change published as the console connects is not missed.
        await websocket.accept()
        closing = await resume(svc, websocket, client, lost)
        if closing is None:
            watcher = asyncio.create_task(_watch_session(svc, websocket, found[0].sid))
            try:
                closing = await serve_client(svc, websocket, client)
            finally:
                watcher.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await watcher
    # The console only listens (decisions are CSRF-checked POSTs): a client that floods the
    # socket or sends something big is closed with the reason.
    if closing is not None:
        await close_socket(websocket, *closing)


async def _watch_session(svc: Services, websocket: WebSocket, sid: str) -> None:
    """Close the socket with 4401 once its session is gone (logout, expiry).

    A Redis error skips one check, never ends the watch: a console left open across an
    outage must still close once its moderator logs out.
    """
    accounts = auth(websocket).accounts
    failing = False
    while True:
        await asyncio.sleep(SESSION_RECHECK)
        try:
            session = await accounts.get_session(sid)
        except (RedisError, OSError) as exc:
            if not failing:
                log.warning("cannot check a console session (%s); checking again", exc)
            failing = True
            continue
        if failing:
            log.info("console session checks work again")
            failing = False
        if session is None:
            await close_socket(websocket, UNAUTHORIZED_CLOSE, "session ended")
            return
