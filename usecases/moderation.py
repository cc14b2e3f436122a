"""Moderators' decisions: decide (first one wins), undo, the console's tabs and counts.

Bans and trust are decisions too (`wall/actions/ban.py`, `trust.py`): they set the
author's standing, and undo takes it back.
"""

from __future__ import annotations

import dataclasses

from usecases import Result, Stores, done, refused
from wall import actions
from wall.accounts import Moderator
from wall.mod_store import AuditEntry, ModerationStore, now_ms
from wall.moderation import State

TABS: dict[str, tuple[State, ...]] = {
    "pending": (State.PENDING,),
    "approved": (State.APPROVED,),
    "rejected": (State.REJECTED, State.HIDDEN),
    "audit": (),
}
"""The console's tabs and the states each shows (the page hands the same map to its script)."""


async def counts(stores: Stores, slug: str) -> dict[str, int]:
    """Posts on each tab, read in one transaction so the tabs always add up."""
    sizes = (await stores.posts.counts([slug]))[slug]
    return {tab: sum(sizes[s] for s in states) for tab, states in TABS.items() if states}


async def decide(
    stores: Stores, slug: str, moderator: Moderator, post_id: str, action: str, expected: str = ""
) -> Result:
    """Apply one moderator's action; a post another moderator has moved meanwhile is refused.

    `expected` is the state the moderator saw (empty: whatever it is now).
    """
    store, mod = stores.posts, stores.mod
    post = await store.get_post(slug, post_id)
    current = await store.get_state(slug, post_id)
    if post is None or current is None:
        return refused("missing", f"No post {post_id!r} in this event.")
    try:
        seen = State(expected) if expected else current
    except ValueError:
        return refused("invalid", f"Unknown state {expected!r}.", current.value)
    try:
        chosen = actions.get(action)
        target = actions.target_state(action, seen)
    except actions.ActionError as exc:
        return refused("conflict", f"{exc}.", current.value)
    who = moderator.email
    if current != seen:
        return await _refused(mod, slug, who, action, post_id, seen, current)
    if chosen.standing:
        await mod.set_author(slug, post.author.handle, chosen.standing)
    if target != State.APPROVED:
        # Out of the spotlight before it leaves the wall, so no moment shows it there alone.
        await mod.pin(slug, post_id, False)
    outcome = await store.set_state(slug, post_id, target, expected=seen, actor=who, reason=action)
    if outcome.conflict:
        return await _refused(mod, slug, who, action, post_id, seen, State(outcome.previous))
    if chosen.spotlight and not await mod.pin(slug, post_id, True):
        return refused("conflict", "Not pinned: the post is no longer approved.")
    swept = await _sweep(stores, slug, who, post.author.handle, post_id) if chosen.sweep else 0
    # Recorded last: the decision undo takes back is this one, not a swept post.
    await mod.record(slug, AuditEntry(now_ms(), who, action, post_id, seen.value, target.value))
    await mod.set_reason(slug, post_id, f"{action} by {who}")
    # Confirmed once a replica holds it (on a Redis Cluster): a failover can't lose it then.
    await store.replicated(slug)
    if chosen.sweep:
        return done(f"{chosen.past} ({swept} more).", target.value)
    return done(f"{chosen.past}.", target.value)


async def _sweep(stores: Stores, slug: str, who: str, handle: str, keep: str) -> int:
    """The author's other posts off the wall (approved: hidden) and out of the queue
    (pending: rejected), each audited; how many moved. Undo leaves them where they are."""
    store, mod = stores.posts, stores.mod
    moves = ((State.APPROVED, State.HIDDEN), (State.PENDING, State.REJECTED))
    moved = 0
    for source, target in moves:
        for other in await store.all_posts(slug, source):
            if other.author.handle != handle or other.id == keep:
                continue
            await mod.pin(slug, other.id, False)  # out of the spotlight before off the wall
            outcome = await store.set_state(
                slug, other.id, target, expected=source, actor=who, reason="banned author"
            )
            if outcome.changed:
                moved += 1
                await mod.record(
                    slug,
                    AuditEntry(
                        now_ms(), who, "hide", other.id, source.value, target.value, "banned author"
                    ),
                )
                await mod.set_reason(slug, other.id, f"author banned by {who}")
    return moved


async def _refused(
    mod: ModerationStore,
    slug: str,
    who: str,
    action: str,
    post_id: str,
    seen: State,
    current: State,
) -> Result:
    first = await mod.last_decider(slug, post_id)
    by = f" by {first.actor}" if first else ""
    await mod.record(
        slug,
        AuditEntry(
            now_ms(),
            who,
            action,
            post_id,
            current.value,
            current.value,
            f"expected {seen.value}",
            outcome="refused",
        ),
    )
    return refused(
        "conflict", f"Already {current.value}{by}: your {action} was not applied.", current.value
    )


async def undo_last(stores: Stores, slug: str, moderator: Moderator) -> Result:
    """Move the post of the moderator's last decision back to the state it came from."""
    store, mod = stores.posts, stores.mod
    last = await mod.last_decision(slug, moderator.email)
    if last is None:
        return refused("conflict", "Nothing to undo.")
    action = actions.ACTIONS.get(last.action)
    before, after = State(last.from_state), State(last.to_state)
    if before != State.APPROVED or (action is not None and action.spotlight):
        await mod.pin(slug, last.post_id, False)  # out of the spotlight before off the wall
    outcome = await store.set_state(
        slug, last.post_id, before, expected=after, actor=moderator.email, reason="undo"
    )
    if outcome.missing:
        await mod.forget_last(slug, moderator.email)
        return refused("missing", "That post no longer exists.")
    if outcome.conflict:
        return refused("conflict", "Someone has changed that post since.", outcome.previous)
    post = await store.get_post(slug, last.post_id)
    if post is not None and action is not None and action.standing:
        await mod.clear_author(slug, post.author.handle, action.standing)
    await mod.forget_last(slug, moderator.email)
    await mod.record(
        slug,
        AuditEntry(
            now_ms(), moderator.email, "undo", last.post_id, after.value, before.value, last.action
        ),
    )
    await mod.set_reason(slug, last.post_id, f"undo of {last.action} by {moderator.email}")
    await store.replicated(slug)
    return done(f"Undone: {last.action}; the post is {before.value} again.", before.value)


async def show_warned_text(
    stores: Stores, slug: str, moderator: Moderator, post_id: str, shown: bool = True
) -> Result:
    """Show (or hide again) a content-warned post's text on the wall, under its warning."""
    post = await stores.posts.get_post(slug, post_id)
    state = await stores.posts.get_state(slug, post_id)
    if post is None or state is None:
        return refused("missing", f"No post {post_id!r} in this event.")
    if not post.content_warning:
        return refused("invalid", "This post has no content warning.", state.value)
    if post.warning_shown != shown:
        await stores.posts.update(slug, dataclasses.replace(post, warning_shown=shown))
    action = "show-text" if shown else "hide-text"
    entry = AuditEntry(now_ms(), moderator.email, action, post_id, state.value, state.value)
    await stores.mod.record(slug, entry)
    told = "shown on the wall" if shown else "behind its warning again"
    return done(f"Text {told}.", state.value)
