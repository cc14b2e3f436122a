"""The use-cases' stores on the emptied test Redis."""

from __future__ import annotations

import pytest
from redis.asyncio import Redis

from usecases import Stores


@pytest.fixture
def stores(redis: Redis) -> Stores:
    """Every store on the test Redis, as a use-case takes them."""
    return Stores.on(redis)
