"""Outbound fetches reach the public internet only, never the venue's own network.

A post's photo or avatar URL, an RSS enclosure or a source's server is chosen by whoever
wrote the post or the config: every fetch resolves the host once, refuses loopback,
private, link-local, multicast, reserved and unspecified addresses (IPv4 and IPv6, in
every spelling: `2130706433`, `0x7f.1`, `::ffff:127.0.0.1`, 6to4, NAT64), and connects to
the address it checked, so a DNS answer can't change between the check and the
connection. Each redirect is a new request, checked the same way. Loopback is allowed
only when FETCH_ALLOW_LOOPBACK says so (the test suite's fake servers live there).
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import socket
from collections.abc import AsyncIterator
from typing import Any

import httpx
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import InvalidHandshake, SecurityError

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
NAT64 = ipaddress.IPv6Network("64:ff9b::/96")
LOOPBACK = ipaddress.IPv4Address("127.0.0.1")
# Names that are never on the public internet: reserved (RFC 2606, 6761) or local-network ones.
LOCAL_NAMES = frozenset({"example", "invalid", "test", "local", "internal", "lan", "localdomain"})


class FetchRefused(httpx.ConnectError):
    """A fetch refused before connecting: the address is not on the public internet."""


def refusal(ip: IPAddress, *, allow_loopback: bool = False) -> str:
    """Why a connection to this address is refused, or "" if it is a public one."""
    embedded = _embedded_v4(ip)
    if embedded is not None:
        return refusal(embedded, allow_loopback=allow_loopback)
    if ip.is_loopback:
        return "" if allow_loopback else "loopback"
    for kind in ("unspecified", "multicast", "link_local", "private", "reserved"):
        if getattr(ip, f"is_{kind}"):
            return kind.replace("_", "-")
    if isinstance(ip, ipaddress.IPv6Address) and ip.is_site_local:
        return "site-local"
    if not ip.is_global:
        return "non-global"
    return ""


def _embedded_v4(ip: IPAddress) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 one stands for (mapped, 6to4, Teredo, NAT64), if any."""
    if not isinstance(ip, ipaddress.IPv6Address):
        return None
    if ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    if ip.sixtofour is not None:
        return ip.sixtofour
    if ip.teredo is not None:
        return ip.teredo[1]
    if ip in NAT64:
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    return None


def literal(host: str) -> IPAddress | None:
    """The address a host names without DNS (any IPv4 spelling `inet_aton` takes), or None."""
    bare = host.strip("[]")
    try:
        return ipaddress.ip_address(bare)
    except ValueError:
        pass
    try:
        # What the resolver would make of `2130706433`, `0x7f000001`, `0177.1`, `127.1`.
        return ipaddress.IPv4Address(socket.inet_aton(bare))
    except OSError:
        return None


class FetchPolicy:
    """Which addresses outbound fetches may reach; `check` resolves and vets a host once."""

    def __init__(self, *, allow_loopback: bool = False) -> None:
        self.allow_loopback = allow_loopback

    def refusal(self, ip: IPAddress, port: int) -> str:
        """Why this address and port are refused, or "" when allowed."""
        return refusal(ip, allow_loopback=self.allow_loopback)

    async def check(self, host: str, port: int) -> IPAddress:
        """The one address to connect to for `host`; FetchRefused if any it resolves to is
        not public (a name answering both a public and a private address is refused)."""
        if not host:
            raise FetchRefused("refused: no host to fetch from")
        ip = literal(host)
        name = host.rstrip(".").lower()
        if ip is not None:
            addresses = [ip]
        elif name == "localhost" or name.endswith(".localhost"):
            addresses = [LOOPBACK]  # always loopback (RFC 6761), whatever a resolver says
        elif name.rpartition(".")[2] in LOCAL_NAMES or name.endswith(".home.arpa"):
            # Never public, and asking the resolver would send the name off the machine.
            raise FetchRefused(f"refused to fetch from {host[:100]}: not a public name")
        else:
            try:
                infos = await asyncio.get_running_loop().getaddrinfo(
                    host, port, type=socket.SOCK_STREAM
                )
            except (OSError, UnicodeError) as exc:
                raise httpx.ConnectError(f"cannot resolve {host}: {exc}") from exc
            addresses = [ipaddress.ip_address(str(info[4][0]).split("%")[0]) for info in infos]
            if not addresses:
                raise httpx.ConnectError(f"cannot resolve {host}: no address")
        for address in addresses:
            reason = self.refusal(address, port)
            if reason:
                raise FetchRefused(
                    f"refused to fetch from {host[:100]}: {address} is a {reason} address"
                )
        return addresses[0]


class GuardedTransport(httpx.AsyncBaseTransport):
    """An httpx transport that vets every request's host and connects to the vetted address.

    Keep-alive is off: a pooled connection is keyed by address, and one opened (and its
    certificate checked) for one name must not carry a request for another name there.
    """

    def __init__(self, policy: FetchPolicy) -> None:
        self.policy = policy
        self._inner = httpx.AsyncHTTPTransport(
            limits=httpx.Limits(max_keepalive_connections=0), trust_env=False
        )

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        """Send the request to the checked address; the Host header and TLS name stay the host's."""
        url = request.url
        if url.scheme not in ("http", "https"):
            raise FetchRefused(f"refused: not an http(s) URL: {str(url)[:100]}")
        port = url.port or (443 if url.scheme == "https" else 80)
        try:
            address = await self.policy.check(url.host, port)
        except httpx.ConnectError as exc:
            exc.request = request
            raise
        extensions = dict(request.extensions)
        if url.scheme == "https":
            extensions.setdefault("sni_hostname", url.host)
        pinned = httpx.Request(
            request.method,
            url.copy_with(host=str(address)),
            headers=request.headers,
            stream=request.stream,
            extensions=extensions,
        )
        return await self._inner.handle_async_request(pinned)

    async def aclose(self) -> None:
        """Close the connections."""
        await self._inner.aclose()


class SafeClient(httpx.AsyncClient):
    """An httpx client whose every request and redirect goes through a `FetchPolicy`."""

    def __init__(self, policy: FetchPolicy, **kwargs: Any) -> None:
        kwargs.setdefault("follow_redirects", True)
        # No proxy from the environment: a proxy would connect for us, unchecked.
        super().__init__(transport=GuardedTransport(policy), trust_env=False, **kwargs)
        self.policy = policy


def safe_client(*, allow_loopback: bool = False, **kwargs: Any) -> SafeClient:
    """The HTTP client for every outbound fetch (sources, photos, avatars, enclosures)."""
    return SafeClient(FetchPolicy(allow_loopback=allow_loopback), **kwargs)


async def safe_open(client: httpx.AsyncClient, uri: str, **kwargs: Any) -> ClientConnection:
    """A websocket connection, opened as `client`'s policy allows (strict for any other client).

    Pinned to the checked address. A redirect within the origin stays pinned; one to another
    origin is refused (websockets won't follow it with an explicit host) as a handshake error.
    """
    policy = client.policy if isinstance(client, SafeClient) else FetchPolicy()
    parsed = httpx.URL(uri)
    if parsed.scheme not in ("ws", "wss"):
        raise FetchRefused(f"refused: not a ws(s) URL: {uri[:100]}")
    port = parsed.port or (443 if parsed.scheme == "wss" else 80)
    address = await policy.check(parsed.host, port)
    if parsed.scheme == "wss":
        kwargs.setdefault("server_hostname", parsed.host)
    try:
        return await connect(uri, host=str(address), port=port, proxy=None, **kwargs)
    except ValueError as exc:
        if isinstance(exc.__cause__, InvalidHandshake):
            raise SecurityError(f"{uri[:100]}: redirect to another origin not followed") from exc
        raise


@contextlib.asynccontextmanager
async def safe_connect(
    client: httpx.AsyncClient, uri: str, **kwargs: Any
) -> AsyncIterator[ClientConnection]:
    """`safe_open` as an async context manager: the connection is closed on leaving."""
    connection = await safe_open(client, uri, **kwargs)
    async with connection:
        yield connection
