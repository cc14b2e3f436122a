"""Taking source items in: sanitize, localize photos, decide the first state, store atomically."""

from __future__ import annotations

import dataclasses
import logging

from ingest.media import PhotoPipeline
from ingest.sources.base import Deleted, Edited, SourceItem
from wall.models import Event, Post
from wall.moderation import State, initial_state
from wall.sanitize import post_html
from wall.store import Outcome, Store

log = logging.getLogger(__name__)


def normalize(post: Post) -> Post:
    """The post as it is stored: its HTML reduced to the allow-list."""
    return dataclasses.replace(post, html=post_html(post.text, post.html))


async def _local(post: Post, photos: PhotoPipeline | None) -> Post:
    if photos is None or not post.photos:
        return post
    return dataclasses.replace(post, photos=await photos.localize_all(post.photos))


async def take(
    store: Store,
    event: Event,
    post: Post,
    photos: PhotoPipeline | None = None,
    *,
    state: State | None = None,
) -> Outcome:
    """Store a post for an event; a post seen before is a no-op (and its photos not fetched)."""
    if photos is not None and post.photos and await store.get_state(event.slug, post.id):
        return Outcome(changed=False, previous=str(await store.get_state(event.slug, post.id)))
    clean = normalize(await _local(post, photos))
    state = state or initial_state(event, clean)
    outcome = await store.ingest(event.slug, clean, state)
    if outcome.changed:
        log.debug("took %s into %s as %s", post.id, event.slug, state)
    return outcome


async def apply(
    store: Store, event: Event, item: SourceItem, photos: PhotoPipeline | None = None
) -> Outcome:
    """Apply one source item: a new post is taken, an edit replaces, a deletion removes."""
    if isinstance(item, Deleted):
        return await store.delete(event.slug, item.post_id, reason="deleted at source")
    if isinstance(item, Edited):
        if await store.get_state(event.slug, item.post.id) is None:
            # An edit of a post we never saw (it predates our cursor): take it as new.
            return await take(store, event, item.post, photos)
        clean = normalize(await _local(item.post, photos))
        return await store.update(event.slug, clean)
    return await take(store, event, item, photos)
