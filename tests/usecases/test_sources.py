"""Sources as use-cases: `/admin` and `eventwall source` add and remove them the same way."""

from __future__ import annotations

import pytest

from usecases import Refused, Stores
from usecases.sources import add_source, remove_source, sources_with_status
from wall.models import Event
from wall.sources import SourceError
from wall.store import Store


async def test_add_list_remove(store: Store, stores: Stores) -> None:
    """A source for an existing event is added, listed with its status, and removed once."""
    await store.save_event(Event(slug="meetup", title="Meetup"))
    config = await add_source(stores, "mastodon", "meetup", server=" 127.0.0.1:9 ", tag="#Py")
    assert config.server == "https://127.0.0.1:9" and config.tag == "py"
    listed = await sources_with_status(stores)
    assert [(c.id, status) for c, status in listed] == [(config.id, "not connected · 0 taken")]
    await remove_source(stores, config.id)
    assert await sources_with_status(stores) == []
    with pytest.raises(Refused, match="no source"):
        await remove_source(stores, config.id)


async def test_refused_sources(store: Store, stores: Stores) -> None:
    """An unknown event or an incomplete configuration is refused, naming what is wrong."""
    await store.save_event(Event(slug="meetup", title="Meetup"))
    with pytest.raises(Refused, match="no event 'nope'"):
        await add_source(stores, "rss", "nope", url="http://127.0.0.1:9/feed")
    with pytest.raises(SourceError, match="rss needs --url"):
        await add_source(stores, "rss", "meetup", url="ftp://x")
    assert await stores.sources.list() == []
