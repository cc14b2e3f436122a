"""Forwarding headers are believed only from the proxies FORWARDED_ALLOW_IPS names."""

from __future__ import annotations

import httpx

from tests.processes import WebServer
from wall.models import Event


async def _uploads(server: WebServer, slug: str, count: int) -> list[int]:
    """Statuses of `count` uploads, each claiming another client address."""
    async with httpx.AsyncClient(base_url=server.base, timeout=10) as client:
        return [
            (
                await client.post(
                    f"/e/{slug}/post",
                    data={"text": f"post {n}"},
                    headers={"x-forwarded-for": f"192.0.2.{n + 1}"},
                )
            ).status_code
            for n in range(count)
        ]


async def test_forwarded_for_is_not_believed_by_default(env: dict[str, str], event: Event) -> None:
    """Without FORWARDED_ALLOW_IPS, a client naming a new address in X-Forwarded-For at each
    request (from loopback, like a local proxy) still hits the per-address upload limit."""
    with WebServer({**env, "UPLOAD_RATE": "3"}) as server:
        assert await _uploads(server, event.slug, 4) == [201, 201, 201, 429]


async def test_forwarded_for_is_believed_from_a_named_proxy(
    env: dict[str, str], event: Event
) -> None:
    """With the proxy named, each forwarded client address has its own limit."""
    settings = {**env, "UPLOAD_RATE": "3", "FORWARDED_ALLOW_IPS": "127.0.0.1"}
    with WebServer(settings) as server:
        assert await _uploads(server, event.slug, 4) == [201, 201, 201, 201]
