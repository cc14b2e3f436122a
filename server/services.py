"""The long-lived resources the lifespan opens, and access to them from a connection."""

from __future__ import annotations

from dataclasses import dataclass

from redis.asyncio import Redis
from starlette.requests import HTTPConnection

from server.hub import Hub
from server.render import Renderer
from usecases import Stores
from wall.settings import Settings
from wall.store import Store


@dataclass
class Services:
    """What the lifespan opens, shared by every request of this process."""

    settings: Settings
    redis: Redis
    store: Store
    renderer: Renderer
    hub: Hub
    stores: Stores
    """The same store and its siblings, for the use-cases."""


def services(conn: HTTPConnection) -> Services:
    """The services the lifespan opened for this process."""
    svc: Services = conn.app.state.services
    return svc
