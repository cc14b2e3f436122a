"""An event's moderation rules and its opt-out list, as moderators and the CLI change them."""

from __future__ import annotations

import dataclasses

from usecases import Result, Stores, done, refused
from wall.mod_store import AuditEntry, now_ms

MODES = ("pre", "post")
MAX_HANDLE = 200


async def set_mode(stores: Stores, slug: str, actor: str, mode: str) -> Result:
    """Switch an event between pre- and post-moderation."""
    if mode not in MODES:
        return refused("invalid", "moderation: 'pre' or 'post'.")
    event = await stores.posts.get_event(slug)
    if event is None:
        return refused("missing", f"no event called {slug!r}")
    await stores.posts.save_event(dataclasses.replace(event, moderation=mode))
    await stores.mod.record(slug, AuditEntry(now_ms(), actor, "rules", "", "", "", f"mode {mode}"))
    return done(f"event {slug}: {mode}-moderation")


async def set_rules(
    stores: Stores,
    slug: str,
    actor: str,
    *,
    mode: str,
    blocked_words: list[str],
    blocked_tags: list[str],
    flood_limit: int,
    hold_duplicates: bool,
) -> Result:
    """Save an event's mode, blocked words and hashtags, flood limit and duplicate rule."""
    if mode not in MODES:
        return refused("invalid", "moderation: 'pre' or 'post'.")
    event = await stores.posts.get_event(slug)
    if event is None:
        return refused("missing", f"no event called {slug!r}")
    await stores.posts.save_event(dataclasses.replace(event, moderation=mode))
    await stores.mod.set_rules(
        slug,
        blocked_words=blocked_words,
        blocked_tags=blocked_tags,
        flood_limit=flood_limit,
        hold_duplicates=hold_duplicates,
    )
    await stores.mod.record(slug, AuditEntry(now_ms(), actor, "rules", "", "", "", f"mode {mode}"))
    return done("Rules saved.")


def clean_handle(handle: str) -> str:
    """A handle as typed, on one line and bounded."""
    return " ".join(handle.split())[:MAX_HANDLE]


async def opt_out(stores: Stores, slug: str, actor: str, handle: str, *, out: bool) -> Result:
    """Put an author on the event's opt-out list (their posts are never taken), or off it."""
    handle = clean_handle(handle)
    if not handle.lstrip("@"):
        return refused("invalid", "handle: required.")
    if await stores.posts.get_event(slug) is None:
        return refused("missing", f"no event called {slug!r}")
    await stores.mod.opt_out(slug, handle, out=out)
    verb = "add" if out else "remove"
    await stores.mod.record(
        slug, AuditEntry(now_ms(), actor, f"opt-out {verb}", "", "", "", handle)
    )
    return done(f"{handle} opted out." if out else f"{handle} is back in.")
