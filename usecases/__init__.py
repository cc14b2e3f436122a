"""The use-cases: what a moderator, an admin or an attendee can do, as functions over stores.

The console, `/admin`, the `eventwall` command, the upload form and the worker all call
these, so they cannot disagree. Each takes plain arguments and the `Stores`, never a
request: the web layer parses, authorizes and renders, and the tests call them directly.
"""

from __future__ import annotations

from dataclasses import dataclass

from redis.asyncio import Redis

from wall.accounts import Accounts
from wall.mod_store import ModerationStore
from wall.settings import Settings
from wall.sources import SourceRegistry
from wall.store import Store


@dataclass(frozen=True, slots=True)
class Stores:
    """The Redis stores a use-case reads and writes, all on one Redis client."""

    posts: Store
    mod: ModerationStore
    accounts: Accounts
    sources: SourceRegistry

    @classmethod
    def on(cls, redis: Redis, settings: Settings | None = None) -> Stores:
        """Every store on this Redis, sized by the settings (the defaults without)."""
        settings = settings or Settings()
        return cls(
            posts=Store(
                redis,
                log_maxlen=settings.changelog_maxlen,
                replica_wait_ms=settings.redis_replica_wait_ms,
            ),
            mod=ModerationStore(redis, log_maxlen=settings.changelog_maxlen),
            accounts=Accounts(redis, session_seconds=settings.session_hours * 3600),
            sources=SourceRegistry(redis),
        )


class Refused(ValueError):
    """An administration use-case that cannot apply; the message names the field at fault."""


@dataclass(frozen=True, slots=True)
class Result:
    """What a use-case did, told to whoever asked: a moderator, an admin, a command line."""

    ok: bool
    message: str
    state: str = ""
    """The post's state afterwards (decisions and undo), for the console's card."""
    problem: str = ""
    """Why it did not apply: `missing`, `invalid` or `conflict` (empty when ok)."""


def done(message: str, state: str = "") -> Result:
    """A use-case that applied."""
    return Result(True, message, state)


def refused(problem: str, message: str, state: str = "") -> Result:
    """A use-case that did not apply, and why."""
    return Result(False, message, state, problem)
