"""Moderator accounts as use-cases: one password rule and one way to invite, reset, remove."""

from __future__ import annotations

import pytest

from usecases import Refused, Stores
from usecases.events import create_event, new_event
from usecases.moderators import (
    change_password,
    invite,
    password_problem,
    remove_moderator,
    reset_password,
)


@pytest.mark.parametrize(
    ("password", "problem"),
    [("short", "at least 10"), ("ada@example.org", "email"), ("aaaaaaaaaaaa", "different")],
)
def test_weak_passwords_are_refused(password: str, problem: str) -> None:
    """Too short, the email itself, or one character repeated: refused with the reason."""
    assert problem in password_problem(password, "ada@example.org")
    assert password_problem("a sound passphrase", "ada@example.org") == ""


async def test_invite_generates_a_password_to_change(stores: Stores) -> None:
    """A new account gets a generated password it must change; an existing one keeps its own."""
    await create_event(stores, new_event("meetup", "Meetup"))
    await create_event(stores, new_event("other", "Other"))
    first = await invite(stores, "ada@example.org", event="meetup")
    assert first.password and first.moderator.must_change
    assert await stores.accounts.authenticate("ada@example.org", first.password)
    again = await invite(stores, "ada@example.org", event="other")
    assert again.password == "" and again.moderator.events == ("meetup", "other")
    assert await stores.accounts.authenticate("ada@example.org", first.password)
    with pytest.raises(Refused, match="no event"):
        await invite(stores, "bob@example.org", event="nope")


async def test_change_password_checks_the_current_one(stores: Stores) -> None:
    """Changing needs the current password and a sound new one; it clears must_change."""
    await create_event(stores, new_event("meetup", "Meetup"))
    invited = await invite(stores, "ada@example.org", event="meetup")
    with pytest.raises(Refused, match="current password"):
        await change_password(stores, "ada@example.org", "wrong", "a sound passphrase")
    with pytest.raises(Refused, match="new password: at least"):
        await change_password(stores, "ada@example.org", invited.password, "short")
    with pytest.raises(Refused, match="different"):
        await change_password(stores, "ada@example.org", invited.password, invited.password)
    await change_password(stores, "ada@example.org", invited.password, "a sound passphrase")
    moderator = await stores.accounts.get("ada@example.org")
    assert moderator is not None and not moderator.must_change


async def test_reset_and_remove(stores: Stores) -> None:
    """A reset logs the account out and makes it change again; removal closes its sessions."""
    await create_event(stores, new_event("meetup", "Meetup"))
    await invite(stores, "ada@example.org", event="meetup")
    session = await stores.accounts.open_session("ada@example.org")
    password = await reset_password(stores, "ada@example.org")
    assert await stores.accounts.get_session(session.sid) is None
    assert await stores.accounts.authenticate("ada@example.org", password)
    session = await stores.accounts.open_session("ada@example.org")
    with pytest.raises(Refused, match="your own"):
        await remove_moderator(stores, "ada@example.org", by="Ada@example.org")
    await remove_moderator(stores, "ada@example.org", by="boss@example.org")
    assert await stores.accounts.get("ada@example.org") is None
    assert await stores.accounts.get_session(session.sid) is None
    with pytest.raises(Refused, match="no moderator"):
        await reset_password(stores, "ada@example.org")
