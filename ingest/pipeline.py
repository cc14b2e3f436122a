"""Taking source items in: sanitize, localize photos, apply the event's rules, store atomically."""

from __future__ import annotations

import contextlib
import dataclasses
import logging
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from ingest.media import PhotoPipeline
from ingest.sources.base import Backfill, Deleted, Edited, Notice, SourceItem
from ingest.turns import Turn
from wall.details import event_time
from wall.mod_store import AuditEntry, ModerationStore, now_ms
from wall.models import MAX_TEXT, Card, Event, Photo, Post, Quote
from wall.moderation import Decision, History, State, initial_state
from wall.ordering import sane_time
from wall.privacy import opt_out_reason
from wall.sanitize import clean_text, media_url, post_html, safe_url
from wall.store import Outcome, Store

log = logging.getLogger(__name__)
# Names, handles and content warnings are one line on a card: longer ones are cut.
MAX_NAME = 200
MAX_QUOTE = 500  # a quoted post is shown small: its first lines are enough


def normalize(post: Post) -> Post:
    """The post as it is stored: its HTML reduced to the allow-list, every URL http(s) or
    local, every image URL one of our media files or an http(s) one for the photo pipeline."""
    author = dataclasses.replace(
        post.author,
        handle=clean_text(post.author.handle)[:MAX_NAME],
        display_name=clean_text(post.author.display_name)[:MAX_NAME],
        avatar_url=media_url(post.author.avatar_url),
        profile_url=safe_url(post.author.profile_url),
    )
    photos = tuple(
        dataclasses.replace(
            p, url=media_url(p.url), thumb_url=media_url(p.thumb_url), alt=clean_text(p.alt)
        )
        for p in post.photos
        if media_url(p.url)
    )
    # Sources other than the replay file have no length check of their own: cap here.
    text = clean_text(post.text)[:MAX_TEXT]
    return dataclasses.replace(
        post,
        text=text,
        html=_capped_html(text, clean_text(post.html)),
        author=author,
        photos=photos,
        url=safe_url(post.url),
        content_warning=clean_text(post.content_warning)[: MAX_NAME * 4],
        card=_clean_card(post.card),
        quote=_clean_quote(post.quote),
        poll=tuple(clean_text(o)[:MAX_NAME] for o in post.poll),
        emoji=tuple(
            dataclasses.replace(e, url=media_url(e.url)) for e in post.emoji if media_url(e.url)
        ),
    )


def _clean_card(card: Card | None) -> Card | None:
    if card is None or not safe_url(card.url):
        return None
    return Card(
        url=safe_url(card.url),
        title=clean_text(card.title)[: MAX_NAME * 2],
        description=clean_text(card.description)[: MAX_NAME * 4],
        image=media_url(card.image),
    )


def _clean_quote(quote: Quote | None) -> Quote | None:
    if quote is None or not safe_url(quote.url):
        return None
    return Quote(
        url=safe_url(quote.url),
        author=clean_text(quote.author)[:MAX_NAME],
        text=clean_text(quote.text)[:MAX_QUOTE],
        warning=clean_text(quote.warning)[: MAX_NAME * 4],
    )


def _capped_html(text: str, raw_html: str) -> str:
    """The post's sanitized HTML within what a stored post may hold (MAX_TEXT * 2).

    Sanitizing can make HTML longer (closing tags, entities), so the input is cut until the
    output fits; the text is cut the same way when the HTML comes from it.
    """
    limit = MAX_TEXT * 2
    cut = limit
    while True:
        html = post_html(text[:cut], raw_html[:cut])
        if len(html) <= limit:
            return html
        cut //= 2


async def _local(post: Post, photos: PhotoPipeline | None) -> Post:
    """Photos and avatar fetched and stored locally: pages only load images from this site."""
    if photos is None:
        return post
    # Only what changes is replaced: most archived posts are already local, and a post is
    # rebuilt field by field on each replace.
    changes: dict[str, Any] = {}
    avatar = await photos.avatar(post.author.avatar_url)
    if avatar != post.author.avatar_url:
        changes["author"] = dataclasses.replace(post.author, avatar_url=avatar)
    if post.photos:
        changes["photos"] = await photos.localize_all(post.photos)
    card = post.card
    if card is not None and card.image:
        # A card's thumbnail is a photo like any other: fetched, checked, stored here.
        thumb = await photos.localize_all((Photo(url=card.image, alt=card.title),))
        image = thumb[0].thumb_url or thumb[0].url if thumb else ""
        changes["card"] = dataclasses.replace(card, image=image)
    if post.emoji:
        # Custom emoji are small pictures: the avatar path (one small square, cached) fits them.
        emoji = []
        for item in post.emoji:
            url = await photos.avatar(item.url)
            if url:
                emoji.append(dataclasses.replace(item, url=url))
        changes["emoji"] = tuple(emoji)
    return dataclasses.replace(post, **changes) if changes else post


def _shows_something(post: Post) -> bool:
    """Whether a sanitized post has anything left to show: text, photos, a card or a quote."""
    return bool(post.text.strip() or post.html.strip() or post.photos or post.card or post.quote)


def placed(post: Post, event: Event, at_ms: int) -> Post:
    """The post with its sane time (see `wall.ordering.sane_time`) as it arrives at `at_ms`."""
    arrived = datetime.fromtimestamp(at_ms / 1000, UTC)
    start = event_time(event, "starts_at")
    return dataclasses.replace(
        post, ordered_at=sane_time(post.created_at, now=arrived, starts_at=start)
    )


async def take(
    store: Store,
    event: Event,
    post: Post,
    photos: PhotoPipeline | None = None,
    *,
    state: State | None = None,
    moderation: ModerationStore | None = None,
    archive: bool = False,
) -> Outcome:
    """Store a post in the state the event's rules decide; a post seen before is a no-op.

    `state` holds a post for review whatever the mode (attendee uploads); the rules still
    reject banned authors and blocked words. An `archive` (a replayed file) arrives all at
    once, so the flood and duplicate holds, which are about live bursts, do not apply to it.
    A post seen before never has its photos fetched.
    """
    moderation = moderation or ModerationStore(store.redis, log_maxlen=store.log_maxlen)
    if await store.get_state(event.slug, post.id) is not None:
        return await store.ingest(event.slug, normalize(post), State.PENDING)  # a no-op, atomically
    opted_out = opt_out_reason(post, await moderation.opted_out(event.slug))
    if opted_out:
        # Not stored at all, not even as rejected: the author asked not to be on the wall.
        log.info("did not take %s into %s: %s", post.id, event.slug, opted_out)
        return Outcome(changed=False, previous="", missing=True)
    clean = normalize(await _local(post, photos))
    if not _shows_something(clean):
        # A post that was only markup (a script, an image we refused): nothing to show.
        log.info("did not take %s into %s: nothing left after sanitizing", post.id, event.slug)
        return Outcome(changed=False, previous="", missing=True)
    # The stored event, so a mode switched in the console applies to the next post.
    event = await store.get_event(event.slug) or event
    at = now_ms()
    clean = placed(clean, event, at)
    rules = await moderation.rules(event.slug)
    if archive:
        rules = dataclasses.replace(rules, flood_limit=0, hold_duplicates=False)
    history = await moderation.history(event.slug, clean.author.handle, at)
    decision = initial_state(event, clean, rules, history, at)
    if state is not None and decision.state != State.REJECTED:
        decision = Decision(state, "held for review", "source")
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


async def forget_photos(store: Store, post: Post, photos: PhotoPipeline) -> None:
    """Delete a removed post's photo files, unless another stored post shows the same file.

    Files are named by their content, so the same picture posted twice is one file. The
    author's avatar stays: their other posts show it.
    """
    urls = {u for p in post.photos for u in (p.url, p.thumb_url) if u.startswith("/media/p/")}
    urls -= await store.mentioned(urls)
    for url in urls:
        if photos.storage.remove(url):
            log.info("removed %s of deleted post %s", url, post.id)


async def apply(
    store: Store, event: Event, item: SourceItem, photos: PhotoPipeline | None = None
) -> Outcome:
    """Apply one source item: a new post is taken, an edit replaces, a deletion removes."""
    if isinstance(item, Notice):
        return Outcome(changed=False, previous="", missing=True)  # for the status, not the wall
    if isinstance(item, Backfill):
        return await take(store, event, item.post, photos, archive=True)
    if isinstance(item, Deleted):
        post = await store.get_post(event.slug, item.post_id)
        outcome = await store.delete(event.slug, item.post_id, reason="deleted at source")
        if outcome.changed and post is not None and photos is not None:
            await forget_photos(store, post, photos)
        return outcome
    if isinstance(item, Edited):
        if await store.get_state(event.slug, item.post.id) is None:
            # An edit of a post we never saw (it predates our cursor): take it as new.
            return await take(store, event, item.post, photos)
        moderation = ModerationStore(store.redis, log_maxlen=store.log_maxlen)
        opted_out = opt_out_reason(item.post, await moderation.opted_out(event.slug))
        if opted_out:
            log.info("removed %s from %s: %s", item.post.id, event.slug, opted_out)
            return await store.delete(event.slug, item.post.id, reason=opted_out)
        clean = normalize(await _local(item.post, photos))
        stored = await store.get_post(event.slug, item.post.id)
        if stored is not None:
            # An edit keeps the post's place: its time was made sane when it arrived.
            clean = dataclasses.replace(clean, ordered_at=stored.at)
        return await store.update(event.slug, clean)
    return await take(store, event, item, photos)


ARCHIVE_BATCH = 200
"""Replayed posts taken in one round of reads and one pipeline of writes."""
_NOT_TAKEN = Outcome(changed=False, previous="", missing=True)


async def take_archive(
    store: Store,
    event: Event,
    posts: Sequence[Post],
    photos: PhotoPipeline | None = None,
    *,
    moderation: ModerationStore | None = None,
    turn: Turn | None = None,
) -> list[Outcome]:
    """Take a batch of an archive's posts as `take(..., archive=True)` takes each one.

    The same outcome per post: seen before is a no-op, an opted-out author or a post with
    nothing left after sanitizing is not taken, and the event's rules decide the state (an
    archive has no flood or duplicate hold, so no author history is read). Each post is
    stored by its own run of the store's atomic script. With a `turn`, they are stored only
    once the batch before has stored its own (see `ingest.turns`).
    """
    moderation = moderation or ModerationStore(store.redis, log_maxlen=store.log_maxlen)
    outcomes: list[Outcome | None] = [None] * len(posts)
    known = await store.states(event.slug, [p.id for p in posts])
    opted = await moderation.opted_out(event.slug)
    # The stored event and rules, so a mode switched in the console applies to this batch.
    event = await store.get_event(event.slug) or event
    rules = dataclasses.replace(
        await moderation.rules(event.slug), flood_limit=0, hold_duplicates=False
    )
    at = now_ms()
    chosen: list[tuple[int, Post, State, str, str, str]] = []
    for i, (post, state) in enumerate(zip(posts, known, strict=True)):
        if state is not None:
            outcomes[i] = Outcome(changed=False, previous=state)
            continue
        opted_out = opt_out_reason(post, opted)
        if opted_out:
            log.info("did not take %s into %s: %s", post.id, event.slug, opted_out)
            outcomes[i] = _NOT_TAKEN
            continue
        clean = normalize(await _local(post, photos))
        if not _shows_something(clean):
            log.info("did not take %s into %s: nothing left after sanitizing", post.id, event.slug)
            outcomes[i] = _NOT_TAKEN
            continue
        clean = placed(clean, event, at)
        decision = initial_state(event, clean, rules, History(), at)
        chosen.append(
            (i, clean, decision.state, f"rule:{decision.rule}", decision.reason, decision.rule)
        )
    async with turn or contextlib.nullcontext():
        stored = await store.ingest_many(
            event.slug,
            [(post, state, actor, reason) for _, post, state, actor, reason, _ in chosen],
        )
    taken = []
    for (i, post, state, actor, reason, rule), outcome in zip(chosen, stored, strict=True):
        outcomes[i] = outcome
        if outcome.changed:
            taken.append((post, state, actor, reason, rule))
    await moderation.record_taken(
        event.slug,
        {post.id: reason for post, _, _, reason, _ in taken},
        [(p.author.handle, p.id, p.text, state == State.APPROVED) for p, state, *_ in taken],
        [
            AuditEntry(at, actor, "ingest", post.id, "", state, reason)
            for post, state, actor, reason, rule in taken
            if rule != "mode"
        ],
        at,
    )
    return [o if o is not None else _NOT_TAKEN for o in outcomes]
