"""Moderator accounts, as admins manage them from `/admin` and the command line, and as a
moderator changes their own password."""

from __future__ import annotations

from dataclasses import dataclass

from usecases import Refused, Stores
from wall.accounts import Moderator, new_password, normalize_email, verify_password

MIN_PASSWORD = 10


@dataclass(frozen=True, slots=True)
class Invited:
    """An account given an event: `password` is its new initial password, "" if unchanged."""

    moderator: Moderator
    password: str


def password_problem(password: str, email: str) -> str:
    """Why this password is refused for this account, or "" (the one rule for CLI and web)."""
    if len(password) < MIN_PASSWORD:
        return f"password: at least {MIN_PASSWORD} characters"
    if password.strip().casefold() in {normalize_email(email), email.split("@")[0].casefold()}:
        return "password: not your email address"
    if len(set(password)) < 4:
        return "password: more than a few different characters"
    return ""


async def _check_grant(stores: Stores, event: str, admin: bool) -> None:
    if not event and not admin:
        raise Refused("event: choose an event, or make the moderator an admin")
    if event and await stores.posts.get_event(event) is None:
        raise Refused(f"event: no event called {event!r}")


async def add_moderator(
    stores: Stores, email: str, password: str, *, event: str = "", admin: bool = False
) -> Moderator:
    """A moderator of one event, or an admin of every event, with the password they chose."""
    await _check_grant(stores, event, admin)
    problem = password_problem(password, email)
    if problem:
        raise Refused(problem)
    return await stores.accounts.add(email, password, event=event, admin=admin)


async def invite(stores: Stores, email: str, *, event: str = "", admin: bool = False) -> Invited:
    """A new account with a generated password to be changed at first login; an existing
    account just gets the event (its password is left alone: `reset_password` for that)."""
    await _check_grant(stores, event, admin)
    current = await stores.accounts.get(email)
    if current is not None:
        return Invited(await stores.accounts.grant(email, event=event, admin=admin), "")
    password = new_password()
    added = await stores.accounts.add(email, password, event=event, admin=admin, must_change=True)
    return Invited(added, password)


async def reset_password(stores: Stores, email: str) -> str:
    """A new generated password, to be changed at next login; the account is logged out."""
    if await stores.accounts.get(email) is None:
        raise Refused(f"email: no moderator {normalize_email(email)!r}")
    password = new_password()
    await stores.accounts.set_password(email, password, must_change=True)
    return password


async def change_password(stores: Stores, email: str, current: str, new: str) -> None:
    """A moderator's own new password, given their current one; every session is closed."""
    moderator = await stores.accounts.get(email)
    if moderator is None or not verify_password(moderator.password_hash, current):
        raise Refused("current password: wrong")
    if new == current:
        raise Refused("new password: choose one different from the current one")
    problem = password_problem(new, email)
    if problem:
        raise Refused(problem.replace("password:", "new password:", 1))
    await stores.accounts.set_password(email, new)


async def remove_moderator(stores: Stores, email: str, *, by: str = "") -> Moderator:
    """Delete an account and close its sessions; an admin cannot remove their own."""
    if by and normalize_email(by) == normalize_email(email):
        raise Refused("email: you cannot remove your own account")
    removed = await stores.accounts.remove(email)
    if removed is None:
        raise Refused(f"email: no moderator {normalize_email(email)!r}")
    return removed
