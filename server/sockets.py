"""The live websocket: resume from the client's last change id, then stream."""

from __future__ import annotations

import asyncio
import contextlib
import logging

from redis.exceptions import RedisError
from starlette.websockets import WebSocket, WebSocketDisconnect, WebSocketState

from server.frames import direct_writer
from server.hub import TRY_AGAIN_LATER, Client, SlowClient, pump
from server.services import Services, services
from wall.changes import stream_id

log = logging.getLogger(__name__)

MAX_CLIENT_MESSAGES_PER_MINUTE = 60
# Our sockets are read-only: a client has nothing to say longer than a ping.
MAX_CLIENT_MESSAGE = 4096
POLICY_VIOLATION = 1008
# The pages that open the public socket (`?page=`), counted apart in /metrics.
PAGE_KINDS = frozenset({"wall", "live", "embed"})
MESSAGE_TOO_BIG = 1009
# How long a close frame may wait behind a slow client's unread data before we give up on
# a clean close (uvicorn's keepalive ping then tears the connection down).
CLOSE_GRACE = 30.0


async def public_socket(websocket: WebSocket) -> None:
    """Wall and live pages: read-only; `?since=ID` resumes after the last change seen."""
    svc = services(websocket)
    slug = websocket.path_params["slug"]
    if await svc.store.get_event(slug) is None:
        await websocket.close(code=4404, reason="no such event")
        return
    await websocket.accept()
    kind = websocket.query_params.get("page", "")
    kind = kind if kind in PAGE_KINDS else "other"
    async with svc.hub.subscribe(slug, "public", direct_writer(websocket.scope), kind) as client:
        try:
            await _send_missed(svc, websocket, client, websocket.query_params.get("since", ""))
        except (WebSocketDisconnect, RuntimeError, OSError):
            return
        except RedisError as exc:
            # Redis went away mid-resume: the client tries again later from the same id.
            log.warning("resume failed (%s); closing with 1013", exc)
            closing: tuple[int, str] | None = (TRY_AGAIN_LATER, "redis unavailable; resume later")
        else:
            closing = await _serve(svc, websocket, client)
    # Unsubscribed before closing: a slow client's close may wait for its buffer to drain.
    if closing is not None:
        await _close(websocket, *closing)


async def _send_missed(svc: Services, websocket: WebSocket, client: Client, since: str) -> None:
    """Send what the client missed since its last id, or a full re-render if that is lost."""
    if not since:
        return
    changes = await svc.store.changes_since(
        client.event, since, stream=client.stream, limit=svc.settings.resume_limit
    )
    if changes is None:
        last_id, posts = await svc.store.snapshot(client.event, limit=svc.settings.page_size)
        await websocket.send_text(svc.renderer.reset(posts, last_id))
        client.last = stream_id(last_id)
        return
    for change in changes:
        await websocket.send_text(svc.hub.message(change).data)
        client.last = stream_id(change.id)


async def _serve(svc: Services, websocket: WebSocket, client: Client) -> tuple[int, str] | None:
    """Run the writer and the reader side by side until one ends; the close to send, if any."""
    writer = asyncio.create_task(pump(client, websocket.send_text, svc.settings.send_timeout))
    reader = asyncio.create_task(_ignore_input(websocket))
    done, pending = await asyncio.wait({writer, reader}, return_when=asyncio.FIRST_COMPLETED)
    for task in pending:
        task.cancel()
    for task in pending:
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await task
    failure = writer.exception() if writer in done else None
    if isinstance(failure, SlowClient):
        if not client.overflowed:  # overflows are counted by the hub
            svc.hub.stats.dropped_slow += 1
        log.info("closing a slow client of %s with 1013", client.event)
        return TRY_AGAIN_LATER, "too slow; reconnect and resume"
    if reader in done:
        return reader.result()
    return None


async def _ignore_input(websocket: WebSocket) -> tuple[int, str] | None:
    """Read and drop client messages; the close to send if the client floods us."""
    loop = asyncio.get_running_loop()
    window_start, count = loop.time(), 0
    try:
        while True:
            message = await websocket.receive()
            if message["type"] == "websocket.disconnect":
                return None
            size = len(message.get("text") or "") + len(message.get("bytes") or b"")
            if size > MAX_CLIENT_MESSAGE:
                return MESSAGE_TOO_BIG, f"messages are limited to {MAX_CLIENT_MESSAGE} bytes"
            now = loop.time()
            if now - window_start > 60:
                window_start, count = now, 0
            count += 1
            if count > MAX_CLIENT_MESSAGES_PER_MINUTE:
                return POLICY_VIOLATION, "this socket is read-only"
    except (WebSocketDisconnect, RuntimeError, KeyError):
        return None


async def _close(websocket: WebSocket, code: int, reason: str) -> None:
    """Close with a code; the frame waits behind what the client has not read yet, for a while."""
    if websocket.application_state == WebSocketState.DISCONNECTED:
        return
    with contextlib.suppress(Exception):
        await asyncio.wait_for(websocket.close(code=code, reason=reason), CLOSE_GRACE)
