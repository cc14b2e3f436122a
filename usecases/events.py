"""Events and their moderators, as admins create them from `/admin` and the command line."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from usecases import Refused, Stores, moderators
from wall import details
from wall.accounts import Moderator
from wall.models import Event, normalize_tag


def new_event(
    slug: str,
    title: str,
    tags: Iterable[str] = (),
    *,
    moderation: str = "pre",
    **look: Any,
) -> Event:
    """An event from what an admin typed: hashtags normalized, empty ones dropped.

    `look` is any other `Event` field (layout, theme, accent, …); PostError names a bad one.
    """
    hashtags = tuple(t for t in (normalize_tag(x) for x in tags) if t)
    return Event(
        slug=slug.strip(), title=title.strip(), hashtags=hashtags, moderation=moderation, **look
    )


async def create_event(
    stores: Stores,
    event: Event,
    changes: Mapping[str, str] | None = None,
    *,
    replace: bool = False,
) -> Event:
    """Save a new event with these details; an existing slug is refused unless `replace`."""
    if changes:
        event = details.apply(event, changes)
    if not replace and await stores.posts.get_event(event.slug) is not None:
        raise Refused(f"slug: an event {event.slug!r} already exists")
    await stores.posts.save_event(event)
    return event


async def update_details(stores: Stores, slug: str, changes: Mapping[str, str]) -> Event:
    """Set an event's times, venue and next event ("" clears one); PostError if one is bad."""
    event = await stores.posts.get_event(slug)
    if event is None:
        raise Refused(f"event: no event called {slug!r}")
    event = details.apply(event, changes)
    await stores.posts.save_event(event)
    return event


async def add_moderator(
    stores: Stores, email: str, password: str, *, event: str = "", admin: bool = False
) -> Moderator:
    """A moderator with the password they chose (see usecases.moderators)."""
    return await moderators.add_moderator(stores, email, password, event=event, admin=admin)
