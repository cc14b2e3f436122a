"""What every source is: an async iterator of normalized posts for one event."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Protocol

from wall.models import Post


class Source(Protocol):
    """A source of posts; `name` appears in logs and on the status page."""

    name: str

    def posts(self) -> AsyncIterator[Post]:
        """Yield posts as the source emits them; run until cancelled or exhausted."""
        ...
