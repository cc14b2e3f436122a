"""Taking a post in: sanitize it, apply the event's rules, store it atomically."""

from __future__ import annotations

import dataclasses
import logging

from wall.mod_store import AuditEntry, ModerationStore, now_ms
from wall.models import Event, Post
from wall.moderation import State, initial_state
from wall.sanitize import post_html
from wall.store import Outcome, Store

log = logging.getLogger(__name__)


def normalize(post: Post) -> Post:
    """The post as it is stored: its HTML reduced to the allow-list."""
    return dataclasses.replace(post, html=post_html(post.text, post.html))


async def take(
    store: Store, event: Event, post: Post, moderation: ModerationStore | None = None
) -> Outcome:
    """Store a post for an event in the state its rules decide; a post seen before is a no-op."""
    moderation = moderation or ModerationStore(store.redis, log_maxlen=store.log_maxlen)
    clean = normalize(post)
    if await store.get_state(event.slug, clean.id) is not None:
        return await store.ingest(event.slug, clean, State.PENDING)  # a no-op, said atomically
    # The stored event, so a mode switched in the console applies to the next post.
    event = await store.get_event(event.slug) or event
    at = now_ms()
    rules = await moderation.rules(event.slug)
    history = await moderation.history(event.slug, clean.author.handle, at)
    decision = initial_state(event, clean, rules, history, at)
    actor = f"rule:{decision.rule}"
    outcome = await store.ingest(
        event.slug, clean, decision.state, actor=actor, reason=decision.reason
    )
    if outcome.changed:
        await moderation.set_reason(event.slug, clean.id, decision.reason)
        await moderation.remember(
            event.slug,
            clean.author.handle,
            clean.id,
            clean.text,
            at,
            approved=decision.state == State.APPROVED,
        )
        if decision.rule != "mode":
            await moderation.record(
                event.slug,
                AuditEntry(at, actor, "ingest", clean.id, "", decision.state, decision.reason),
            )
        log.debug(
            "took %s into %s as %s (%s)", post.id, event.slug, decision.state, decision.reason
        )
    return outcome
