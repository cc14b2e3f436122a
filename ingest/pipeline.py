"""Taking a post in: sanitize it, decide its first moderation state, store it atomically."""

from __future__ import annotations

import dataclasses
import logging

from wall.models import Event, Post
from wall.moderation import initial_state
from wall.sanitize import post_html
from wall.store import Outcome, Store

log = logging.getLogger(__name__)


def normalize(post: Post) -> Post:
    """The post as it is stored: its HTML reduced to the allow-list."""
    return dataclasses.replace(post, html=post_html(post.text, post.html))


async def take(store: Store, event: Event, post: Post) -> Outcome:
    """Store a post for an event; a post seen before is a no-op."""
    clean = normalize(post)
    state = initial_state(event, clean)
    outcome = await store.ingest(event.slug, clean, state)
    if outcome.changed:
        log.debug("took %s into %s as %s", post.id, event.slug, state)
    return outcome
