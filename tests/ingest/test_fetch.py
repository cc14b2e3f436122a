"""Outbound fetches reach only public addresses: proved with loopback canaries that must stay
untouched, and a record of every connection this process attempts."""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import sys
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from ingest.fetch import (
    FetchPolicy,
    FetchRefused,
    IPAddress,
    SafeClient,
    literal,
    refusal,
    safe_client,
)
from ingest.media import LocalStorage, PhotoPipeline
from ingest.sources.bluesky import BlueskySource
from ingest.worker import build_source
from tests.fakes import serve
from tests.helpers import eventwall, post_dict, write_jsonl
from tests.ingest.test_media import jpeg
from wall.models import Event, Photo
from wall.settings import Settings
from wall.sources import SourceConfig
from wall.store import Store

REFUSED = [
    "127.0.0.1",
    "127.9.8.7",
    "::1",
    "::ffff:127.0.0.1",
    "::ffff:7f00:1",
    "2002:7f00:1::",  # 6to4 around 127.0.0.1
    "64:ff9b::a00:1",  # NAT64 around 10.0.0.1
    "10.0.0.1",
    "172.16.5.4",
    "192.168.1.1",
    "100.64.0.1",  # carrier-grade NAT
    "169.254.169.254",  # cloud metadata
    "fe80::1",
    "fc00::1",
    "fd12:3456::1",
    "fec0::1",
    "224.0.0.1",
    "ff02::1",
    "0.0.0.0",
    "::",
    "240.0.0.1",
    "255.255.255.255",
    "::7f00:1",
]
PUBLIC = ["93.184.216.34", "1.1.1.1", "2606:4700::1111", "2a00:1450:4007:80c::200e"]

# Every address this process tries to connect a socket to, while recording.
_connects: list[Any] | None = None


def _audit(event: str, args: tuple[Any, ...]) -> None:
    if event == "socket.connect" and _connects is not None:
        _connects.append(args[1])


sys.addaudithook(_audit)


@contextlib.contextmanager
def recorded_connects() -> Iterator[list[Any]]:
    """The socket addresses connected to in this process inside the block."""
    global _connects
    _connects = []
    try:
        yield _connects
    finally:
        _connects = None


def only_loopback(addresses: list[Any], port: int | None = None) -> bool:
    """True when every recorded address is loopback (and on `port`, when given)."""
    for address in addresses:
        host, at = address[0], address[1]
        if not ipaddress.ip_address(host.split("%")[0]).is_loopback:
            return False
        if port is not None and at != port:
            return False
    return True


class Canary:
    """A loopback TCP server that only counts the connections it receives."""

    def __init__(self) -> None:
        self.connections = 0
        self.port = 0

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        writer.close()

    @contextlib.asynccontextmanager
    async def running(self) -> AsyncIterator[Canary]:
        """Listen on 127.0.0.1 for the duration of the block."""
        server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
        self.port = server.sockets[0].getsockname()[1]
        try:
            yield self
        finally:
            server.close()
            await server.wait_closed()

    def urls(self, scheme: str = "http", path: str = "/x.jpg") -> list[str]:
        """The canary under every spelling of loopback."""
        hosts = [
            "127.0.0.1",
            "localhost",
            "2130706433",
            "0x7f000001",
            "0177.0.0.1",
            "127.1",
            "[::ffff:127.0.0.1]",
            "[::ffff:7f00:1]",
        ]
        return [f"{scheme}://{host}:{self.port}{path}" for host in hosts]


@pytest.fixture
async def canary() -> AsyncIterator[Canary]:
    """A running loopback canary."""
    async with Canary().running() as running:
        yield running


class FrontOnly(FetchPolicy):
    """The public internet stand-in for a test: one loopback port is allowed, nothing else."""

    def __init__(self, port: int) -> None:
        super().__init__()
        self.port = port

    def refusal(self, ip: IPAddress, port: int) -> str:
        """Loopback on the front server's port passes; everything else as in production."""
        if ip.is_loopback and port == self.port:
            return ""
        return super().refusal(ip, port)


@pytest.mark.parametrize("address", REFUSED)
def test_private_and_special_addresses_are_refused(address: str) -> None:
    """Loopback, private, link-local, multicast, reserved, unspecified and the IPv6 forms that
    embed them are refused; loopback passes only when explicitly allowed."""
    ip = ipaddress.ip_address(address)
    assert refusal(ip) != ""
    embedded_loopback = address in {"::ffff:127.0.0.1", "::ffff:7f00:1", "2002:7f00:1::"}
    if ip.is_loopback or embedded_loopback:
        assert refusal(ip, allow_loopback=True) == ""
    else:
        assert refusal(ip, allow_loopback=True) != ""


@pytest.mark.parametrize("address", PUBLIC)
def test_public_addresses_pass(address: str) -> None:
    """A public address is allowed."""
    assert refusal(ipaddress.ip_address(address)) == ""


@pytest.mark.parametrize(
    "host", ["2130706433", "0x7f000001", "0177.0.0.1", "127.1", "[::1]", "[::ffff:127.0.0.1]"]
)
def test_every_spelling_of_loopback_is_read_without_dns(host: str) -> None:
    """Decimal, hex, octal, short and bracketed IPv6 hosts are read as the address they are."""
    ip = literal(host)
    assert ip is not None and refusal(ip) == "loopback"


@pytest.mark.parametrize(
    "host",
    ["cdn.example", "x.invalid", "wall.test", "printer.local", "db.internal", "nas.home.arpa"],
)
async def test_local_and_reserved_names_are_refused_without_asking_a_resolver(host: str) -> None:
    """Reserved and local-network names are refused by name: no DNS query leaves the machine."""
    with recorded_connects() as connects, pytest.raises(FetchRefused, match="not a public name"):
        await FetchPolicy(allow_loopback=True).check(host, 443)
    assert connects == []


async def test_localhost_names_are_loopback_whatever_the_resolver_says() -> None:
    """`localhost` and `*.localhost` are loopback: refused unless loopback is allowed."""
    for host in ("localhost", "api.localhost", "LOCALHOST."):
        with pytest.raises(FetchRefused, match="loopback"):
            await FetchPolicy().check(host, 80)
        assert (await FetchPolicy(allow_loopback=True).check(host, 80)).is_loopback


async def test_photos_and_avatars_never_reach_loopback(canary: Canary, tmp_path: Path) -> None:
    """A post's photo or avatar URL under any spelling of loopback is refused before
    connecting: the canary sees no connection, the photo is dropped, the avatar is blank."""
    async with safe_client() as client:
        pipeline = PhotoPipeline(LocalStorage(tmp_path / "media"), client)
        with recorded_connects() as connects:
            kept = await pipeline.localize_all(tuple(Photo(url=u) for u in canary.urls()))
            avatars = [await pipeline.avatar(u) for u in canary.urls(path="/a.png")]
    assert kept == () and avatars == [""] * len(avatars)
    assert canary.connections == 0 and connects == []
    assert not list((tmp_path / "media").rglob("*.jpg"))


async def test_loopback_is_reached_only_when_allowed(canary: Canary) -> None:
    """With FETCH_ALLOW_LOOPBACK on, the same fetch does reach the canary: it counts."""
    async with safe_client(allow_loopback=True) as client:
        with pytest.raises(Exception):  # noqa: B017 - the canary hangs up at once
            await client.get(canary.urls()[0])
    assert canary.connections == 1


async def test_redirects_to_private_addresses_are_refused_before_connecting(
    canary: Canary, tmp_path: Path
) -> None:
    """A public photo or avatar URL that redirects to loopback, link-local or a private
    address is refused at the redirect: only the first server is ever connected to."""
    hits: list[str] = []

    async def to(request: Request) -> Response:
        hits.append(request.url.path)
        return RedirectResponse(request.query_params["url"], status_code=302)

    async def image(request: Request) -> Response:
        hits.append(request.url.path)
        return Response(jpeg(), media_type="image/jpeg")

    app = Starlette(routes=[Route("/to", to), Route("/image.jpg", image)])
    targets = [
        *canary.urls(),
        "http://169.254.169.254/latest/meta-data/",
        "http://10.0.0.1/x.jpg",
        "http://192.168.1.1:8080/x.jpg",
        "http://[fd00::1]/x.jpg",
        "http://[fe80::1]/x.jpg",
        "http://0.0.0.0:6379/",
    ]
    async with serve(app) as front:
        port = int(front.rsplit(":", 1)[1])
        async with SafeClient(FrontOnly(port)) as client:
            pipeline = PhotoPipeline(LocalStorage(tmp_path / "media"), client)
            with recorded_connects() as connects:
                refused = await pipeline.localize_all(
                    tuple(Photo(url=f"{front}/to?url={t}") for t in targets)
                )
                avatars = [await pipeline.avatar(f"{front}/to?url={t}&a=1") for t in targets]
                # The control: a redirect that stays on the allowed server is followed.
                followed = await pipeline.localize_all(
                    (Photo(url=f"{front}/to?url={front}/image.jpg"),)
                )
    assert refused == () and avatars == [""] * len(targets)
    assert len(followed) == 1 and followed[0].url.startswith("/media/")
    assert canary.connections == 0
    assert connects and only_loopback(connects, port), connects
    assert hits.count("/to") == 2 * len(targets) + 1 and hits.count("/image.jpg") == 1


async def _first_item(source: Any) -> None:
    async for _ in source.items():
        return


@pytest.mark.parametrize(
    ("kind", "options"),
    [
        ("mastodon", {"tag": "testevent"}),  # REST polling
        ("mastodon", {"tag": "testevent", "token": "secret"}),  # streaming websocket
        ("rss", {}),
        ("bluesky", {"tag": "testevent"}),
    ],
)
async def test_every_source_kind_refuses_loopback(
    canary: Canary, store: Store, event: Event, tmp_path: Path, kind: str, options: dict[str, str]
) -> None:
    """A source configured with a server or feed on loopback is refused before connecting,
    under every spelling, for the worker's own client and its websocket connections."""
    settings = Settings(data_dir=tmp_path)
    scheme = "ws" if kind == "bluesky" else "http"
    async with safe_client() as client:
        with recorded_connects() as connects:
            for url in canary.urls(scheme, path="/feed" if kind == "rss" else ""):
                key = "url" if kind == "rss" else "server"
                config = SourceConfig.create(kind, event.slug, **{key: url, **options})
                source = build_source(config, store, client, settings)
                # httpx itself refuses octal hosts (`0177.0.0.1`) as invalid URLs.
                with pytest.raises((FetchRefused, httpx.InvalidURL)):
                    await _first_item(source)
    assert canary.connections == 0
    # Redis is on loopback too: the only connections made were the store's own.
    redis_port = store.redis.connection_pool.connection_kwargs["port"]
    assert only_loopback(connects, redis_port), connects


async def test_bluesky_profiles_are_not_fetched_from_loopback(
    canary: Canary, store: Store, event: Event
) -> None:
    """Bluesky's profile lookups (display name, avatar) go through the same check."""
    config = SourceConfig.create(
        "bluesky", event.slug, server="wss://jetstream.invalid", tag="testevent"
    )
    async with safe_client() as client:
        # The app view is set in code, not by a stranger: the spellings httpx can parse.
        for url in [u for u in canary.urls(path="") if "0177" not in u]:
            source = BlueskySource(config, store, client, appview=url)
            author = await source.author("did:plc:someone")
            assert author.handle == "did:plc:someone" and author.avatar_url == ""
    assert canary.connections == 0


async def test_replay_command_refuses_loopback_photos_by_default(
    canary: Canary, env: dict[str, str], tmp_path: Path, store: Store
) -> None:
    """`eventwall ingest replay` without FETCH_ALLOW_LOOPBACK takes the post but not its
    loopback photo or avatar: the canary sees no connection."""
    urls = canary.urls()
    item = post_dict(
        "ssrf",
        photos=[{"url": u} for u in urls[:4]],
        author={"handle": "@mallory@example.org", "avatar_url": urls[4]},
    )
    path = write_jsonl(tmp_path / "ssrf.jsonl", [item])
    result = await asyncio.to_thread(
        eventwall, "ingest", "replay", str(path), "--event", "ssrf", env=env
    )
    assert result.returncode == 0, result.stderr
    post = await store.get_post("ssrf", "test:ssrf")
    assert post is not None and post.photos == () and post.author.avatar_url == ""
    assert canary.connections == 0
    assert "loopback address" in result.stderr
