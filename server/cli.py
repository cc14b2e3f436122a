"""The `eventwall` command: run everything, or the web server, worker and tools on their own."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
import errno
import functools
import logging
import os
import signal
import socket
import sys
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import uvicorn
from redis.exceptions import ConnectionError as RedisConnectionError
from starlette.types import ASGIApp

from server import branding, export_cli, logs, optout_cli, procs, sources_cli
from server.headers import frame_ancestors
from usecases import Stores, events, moderators, rules
from wall import details, layouts
from wall.accounts import Moderator
from wall.redis_pool import open_redis
from wall.redis_server import EmbeddedRedis, EmbeddedRedisError
from wall.settings import Settings
from wall.store import Store

log = logging.getLogger("eventwall")


@contextlib.contextmanager
def redis_url(settings: Settings, *, owner: bool = False) -> Iterator[Settings]:
    """Settings with a Redis URL: REDIS_URL, this data folder's running server, or a new one.

    `owner` (`eventwall run`): this process must own the embedded server, not share another
    process's, and restarts it if it dies.
    """
    if settings.redis_url:
        yield settings
        return
    embedded = EmbeddedRedis(settings.data_dir)
    url = embedded.start(exclusive=owner, watch=True)
    try:
        yield dataclasses.replace(settings, redis_url=url)
    finally:
        embedded.stop()


@contextlib.asynccontextmanager
async def open_stores(settings: Settings) -> AsyncIterator[Stores]:
    """Every store on the settings' Redis, closed afterwards."""
    redis = open_redis(
        settings.redis_url,
        expected_clients=settings.expected_clients,
        wait=settings.redis_pool_timeout,
    )
    try:
        yield Stores.on(redis, settings)
    finally:
        await redis.aclose()


@contextlib.asynccontextmanager
async def open_store(settings: Settings) -> AsyncIterator[Store]:
    """The post store on the settings' Redis, closed afterwards."""
    async with open_stores(settings) as stores:
        yield stores.posts


class _Server(uvicorn.Server):
    """uvicorn without its own signal handling, for `eventwall run`: the command stops the
    worker after the web server and exits by itself (uvicorn would re-raise the SIGTERM)."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        """Leave the signals to the command."""
        yield


def uvicorn_config(app: ASGIApp, settings: Settings, host: str, port: int) -> uvicorn.Config:
    """How uvicorn serves Eventwall (the tests of the direct frame path use it too)."""
    from server.ws_protocol import GuardedWebSocketProtocol

    return uvicorn.Config(
        app,
        host=host,
        port=port,
        log_level="info",
        # Our root logger (text or JSON), not uvicorn's own handlers.
        log_config=None,
        # On SIGTERM uvicorn stops accepting, closes every websocket with 1012 (the clients
        # reconnect, elsewhere or here once restarted) and waits this long for the rest.
        timeout_graceful_shutdown=max(1, round(settings.shutdown_timeout)),
        ws_max_size=64 * 1024,
        # uvicorn's sans-io protocol with every frame counted, pings included.
        ws=GuardedWebSocketProtocol,
        # Forwarding headers only from the proxies named, never by default: uvicorn would
        # believe any from loopback, so behind a local proxy every client could pick its
        # own address (and get past the rate limits keyed on it).
        proxy_headers=bool(settings.forwarded_allow_ips),
        forwarded_allow_ips=settings.forwarded_allow_ips or "",
        # Long enough that a slow but live client is closed by our own 1013 (which it
        # resumes from) before the keepalive cuts it without a close frame.
        ws_ping_interval=settings.ws_ping_interval or None,
        ws_ping_timeout=settings.ws_ping_timeout,
        # Every client gets the same bytes: compressing them per client would cost CPU per
        # client per message, the one cost a fan-out server must not pay.
        ws_per_message_deflate=False,
        # Which process answered, on every response and websocket handshake: behind one port
        # (`--workers N`) or a proxy, it tells the processes apart (the pid of the JSON logs).
        headers=[("x-eventwall-process", str(os.getpid()))],
    )


def web_server(
    settings: Settings, host: str, port: int, cls: type[uvicorn.Server] = uvicorn.Server
) -> uvicorn.Server:
    """The web server `eventwall web` runs (the benchmark runs the same one)."""
    from server.app import create_app

    return cls(uvicorn_config(create_app(settings, settle=True), settings, host, port))


def _serve_web(
    settings: Settings, host: str, port: int, reuse_port: bool, supervisor: int | None
) -> None:
    """`eventwall web`: on its own port, or (`--reuse-port`) sharing it with its siblings."""
    if supervisor is not None:
        procs.exit_with_parent(supervisor)
    if not reuse_port:
        web_server(settings, host, port).run()
        return
    try:
        procs.serve_shared(web_server(settings, host, port, procs.SharedPortServer))
    except OSError as exc:
        raise PortError(procs.bind_error(host, port, exc)) from None


def _banner(settings: Settings, host: str, port: int, workers: int) -> str:
    """What `eventwall run` prints once it serves: where to look."""
    base = f"http://{host}:{port}"
    processes = f", {workers} web processes" if workers > 1 else ""
    return (
        f"\nEventwall is running (Redis: {settings.redis_url}{processes})\n"
        f"  wall:       {base}/e/demo/wall\n"
        f"  live page:  {base}/e/demo/live\n"
        f"  moderate:   {base}/e/demo/moderate (.venv/bin/eventwall moderator add EMAIL --event demo)\n"
        f"  all events: {base}/\n"
        f"Stop with Ctrl-C.\n"
    )


async def _run_many(settings: Settings, host: str, port: int, workers: int) -> None:
    """The worker here, and `workers` web processes sharing the port, supervised."""
    from ingest.worker import run_worker

    try:
        async with open_store(settings) as store:
            await procs.run_many(
                settings,
                host,
                port,
                workers,
                banner=functools.partial(_banner, settings, host, workers=workers),
                worker=functools.partial(run_worker, settings, store),
            )
    except procs.StartError as exc:
        raise PortError(str(exc)) from None
    except OSError as exc:
        raise PortError(procs.bind_error(host, port, exc)) from None


async def _run_all(settings: Settings, host: str, port: int) -> None:
    from ingest.worker import run_worker

    server = web_server(settings, host, port, _Server)

    def stop() -> None:
        # Graceful only: uvicorn closes the websockets with 1012 and runs the lifespan's
        # shutdown, bounded by SHUTDOWN_TIMEOUT.
        server.should_exit = True

    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop)
    async with open_store(settings) as store, asyncio.TaskGroup() as group:
        web = group.create_task(server.serve())
        # uvicorn offers a flag, not an event, for "listening".
        while not server.started and not web.done():  # noqa: ASYNC110
            await asyncio.sleep(0.05)
        if server.started:
            print(_banner(settings, host, port, 1), flush=True)
        worker = group.create_task(run_worker(settings, store))
        await web
        worker.cancel()


async def _replay(settings: Settings, args: argparse.Namespace) -> int:
    from server import replay_cli  # the ingest side is imported by the commands that use it

    async with open_store(settings) as store:
        return await replay_cli.run(store, settings, args)


async def _create_event(settings: Settings, args: argparse.Namespace) -> int:
    async with open_stores(settings) as stores:
        try:
            event = events.new_event(
                args.slug,
                args.title,
                args.tag,
                moderation=args.moderation,
                description=args.description,
                layout=args.layout,
                theme=args.theme,
                accent=args.accent,
                join_url=args.join_url,
                extra={"show_sensitive": True} if args.show_sensitive else {},
            )
            # The logo and sponsors are fetched and made local before the event is saved.
            event = await branding.brand(
                settings, event, logo_url=args.logo_url, sponsors=args.sponsor
            )
            event = await events.create_event(
                stores, event, _detail_changes(args), replace=args.replace
            )
        except (ValueError, branding.BrandingError) as exc:
            hint = "; add --replace to replace it" if "already exists" in str(exc) else ""
            print(f"error: {exc}{hint}", file=sys.stderr)
            return 2
    print(f"saved event {event.slug} ({event.moderation}-moderated): /e/{event.slug}/wall")
    return 0


def _detail_changes(args: argparse.Namespace) -> dict[str, str]:
    """The event details given on the command line (an empty value clears one)."""
    given = {name: getattr(args, name, None) for name in details.FIELDS}
    return {name: value for name, value in given.items() if value is not None}


async def _update_event(settings: Settings, args: argparse.Namespace) -> int:
    async with open_stores(settings) as stores:
        try:
            event = await events.update_details(stores, args.slug, _detail_changes(args))
            if args.logo_url is not None or args.sponsor is not None:
                event = await branding.brand(
                    settings, event, logo_url=args.logo_url, sponsors=args.sponsor
                )
                await stores.posts.save_event(event)
        except (ValueError, branding.BrandingError) as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2
    shown = {k: v for k, v in details.current(event).items() if v}
    print(
        f"updated event {event.slug}: "
        + (", ".join(f"{k}={v}" for k, v in shown.items()) or "no details")
    )
    return 0


async def _export(settings: Settings, args: argparse.Namespace) -> int:
    async with open_store(settings) as store:
        return await export_cli.run(store, settings, args)


def _add_detail_options(parser: argparse.ArgumentParser) -> None:
    """The event-detail options shared by `event create` and `event update`."""
    group = parser.add_argument_group("event details (an empty value clears one)")
    group.add_argument("--starts-at", help="start, ISO 8601 with offset: 2026-11-23T19:00+01:00")
    group.add_argument("--ends-at", help="end, ISO 8601 with offset")
    group.add_argument("--timezone", help="IANA time zone of the recap's chart, e.g. Europe/Paris")
    group.add_argument("--venue", help="where it happens")
    group.add_argument("--next-title", help="the next event's title")
    group.add_argument("--next-url", help="the next event's http(s) link")
    group.add_argument("--next-starts-at", help="the next event's start, ISO 8601 with offset")


def _add_branding_options(parser: argparse.ArgumentParser) -> None:
    """The branding options shared by `event create` and `event update`."""
    group = parser.add_argument_group("branding (an https URL is fetched once and stored locally)")
    group.add_argument("--logo-url", help="logo shown on the wall (https URL or /path)")
    group.add_argument(
        "--sponsor",
        action="append",
        help="a sponsor's logo for the wall's rotating strip (repeatable; '' clears the strip)",
    )


async def _set_mode(settings: Settings, slug: str, moderation: str) -> int:
    async with open_stores(settings) as stores:
        result = await rules.set_mode(stores, slug, "command line", moderation)
    if not result.ok:
        print(f"error: {result.message}", file=sys.stderr)
        return 2
    print(result.message)
    return 0


async def _rebuild_stats(settings: Settings, slug: str) -> int:
    from wall.aggregates import Aggregates

    async with open_store(settings) as store:
        if await store.get_event(slug) is None:
            print(f"error: no event called {slug!r}", file=sys.stderr)
            return 2
        read = await Aggregates(store.redis).rebuild(slug)
    if read < 0:
        print(f"error: the stats of {slug} are being rebuilt already", file=sys.stderr)
        return 1
    print(f"event {slug}: stats rebuilt from {read} posts")
    return 0


async def _moderator(settings: Settings, args: argparse.Namespace) -> int:
    """`moderator add|reset|remove|list`, through the same use-cases as /admin."""
    async with open_stores(settings) as stores:
        try:
            if args.moderator_command == "list":
                everyone = await stores.accounts.all()
                for one in everyone:
                    print(f"{one.email}\t{_role(one)}")
                if not everyone:
                    print(
                        "no moderators: add one with `eventwall moderator add EMAIL --event SLUG`"
                    )
                return 0
            if args.moderator_command == "remove":
                removed = await moderators.remove_moderator(stores, args.email)
                print(f"removed {removed.email}; their sessions are closed")
                return 0
            if args.moderator_command == "reset":
                password = await moderators.reset_password(stores, args.email)
                print(f"{args.email}: logged out everywhere")
                print(f"initial password (shown once; changed at first login): {password}")
                return 0
            if args.password_stdin:
                chosen = sys.stdin.readline().rstrip("\n")
                moderator = await moderators.add_moderator(
                    stores, args.email, chosen, event=args.event, admin=args.admin
                )
                print(f"{moderator.email}: {_role(moderator)}")
                return 0
            invited = await moderators.invite(
                stores, args.email, event=args.event, admin=args.admin
            )
        except ValueError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2
    print(f"{invited.moderator.email}: {_role(invited.moderator)}")
    if invited.password:
        print(f"initial password (shown once; changed at first login): {invited.password}")
    else:
        print(
            "already had an account: password unchanged "
            f"(`eventwall moderator reset {invited.moderator.email}` gives a new one)"
        )
    return 0


def _role(moderator: Moderator) -> str:
    if moderator.admin:
        return "admin (every event)"
    return "moderator of " + (", ".join(moderator.events) or "no event")


def build_parser() -> argparse.ArgumentParser:
    """The command line, every subcommand documented in docs/commands.md."""
    parser = argparse.ArgumentParser(prog="eventwall", description=__doc__)
    parser.add_argument(
        "--debug", action="store_true", help="show the full traceback of an unexpected error"
    )
    sub = parser.add_subparsers(dest="command", required=True)

    run = sub.add_parser("run", help="embedded Redis (unless REDIS_URL), web server and worker")
    web = sub.add_parser("web", help="the web server alone")
    for p in (run, web):
        p.add_argument("--host", default=None, help="listen address (default: HOST)")
        p.add_argument("--port", type=port_number, default=None, help="listen port (default: PORT)")
    run.add_argument(
        "--workers",
        type=worker_number,
        default=None,
        help="web processes sharing the port (default: WEB_WORKERS; 0: one per core, at most 8)",
    )
    web.add_argument(
        "--reuse-port",
        action="store_true",
        help="share the port with other `eventwall web --reuse-port` processes (SO_REUSEPORT)",
    )
    # Set by `eventwall run --workers N` for its children: stop when it dies.
    web.add_argument("--supervisor", type=int, default=None, help=argparse.SUPPRESS)

    ingest = sub.add_parser("ingest", help="the ingest worker and importers")
    ingest_sub = ingest.add_subparsers(dest="ingest_command", required=True)
    ingest_sub.add_parser("worker", help="run the configured sources until stopped")
    replay = ingest_sub.add_parser("replay", help="take posts from a JSONL file")
    replay.add_argument("file", type=Path)
    replay.add_argument("--event", required=True, help="event slug (created if missing)")
    replay.add_argument("--rate", type=float, default=0, help="posts a second (0: all at once)")
    replay.add_argument(
        "--moderation",
        choices=["pre", "post"],
        default="post",
        help="mode of an event the replay creates (default post: an archive is already curated)",
    )

    event = sub.add_parser("event", help="manage events")
    event_sub = event.add_subparsers(dest="event_command", required=True)
    create = event_sub.add_parser("create", help="create an event (--replace: replace one)")
    create.add_argument("slug")
    create.add_argument("--title", required=True)
    create.add_argument("--tag", action="append", default=[], help="a hashtag (repeatable)")
    create.add_argument("--description", default="")
    create.add_argument(
        "--replace", action="store_true", help="replace an existing event with this slug"
    )
    create.add_argument("--layout", default="grid", help=f"wall layout ({layouts.described()})")
    create.add_argument("--theme", default="dark", help="wall theme: dark, light or contrast")
    create.add_argument("--accent", default="", help="accent colour as #rrggbb")
    create.add_argument(
        "--join-url", default="", help="where the QR code goes (default: live page)"
    )
    create.add_argument(
        "--moderation", choices=["pre", "post"], default="pre", help="moderation mode (default pre)"
    )
    _add_detail_options(create)
    _add_branding_options(create)
    update = event_sub.add_parser(
        "update", help="set an event's times, venue, next event and branding"
    )
    update.add_argument("slug")
    _add_detail_options(update)
    _add_branding_options(update)
    create.add_argument(
        "--show-sensitive",
        action="store_true",
        help="show photos marked sensitive unblurred on the wall and live page",
    )
    mode = event_sub.add_parser("mode", help="switch an event between pre- and post-moderation")
    mode.add_argument("slug")
    mode.add_argument("moderation", choices=["pre", "post"])
    rebuild = event_sub.add_parser(
        "rebuild-stats", help="recompute an event's recap and wall stats from its posts"
    )
    rebuild.add_argument("slug")

    moderator = sub.add_parser("moderator", help="manage moderators")
    moderator_sub = moderator.add_subparsers(dest="moderator_command", required=True)
    add = moderator_sub.add_parser(
        "add", help="create a moderator; prints an initial password, changed at first login"
    )
    add.add_argument("email")
    add.add_argument("--event", default="", help="event slug the moderator may moderate")
    add.add_argument("--admin", action="store_true", help="moderates every event, adds others")
    add.add_argument(
        "--password-stdin",
        action="store_true",
        help="read the password from stdin instead (kept: no change at first login)",
    )
    reset = moderator_sub.add_parser(
        "reset", help="a new initial password for a moderator; logs them out everywhere"
    )
    reset.add_argument("email")
    remove = moderator_sub.add_parser("remove", help="delete a moderator; logs them out")
    remove.add_argument("email")
    moderator_sub.add_parser("list", help="moderators and their events")
    sources_cli.add_parser(sub)
    export_cli.add_parser(sub)
    optout_cli.add_parser(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of the `eventwall` console script: an exit code, and never a traceback
    unless `--debug` asks for one."""
    args = build_parser().parse_args(argv)
    try:
        return _main(args)
    except KeyboardInterrupt:
        return 0
    except (EmbeddedRedisError, DataDirError, PortError) as exc:
        # Said in one line: a full or read-only disk, another process owning DATA_DIR, a
        # port taken.
        if args.debug:
            raise
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except RedisConnectionError as exc:
        if args.debug:
            raise
        print(
            f"error: Redis does not answer ({_first_line(exc)}); check REDIS_URL, "
            "or leave it empty to use the embedded one",
            file=sys.stderr,
        )
        return 1
    except Exception as exc:
        if args.debug:
            raise
        print(
            f"error: {type(exc).__name__}: {_first_line(exc)}\n"
            "(run again with --debug for the details)",
            file=sys.stderr,
        )
        return 1


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else "no details"


def _main(args: argparse.Namespace) -> int:
    try:
        settings = Settings.from_env()
        frame_ancestors(settings.embed_origins)  # a bad EMBED_ORIGINS, said before starting
        logs.configure(settings.log_format)
    except ValueError as exc:
        print(f"error: bad setting: {exc}", file=sys.stderr)
        return 2
    host = getattr(args, "host", None) or settings.host
    port = getattr(args, "port", None)
    port = settings.port if port is None else port
    if args.command in LONG_RUNNING:
        check_writable(settings.media_dir)
    workers = 1
    if args.command == "run":
        configured = settings.web_workers if args.workers is None else args.workers
        workers = procs.worker_count(configured)
    # A shared port is bound the shared way later: its siblings may hold it already.
    if args.command in {"run", "web"} and not getattr(args, "reuse_port", False):
        check_port(host, port)
    if args.command == "ingest" and args.ingest_command == "replay":
        from server.replay_cli import problem as replay_problem

        problem = replay_problem(args.file, args.event)
        if problem:
            print(f"error: {problem}", file=sys.stderr)
            return 2
    with redis_url(settings, owner=args.command == "run") as settings:
        if args.command == "run" and workers > 1:
            asyncio.run(_run_many(settings, host, port, workers))
        elif args.command == "run":
            asyncio.run(_run_all(settings, host, port))
        elif args.command == "web":
            _serve_web(settings, host, port, args.reuse_port, args.supervisor)
        elif args.command == "ingest" and args.ingest_command == "worker":
            asyncio.run(_worker(settings))
        elif args.command == "ingest" and args.ingest_command == "replay":
            return asyncio.run(_replay(settings, args))
        elif args.command == "source":
            return asyncio.run(sources_cli.run(settings, args))
        elif args.command == "optout":
            return asyncio.run(optout_cli.run(settings, args))
        elif args.command == "event" and args.event_command == "mode":
            return asyncio.run(_set_mode(settings, args.slug, args.moderation))
        elif args.command == "event" and args.event_command == "rebuild-stats":
            return asyncio.run(_rebuild_stats(settings, args.slug))
        elif args.command == "event" and args.event_command == "update":
            return asyncio.run(_update_event(settings, args))
        elif args.command == "event":
            return asyncio.run(_create_event(settings, args))
        elif args.command == "export":
            return asyncio.run(_export(settings, args))
        elif args.command == "moderator":
            return asyncio.run(_moderator(settings, args))
    return 0


class PortError(RuntimeError):
    """The web server cannot listen where it was asked to."""


def port_number(text: str) -> int:
    """`--port`: a TCP port, 0 to 65535 (0: any free one)."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a port number: {text!r}") from None
    if not 0 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"{value} is not a port: use 0 to 65535")
    return value


def worker_number(text: str) -> int:
    """`--workers`: how many web processes, 0 (one per core) to 64."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not 0 <= value <= 64:
        raise argparse.ArgumentTypeError(f"{value}: use 1 to 64 web processes (0: one per core)")
    return value


def check_port(host: str, port: int) -> None:
    """Fail in one line, before anything starts, if the web server can't listen there."""
    if port == 0:
        return
    try:
        family, kind, proto, _, address = socket.getaddrinfo(
            host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
        )[0]
    except (socket.gaierror, UnicodeError) as exc:
        raise PortError(f"cannot listen on {host!r} (HOST): {exc}") from None
    with socket.socket(family, kind, proto) as probe:
        # As uvicorn binds: a port left in TIME_WAIT is free, one with a listener is not.
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(address)
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                raise PortError(
                    f"port {port} on {host} is already in use (another Eventwall, or another "
                    f"program): stop it, or pick another port, e.g. PORT={_other(port)} make run"
                ) from None
            raise PortError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None


def _other(port: int) -> int:
    return port + 1 if port < 65535 else 8000


LONG_RUNNING = {"run", "web", "ingest"}


class DataDirError(RuntimeError):
    """DATA_DIR can't be written (read-only, full, not ours)."""


def check_writable(folder: Path) -> None:
    """Create `folder` and a file in it, or say in one line why that is impossible."""
    probe = folder / f".write-check-{os.getpid()}"
    try:
        folder.mkdir(parents=True, exist_ok=True)
        probe.write_bytes(b"ok")
        probe.unlink()
    except OSError as exc:
        raise DataDirError(
            f"cannot write to {folder} (DATA_DIR): {exc.strerror or exc}; "
            "media and the embedded Redis live there"
        ) from None


async def _worker(settings: Settings) -> None:
    from ingest.worker import run_worker

    async with open_store(settings) as store:
        worker = asyncio.create_task(run_worker(settings, store))
        loop = asyncio.get_running_loop()

        # SIGTERM: finish the item in hand and write what is held, then exit.
        def stop() -> None:
            log.info("stopping: finishing the item in hand, then writing what is held")
            worker.cancel()

        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop)
        with contextlib.suppress(asyncio.CancelledError):
            await worker


if __name__ == "__main__":
    sys.exit(main())
