"""The site's own absolute address, for feeds, the embed code and the wall's QR code.

PUBLIC_URL says it. Without it, a request's Host header is only believed when it names
this machine (localhost, a loopback address) or a name in ALLOWED_HOSTS: anyone can send
any Host, and a feed or QR code built from it would send readers to their site (a cache
in front of us could keep that copy for everyone).
"""

from __future__ import annotations

import ipaddress
import logging

from starlette.requests import Request

from wall.settings import Settings

log = logging.getLogger(__name__)
_warned: set[str] = set()


def allowed_hosts(settings: Settings) -> frozenset[str]:
    """The host names ALLOWED_HOSTS lists, lower-cased (`*` for any)."""
    return frozenset(h.lower() for h in settings.allowed_hosts.replace(",", " ").split())


def is_local_host(host: str) -> bool:
    """Whether a host name or address means this machine."""
    name = host.lower().rstrip(".")
    if name == "localhost" or name.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(name.strip("[]")).is_loopback
    except ValueError:
        return False


def site_base(request: Request, settings: Settings) -> str:
    """The absolute base URL links to this site start with (no trailing slash)."""
    if settings.public_url:
        return settings.public_url.rstrip("/")
    host = request.url.hostname or ""
    hosts = allowed_hosts(settings)
    if is_local_host(host) or host.lower() in hosts or "*" in hosts:
        return str(request.base_url).rstrip("/")
    fallback = f"http://127.0.0.1:{settings.port}"
    if host not in _warned and len(_warned) < 100:
        _warned.add(host)
        log.warning(
            "Host %r is not trusted (set PUBLIC_URL or ALLOWED_HOSTS): links use %s",
            host[:100],
            fallback,
        )
    return fallback
