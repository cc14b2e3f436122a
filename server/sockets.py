"""The live websocket: resume from the client's last change id, then stream."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncGenerator, Awaitable, Callable

from redis.exceptions import RedisError
from starlette.websockets import WebSocket, WebSocketDisconnect, WebSocketState

from server.frames import abort_connection, cut_for_slowness, direct_writer
from server.hub import TRY_AGAIN_LATER, Client, SlowClient, drain
from server.services import Services, services

log = logging.getLogger(__name__)

MAX_CLIENT_MESSAGES_PER_MINUTE = 60
# Our sockets are read-only: a client has nothing to say longer than a ping.
MAX_CLIENT_MESSAGE = 4096
POLICY_VIOLATION = 1008
# The pages that open the public socket (`?page=`), counted apart in /metrics.
PAGE_KINDS = frozenset({"wall", "live", "embed"})
MESSAGE_TOO_BIG = 1009
Closing = tuple[int, str]  # a close code and its reason
GONE: Closing = (0, "")  # the client went away: nothing to close


async def public_socket(websocket: WebSocket) -> None:
    """Wall and live pages: read-only; `?since=ID` resumes after the last change seen."""
    svc = services(websocket)
    slug = websocket.path_params["slug"]
    event = await svc.store.get_event(slug)
    if event is None:
        await websocket.close(code=4404, reason="no such event")
        return
    svc.renderer.remember(event)  # pushed posts show their times in the event's zone
    kind = websocket.query_params.get("page", "")
    kind = kind if kind in PAGE_KINDS else "other"

    async def lost() -> tuple[str, str]:
        # Too far behind to replay exactly: one message re-renders the whole list.
        last_id, posts = await svc.store.snapshot(slug, limit=svc.settings.page_size)
        return svc.renderer.reset(posts, last_id, event=slug), last_id

    async with svc.hub.subscribe(
        slug,
        "public",
        direct=direct_writer(websocket.scope),
        start_writer=start_writer,
        socket=websocket,
        kind=kind,
    ) as client:
        # Accepted once subscribed: a change published as the client connects is not missed.
        await websocket.accept()
        closing = await resume(svc, websocket, client, lost)
        if closing is None:
            closing = await serve_client(svc, websocket, client)
    # Unsubscribed before closing: a slow client's close may wait for its buffer to drain.
    if closing is not None:
        await close_socket(websocket, *closing)


async def resume(
    svc: Services,
    websocket: WebSocket,
    client: Client,
    lost: Callable[[], Awaitable[tuple[str, str]]],
) -> Closing | None:
    """Send what the client missed after its `?since=` id (or `lost()`'s one message when the
    log can't say); the close to send instead of going live, if any."""
    missed = svc.hub.missed(
        client,
        websocket.query_params.get("since", ""),
        limit=svc.settings.resume_limit,
        lost=lost,
    )
    return await send_missed(websocket, missed)


async def send_missed(websocket: WebSocket, missed: AsyncGenerator[str, None]) -> Closing | None:
    """Send the messages a client missed; the close to send instead of going live, if any."""
    try:
        # aclosing: a replay cut short (the client left) closes its generator at once.
        async with contextlib.aclosing(missed):
            async for data in missed:
                await websocket.send_text(data)
    except (WebSocketDisconnect, RuntimeError, OSError):
        return GONE
    except RedisError as exc:
        # Redis went away mid-resume: the client tries again later from the same id.
        log.warning("resume failed (%s); closing with 1013", exc)
        return TRY_AGAIN_LATER, "redis unavailable; resume later"
    return None


async def serve_client(svc: Services, websocket: WebSocket, client: Client) -> Closing | None:
    """Read (and drop) what the client sends until it leaves, while the hub writes to it;
    the close to send, if any.

    No task of its own while the client is caught up: the hub writes each message straight
    to its socket, or starts a writer task (`start_writer`) that drains its queue and ends.
    That writer closes a slow client with 1013 itself, which ends the reading here.
    """
    client.go_live()
    try:
        closing = await _ignore_input(websocket)
    finally:
        writer = client.writer
        if writer is not None:  # the client left mid-send, or this handler was cancelled
            writer.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await writer
    if cut_for_slowness(websocket.scope):
        # The keepalive found it behind before the hub did; it has its 1013 already.
        svc.hub.stats.dropped_slow += 1
        log.info("closed a slow client of %s with 1013 (its ping went unanswered)", client.event)
        return GONE
    return closing


def start_writer(client: Client) -> asyncio.Task[None]:
    """Start the task sending a client's queued messages (the hub calls this when needed)."""
    return asyncio.get_running_loop().create_task(_write_queued(client))


async def _write_queued(client: Client) -> None:
    """Send what is queued for the client, then end; a slow client is closed with 1013."""
    websocket: WebSocket = client.socket
    svc = services(websocket)
    try:
        await drain(client, websocket.send_text, svc.settings.send_timeout)
    except SlowClient:
        if not client.overflowed:  # overflows are counted by the hub
            svc.hub.stats.dropped_slow += 1
        client.overflowed = True
        client.live = False  # no writer again: this one closes it
        log.info("closing a slow client of %s with 1013", client.event)
        await close_socket(websocket, TRY_AGAIN_LATER, "too slow; reconnect and resume")
    except (WebSocketDisconnect, RuntimeError, OSError):
        pass  # gone: its handler hears of it and unsubscribes it
    finally:
        if client.writer is asyncio.current_task():
            client.writer = None


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


async def close_socket(websocket: WebSocket, code: int, reason: str) -> None:
    """Close with a code; the frame waits behind what the client has not read yet, for a while.

    As long as a pong may take (WS_PING_TIMEOUT): a client that can't take the close frame
    in that time is as good as gone, and its connection is cut rather than left holding its
    buffers until the keepalive notices (uvicorn's close waits for them to drain, forever).
    """
    if (code, reason) == GONE or websocket.application_state == WebSocketState.DISCONNECTED:
        return
    grace = services(websocket).settings.ws_ping_timeout
    try:
        async with asyncio.timeout(grace):
            await websocket.close(code=code, reason=reason)
    except TimeoutError:
        if abort_connection(websocket.scope):
            log.info("cut a client that took no close frame (%d) in %.0fs", code, grace)
    except Exception:
        pass  # the client went away meanwhile
    else:
        # Written, but maybe only into a buffer the client is not reading.
        abort_connection(websocket.scope, after=grace)
