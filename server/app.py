"""The Starlette application: pages, the live websocket, health; Redis owned by the lifespan."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
from collections.abc import AsyncIterator
from pathlib import Path
from typing import cast

from redis.exceptions import RedisClusterException, RedisError
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.gzip import GZipMiddleware
from starlette.routing import Mount, Route, WebSocketRoute
from starlette.staticfiles import StaticFiles
from starlette.types import ExceptionHandler

from server import (
    account,
    admin,
    auth,
    export,
    join_page,
    live,
    metrics,
    moderate,
    pages,
    recap,
    screens,
    sockets,
    uploads,
    wall_page,
)
from server.frames import KeepAsgiSend, http_only
from server.headers import SecurityHeaders, frame_ancestors
from server.hub import Hub
from server.limits import BodyLimit
from server.mod_socket import moderator_socket
from server.outage import Unavailable
from server.render import Renderer
from server.services import Services
from usecases import Stores
from wall.redis_pool import open_redis
from wall.redis_server import EmbeddedRedis
from wall.settings import Settings

log = logging.getLogger(__name__)
STATIC = Path(__file__).resolve().parent.parent / "static"


def create_app(settings: Settings | None = None, *, settle: bool = False) -> Starlette:
    """Build the app; with no settings given, read them from the environment.

    `settle` (the server processes): once started, every template is compiled and what
    start-up allocated is moved out of the garbage collector's sight (`gc.freeze`). A full
    collection otherwise walks all of it, holding the loop 50-60 ms at a time mid-request.
    """
    settings = settings or Settings.from_env()
    renderer = Renderer()

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        embedded: EmbeddedRedis | None = None
        url = settings.redis_url
        if not url:
            embedded = EmbeddedRedis(settings.data_dir)
            url = await asyncio.to_thread(embedded.start)
        redis = open_redis(
            url,
            expected_clients=settings.expected_clients,
            wait=settings.redis_pool_timeout,
            health_check_interval=10,
        )
        stores = Stores.on(redis, settings)
        store = stores.posts
        measured = metrics.Metrics(settings.prometheus_multiproc_dir)
        hub = Hub(
            redis,
            store,
            renderer.fragment,
            queue_size=settings.client_queue,
            observe_fanout=measured.observe_fanout,
        )
        measured.attach(hub)
        app.state.metrics = measured
        app.state.services = Services(settings, redis, store, renderer, hub, stores)
        accounts = stores.accounts  # one per process: one cap on concurrent password hashing
        app.state.auth = auth.Auth.create(accounts, settings)
        listener = asyncio.create_task(hub.run(), name="eventwall-hub")
        sharing = (
            asyncio.create_task(metrics.keep_shared(measured), name="eventwall-metrics")
            if settings.prometheus_multiproc_dir
            else None
        )
        with contextlib.suppress(TimeoutError):
            # Don't serve before the subscription is live, or the first changes would miss it.
            await asyncio.wait_for(hub.subscribed.wait(), 3)
        if settle:
            renderer.compile_all()
            gc.collect()
            gc.freeze()
        try:
            yield
        finally:
            if sharing is not None:
                sharing.cancel()
            listener.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await listener
            await redis.aclose()
            if embedded is not None:
                await asyncio.to_thread(embedded.stop)

    frame_ancestors(settings.embed_origins)  # a bad EMBED_ORIGINS fails at start, not per request
    settings.media_dir.mkdir(parents=True, exist_ok=True)
    routes = [
        Route("/", pages.index),
        Route("/healthz", pages.healthz),
        Route("/metrics", metrics.metrics),
        Route("/e/{slug}/wall", wall_page.wall),
        Route("/e/{slug}/live", live.live_page),
        Route("/e/{slug}/posts", live.older_posts),
        Route("/e/{slug}/gallery", live.gallery),
        Route("/e/{slug}/embed", live.embed),
        Route("/e/{slug}/feed.json", live.feed_json),
        Route("/e/{slug}/feed.atom", live.feed_atom),
        Route("/e/{slug}/recap", recap.recap_page),
        Route("/e/{slug}/export.{kind}", export.download),
        Route("/e/{slug}/post", uploads.post_form, methods=["GET", "POST"]),
        Route("/e/{slug}/join", join_page.join),
        Route("/e/{slug}/screens/{screen}", screens.current),
        Route("/e/{slug}/screens/{screen}/seen", screens.seen, methods=["POST"]),
        Route("/e/{slug}/moderate/screens", screens.panel),
        Route("/e/{slug}/moderate/screens/scene", screens.set_scene, methods=["POST"]),
        WebSocketRoute("/e/{slug}/ws", sockets.public_socket),
        Route("/login", auth.login_page, methods=["GET", "POST"]),
        Route("/logout", auth.logout, methods=["POST"]),
        Route("/account/password", account.password_page, methods=["GET", "POST"]),
        Route("/admin", admin.admin_page, methods=["GET", "POST"]),
        Route("/e/{slug}/moderate", moderate.console),
        Route("/e/{slug}/moderate/counts", moderate.tab_counts),
        Route("/e/{slug}/moderate/decide", moderate.decision, methods=["POST"]),
        Route("/e/{slug}/moderate/undo", moderate.undo, methods=["POST"]),
        Route("/e/{slug}/moderate/warning", moderate.warned_text, methods=["POST"]),
        Route("/e/{slug}/moderate/bulk", moderate.bulk, methods=["POST"]),
        Route("/e/{slug}/moderate/announce", moderate.announce, methods=["POST"]),
        Route("/e/{slug}/moderate/settings", moderate.event_settings, methods=["POST"]),
        Route("/e/{slug}/moderate/optout", moderate.opt_out, methods=["POST"]),
        WebSocketRoute("/e/{slug}/moderate/ws", moderator_socket),
        Mount("/static", StaticFiles(directory=STATIC), name="static"),
        Mount("/media", uploads.MediaFiles(directory=settings.media_dir), name="media"),
    ]
    return Starlette(
        routes=routes,
        lifespan=lifespan,
        # Redis down or no connection free in time: 503 / 1013, never a 500 and a traceback.
        # (cast: Starlette types one handler per connection kind; this one serves both)
        # A cluster mid-failover may also raise RedisClusterException (no node for a slot).
        exception_handlers=dict.fromkeys(
            (RedisError, RedisClusterException), cast(ExceptionHandler, Unavailable())
        ),
        # gzip keeps the live page's first load (htmx included) far under 100 KB on the wire.
        middleware=[
            # First, so it sees the server's own `send` (the live socket's direct frame path).
            Middleware(KeepAsgiSend),
            # HTTP only: a websocket skips these, holding no frame of theirs while open.
            Middleware(http_only(SecurityHeaders)),
            Middleware(
                http_only(
                    BodyLimit,
                    max_body=settings.max_body_bytes,
                    max_upload=settings.media_max_bytes,
                )
            ),
            Middleware(http_only(GZipMiddleware, minimum_size=1024)),
        ],
    )
