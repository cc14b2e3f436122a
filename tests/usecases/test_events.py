"""Events and moderators as use-cases: the same rules for `/admin` and the command line."""

from __future__ import annotations

import pytest

from usecases import Refused, Stores
from usecases.events import add_moderator, create_event, new_event, update_details
from wall.models import PostError
from wall.store import Store


async def test_create_refuses_a_taken_slug_unless_replacing(store: Store, stores: Stores) -> None:
    """A new event's slug must be free; the CLI's `replace` saves over it."""
    first = await create_event(stores, new_event("meetup", "Meetup", ["#Py", " ", "ValLey"]))
    assert first.hashtags == ("py", "valley")
    with pytest.raises(Refused, match="already exists"):
        await create_event(stores, new_event("meetup", "Other"))
    await create_event(stores, new_event("meetup", "Other"), replace=True)
    saved = await store.get_event("meetup")
    assert saved is not None and saved.title == "Other"


async def test_details_are_validated_once(store: Store, stores: Stores) -> None:
    """Details given at creation or later are checked the same way; a bad one names its field."""
    event = await create_event(
        stores, new_event("meetup", "Meetup"), {"venue": "Hall", "timezone": "Europe/Paris"}
    )
    assert event.extra["venue"] == "Hall"
    with pytest.raises(PostError, match="starts_at"):
        await update_details(stores, "meetup", {"starts_at": "tomorrow"})
    with pytest.raises(Refused, match="no event called 'nope'"):
        await update_details(stores, "nope", {"venue": "x"})


async def test_moderator_needs_an_event_or_admin(store: Store, stores: Stores) -> None:
    """A moderator is given an existing event or made an admin, with a long enough password."""
    await create_event(stores, new_event("meetup", "Meetup"))
    with pytest.raises(Refused, match="choose an event"):
        await add_moderator(stores, "a@example.org", "long enough pw")
    with pytest.raises(Refused, match="no event called"):
        await add_moderator(stores, "a@example.org", "long enough pw", event="nope")
    with pytest.raises(Refused, match="at least 10"):
        await add_moderator(stores, "a@example.org", "short", event="meetup")
    added = await add_moderator(stores, "A@example.org", "long enough pw", event="meetup")
    assert added.email == "a@example.org" and added.can_moderate("meetup")
    assert not added.can_moderate("other")
