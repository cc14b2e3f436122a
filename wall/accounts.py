"""Moderators: who they are, what they may moderate, their passwords (argon2) and sessions."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from redis.asyncio import Redis

from wall.passwords import check_password

_hasher = PasswordHasher()
# Verifying against this when the account does not exist keeps timing the same.
_DUMMY_HASH = _hasher.hash("no such account")


@dataclass(frozen=True, slots=True)
class Moderator:
    """A moderator account: admins moderate every event, others only their assigned ones."""

    email: str
    password_hash: str
    admin: bool = False
    events: tuple[str, ...] = field(default_factory=tuple)
    must_change: bool = False
    """The password was generated (or reset) for them: they choose their own at next login."""

    def can_moderate(self, slug: str) -> bool:
        """Whether this account may see and decide on the event's posts (not before it has
        replaced a generated password with its own)."""
        return not self.must_change and (self.admin or slug in self.events)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return {
            "email": self.email,
            "password_hash": self.password_hash,
            "admin": self.admin,
            "events": list(self.events),
            "must_change": self.must_change,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Moderator:
        """Read back `to_dict`."""
        return cls(
            email=data["email"],
            password_hash=data["password_hash"],
            admin=bool(data.get("admin", False)),
            events=tuple(data.get("events", ())),
            must_change=bool(data.get("must_change", False)),
        )


def normalize_email(email: str) -> str:
    """Emails compared case-insensitively, without surrounding space."""
    return email.strip().casefold()


def hash_password(password: str) -> str:
    """An argon2id hash of the password."""
    return _hasher.hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    """Whether the password matches; never raises on a bad hash."""
    try:
        return _hasher.verify(password_hash or _DUMMY_HASH, password)
    except (VerificationError, InvalidHashError):
        return False


# Argon2 takes tens of milliseconds and 64 MB per hash: a few at a time, in threads.
HASH_CONCURRENCY = 2
T = TypeVar("T")


class Hashing:
    """Runs password hashing in worker threads, never on the event loop, at most `limit` at
    once: a burst of logins waits its turn instead of stalling every page and socket."""

    def __init__(self, limit: int = HASH_CONCURRENCY) -> None:
        self.limit = limit
        self._slots = asyncio.Semaphore(limit)
        self.running = 0
        self.peak = 0

    async def run(self, work: Callable[..., T], *args: Any) -> T:
        """`work(*args)` in a thread once a slot is free."""
        async with self._slots:
            self.running += 1
            self.peak = max(self.peak, self.running)
            try:
                return await asyncio.to_thread(work, *args)
            finally:
                self.running -= 1


def new_password() -> str:
    """A one-time password to print once: 16 URL-safe characters."""
    return secrets.token_urlsafe(12)


@dataclass(frozen=True, slots=True)
class Session:
    """A logged-in moderator's server-side session; the cookie carries only its signed id."""

    sid: str
    email: str
    csrf: str


class Accounts:
    """Moderator accounts and sessions in Redis."""

    KEY = "ew:moderators"

    def __init__(
        self,
        redis: Redis,
        *,
        session_seconds: int = 12 * 3600,
        hashing: Hashing | None = None,
    ) -> None:
        self.redis = redis
        self.session_seconds = session_seconds
        self.hashing = hashing or Hashing()

    async def add(
        self,
        email: str,
        password: str,
        *,
        event: str = "",
        admin: bool = False,
        must_change: bool = False,
    ) -> Moderator:
        """Create a moderator, or set a new password and add an event to an existing one
        (whose sessions are then closed: a new password logs the old ones out)."""
        email = normalize_email(email)
        if "@" not in email or len(email) > 254:
            raise ValueError("email: not an email address")
        check_password(password, email)  # WeakPassword (a ValueError) says why
        current = await self.get(email)
        events = set(current.events) if current else set()
        if event:
            events.add(event)
        moderator = Moderator(
            email=email,
            password_hash=await self.hashing.run(hash_password, password),
            admin=admin or bool(current and current.admin),
            events=tuple(sorted(events)),
            must_change=must_change,
        )
        await self.redis.hset(self.KEY, email, json.dumps(moderator.to_dict()))
        if current is not None:
            await self.close_sessions(email)
        return moderator

    async def grant(self, email: str, *, event: str = "", admin: bool = False) -> Moderator:
        """An existing moderator given one more event (or made admin); password unchanged."""
        current = await self.get(email)
        if current is None:
            raise ValueError(f"email: no moderator {normalize_email(email)!r}")
        granted = dataclasses.replace(
            current,
            admin=current.admin or admin,
            events=tuple(sorted({*current.events, *([event] if event else [])})),
        )
        await self.redis.hset(self.KEY, current.email, json.dumps(granted.to_dict()))
        return granted

    async def remove(self, email: str) -> Moderator | None:
        """Delete an account and close its sessions; the removed account, or None."""
        current = await self.get(email)
        if current is not None:
            await self.redis.hdel(self.KEY, current.email)
            await self.close_sessions(current.email)
        return current

    async def get(self, email: str) -> Moderator | None:
        """The moderator with this email, or None."""
        raw = await self.redis.hget(self.KEY, normalize_email(email))
        return Moderator.from_dict(json.loads(raw)) if raw else None

    async def all(self) -> list[Moderator]:
        """Every moderator, by email."""
        raw = await self.redis.hgetall(self.KEY)
        return sorted(
            (Moderator.from_dict(json.loads(v)) for v in raw.values()), key=lambda m: m.email
        )

    async def authenticate(self, email: str, password: str) -> Moderator | None:
        """The moderator if the password is right, else None (same work either way)."""
        moderator = await self.get(email)
        ok = await self.hashing.run(
            verify_password, moderator.password_hash if moderator else "", password
        )
        return moderator if ok and moderator else None

    # -- sessions ----------------------------------------------------------------------
    async def open_session(self, email: str) -> Session:
        """A fresh session (new id and CSRF token) for a moderator who just logged in."""
        session = Session(
            secrets.token_urlsafe(24), normalize_email(email), secrets.token_urlsafe(24)
        )
        index = self._sessions_key(session.email)
        # Not a transaction: the session and its account's list live in different Redis
        # Cluster slots. Listed first, so a session can never exist unlisted (a password
        # change closes every listed one); a listed id with no session is harmless.
        async with self.redis.pipeline(transaction=False) as pipe:
            # Each account's sessions are listed, so a password change can close them all.
            pipe.sadd(index, session.sid)
            pipe.expire(index, self.session_seconds)
            pipe.set(
                f"ew:session:{session.sid}",
                json.dumps({"email": session.email, "csrf": session.csrf}),
                ex=self.session_seconds,
            )
            await pipe.execute()
        return session

    @staticmethod
    def _sessions_key(email: str) -> str:
        return f"ew:account-sessions:{normalize_email(email)}"

    async def close_sessions(self, email: str) -> int:
        """Log this account out everywhere (every browser, every console socket); how many."""
        index = self._sessions_key(email)
        members = await self.redis.smembers(index)
        sids = {sid.decode() if isinstance(sid, bytes) else str(sid) for sid in members}
        if sids:
            await self.redis.delete(*(f"ew:session:{sid}" for sid in sids))
        await self.redis.delete(index)
        return len(sids)

    async def set_password(self, email: str, password: str, *, must_change: bool = False) -> None:
        """A new password for an existing account; every session it has is closed."""
        current = await self.get(email)
        if current is None:
            raise ValueError(f"email: no moderator {normalize_email(email)!r}")
        check_password(password, current.email)
        changed = dataclasses.replace(
            current,
            password_hash=await self.hashing.run(hash_password, password),
            must_change=must_change,
        )
        await self.redis.hset(self.KEY, current.email, json.dumps(changed.to_dict()))
        await self.close_sessions(current.email)

    async def get_session(self, sid: str) -> Session | None:
        """The live session with this id, or None if it expired or was closed."""
        raw = await self.redis.get(f"ew:session:{sid}")
        if not raw:
            return None
        data = json.loads(raw)
        return Session(sid, data["email"], data["csrf"])

    async def close_session(self, sid: str) -> None:
        """Log out: the session id stops working everywhere."""
        session = await self.get_session(sid)
        await self.redis.delete(f"ew:session:{sid}")
        if session is not None:
            await self.redis.srem(self._sessions_key(session.email), sid)

    # -- failed logins -------------------------------------------------------------------
    async def login_wait(self, keys: list[str]) -> int:
        """Seconds before another login attempt is allowed for any of these keys (0: now)."""
        waits = [await self.redis.ttl(f"ew:login:lock:{k}") for k in keys]
        return max([0, *waits])

    async def login_failed(self, keys: list[str], *, free: int = 5, cap: int = 300) -> None:
        """Count a failure; past `free` failures, lock for a doubling delay up to `cap`."""
        for key in keys:
            count = int(await self.redis.incr(f"ew:login:fail:{key}"))
            await self.redis.expire(f"ew:login:fail:{key}", 3600)
            if count >= free:
                delay = min(cap, 2 ** (count - free + 1))
                await self.redis.set(f"ew:login:lock:{key}", "1", ex=delay)

    async def login_succeeded(self, keys: list[str]) -> None:
        """Forget past failures of an account that got in."""
        for key in keys:
            await self.redis.delete(f"ew:login:fail:{key}", f"ew:login:lock:{key}")
