"""Moderator accounts in Redis: a new password closes every session the account had."""

from __future__ import annotations

from redis.asyncio import Redis

from wall.accounts import Accounts


async def test_password_change_closes_every_session(redis: Redis) -> None:
    """set_password logs the account out of every browser; other accounts stay logged in."""
    accounts = Accounts(redis)
    await accounts.add("ada@example.org", "first password", event="x")
    await accounts.add("bob@example.org", "bobs password", event="x")
    phone = await accounts.open_session("ada@example.org")
    laptop = await accounts.open_session("Ada@Example.org")
    other = await accounts.open_session("bob@example.org")
    await accounts.set_password("ada@example.org", "second password")
    assert await accounts.get_session(phone.sid) is None
    assert await accounts.get_session(laptop.sid) is None
    assert await accounts.get_session(other.sid) is not None
    assert await accounts.authenticate("ada@example.org", "second password") is not None
    assert await accounts.authenticate("ada@example.org", "first password") is None


async def test_a_new_password_through_add_closes_sessions_too(redis: Redis) -> None:
    """Setting a password again with add (a reset) also closes the account's sessions."""
    accounts = Accounts(redis)
    await accounts.add("ada@example.org", "first password", event="x")
    session = await accounts.open_session("ada@example.org")
    await accounts.add("ada@example.org", "second password", event="y", must_change=True)
    assert await accounts.get_session(session.sid) is None
    moderator = await accounts.get("ada@example.org")
    assert moderator is not None and moderator.must_change and moderator.events == ("x", "y")


async def test_logout_forgets_the_session_in_the_index(redis: Redis) -> None:
    """A closed session leaves the account's list, so the list does not grow with logins."""
    accounts = Accounts(redis)
    await accounts.add("ada@example.org", "first password", event="x")
    session = await accounts.open_session("ada@example.org")
    await accounts.close_session(session.sid)
    assert await redis.smembers("ew:account-sessions:ada@example.org") == set()
