"""Moderation states, which of them the public may see, and the rules a new post meets.

Every rule is a pure function of the post, the event's rules and what the author did
recently; it returns a `Decision` (a state and the reason recorded on the post) or None
when it has nothing to say. `initial_state` asks them in order; the first answer wins.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from enum import StrEnum

from wall.models import Event, Post, normalize_tag
from wall.sanitize import html_text

DUPLICATE_WINDOW_MS = 10 * 60 * 1000
FLOOD_WINDOW_MS = 60 * 1000
DEFAULT_FLOOD_LIMIT = 5


class State(StrEnum):
    """Where a post stands with the moderators."""

    PENDING = "pending"
    APPROVED = "approved"
    REJECTED = "rejected"
    HIDDEN = "hidden"


PUBLIC_STATES = frozenset({State.APPROVED})


def is_public(state: State | None) -> bool:
    """Whether a post in this state may reach the wall and the live page."""
    return state in PUBLIC_STATES


@dataclass(frozen=True, slots=True)
class Rules:
    """An event's moderation rules, as moderators set them."""

    trusted: frozenset[str] = frozenset()
    banned: frozenset[str] = frozenset()
    blocked_words: tuple[str, ...] = ()
    blocked_tags: tuple[str, ...] = ()
    flood_limit: int = DEFAULT_FLOOD_LIMIT
    """At most this many approved posts a minute per author on the wall (0: no limit)."""
    hold_duplicates: bool = True
    """Hold the same text from the same author within 10 minutes (off for the looping demo)."""


@dataclass(frozen=True, slots=True)
class History:
    """What the author did recently: (text fingerprint, ms) of their posts, and approval times."""

    recent_texts: Sequence[tuple[str, int]] = ()
    approved_at: Sequence[int] = field(default_factory=tuple)


@dataclass(frozen=True, slots=True)
class Decision:
    """A rule's verdict: the state a post starts in and why (recorded on the post)."""

    state: State
    reason: str
    rule: str


def author_key(handle: str) -> str:
    """An author as rules compare them: case-folded, no leading '@'."""
    return handle.strip().lstrip("@").casefold()


def fingerprint(text: str) -> str:
    """A short digest of a post's text, with case, accents-form and spacing normalized."""
    folded = " ".join(unicodedata.normalize("NFKC", text).casefold().split())
    return hashlib.sha256(folded.encode()).hexdigest()[:24]


def banned_author(post: Post, rules: Rules, history: History, now_ms: int) -> Decision | None:
    """A banned author's posts are rejected."""
    if author_key(post.author.handle) in rules.banned:
        return Decision(State.REJECTED, "banned author", "banned")
    return None


# Characters that show nothing but split a word for a naive match: zero-width spaces and
# joiners, soft hyphens, word joiners, BOMs (all of Unicode's "format" category), plus a few
# invisible letters and marks outside it.
_INVISIBLE = frozenset("\u034f\u115f\u1160\u17b4\u17b5\u3164\uffa0")
# Cyrillic and Greek letters drawn like Latin ones (after case folding): `ѕрам` is `spam`.
_LOOK_ALIKES = str.maketrans(
    "аеорсухіјѕԁһӏԛԝвкмнтαοριυνκχεаɡ",
    "aeopcyxijsdhlqwbkmhtaopiuvkxeag",
)


def folded(text: str) -> str:
    """Text as the rules compare it: NFKC, case-folded, invisible characters removed and
    look-alike letters read as the Latin ones they imitate."""
    if text.isascii():
        # ASCII is its own NFKC form, holds no format or look-alike characters, and
        # case-folds as it lower-cases: the common case skips the per-character pass.
        return text.lower()
    text = unicodedata.normalize("NFKC", text)
    text = "".join(c for c in text if c not in _INVISIBLE and unicodedata.category(c) != "Cf")
    return unicodedata.normalize("NFKC", text.casefold()).translate(_LOOK_ALIKES)


def _checked_text(post: Post) -> str:
    """Every piece of the post a reader sees, for the word rules: text, the text of its HTML,
    the author's display name, the content warning, a card, a quote and poll options."""
    parts = [
        post.text,
        html_text(post.html),
        post.author.display_name,
        post.content_warning,
        *(post.poll or ()),
    ]
    if post.card is not None:
        parts += [post.card.title, post.card.description]
    if post.quote is not None:
        parts.append(post.quote.text)
    return folded("\n".join(parts))


def blocked_content(post: Post, rules: Rules, history: History, now_ms: int) -> Decision | None:
    """A post with a blocked word (whole word, any case, any disguise) anywhere a reader sees
    it, or with a blocked hashtag, is rejected."""
    if not rules.blocked_tags and not rules.blocked_words:
        return None  # nothing to look for: the post's text need not be folded
    text = _checked_text(post)
    tags = {folded(normalize_tag(t)) for t in post.hashtags}
    tags |= {normalize_tag(t) for t in re.findall(r"#(\w+)", text)}
    for tag in rules.blocked_tags:
        if folded(normalize_tag(tag)) in tags:
            return Decision(State.REJECTED, f"blocked hashtag #{normalize_tag(tag)}", "blocked")
    for word in rules.blocked_words:
        needle = folded(word.strip())
        if needle and re.search(rf"(?<!\w){re.escape(needle)}(?!\w)", text):
            return Decision(State.REJECTED, f"blocked word {word.strip()!r}", "blocked")
    return None


def duplicate_text(post: Post, rules: Rules, history: History, now_ms: int) -> Decision | None:
    """The same text from the same author within 10 minutes is held as a duplicate."""
    if not rules.hold_duplicates or not post.text.strip():
        return None
    mine = fingerprint(post.text)
    if any(fp == mine and now_ms - at <= DUPLICATE_WINDOW_MS for fp, at in history.recent_texts):
        return Decision(State.PENDING, "duplicate of a post within 10 minutes", "duplicate")
    return None


def trusted_author(post: Post, rules: Rules, history: History, now_ms: int) -> Decision | None:
    """A trusted author's posts are approved at once."""
    if author_key(post.author.handle) in rules.trusted:
        return Decision(State.APPROVED, "trusted author", "trusted")
    return None


def flood_limit(post: Post, rules: Rules, history: History, now_ms: int) -> Decision | None:
    """An author with `flood_limit` approved posts in the last minute is held for review."""
    if rules.flood_limit <= 0:
        return None
    recent = sum(1 for at in history.approved_at if now_ms - at < FLOOD_WINDOW_MS)
    if recent >= rules.flood_limit:
        return Decision(
            State.PENDING, f"flood: {recent} posts on the wall in the last minute", "flood"
        )
    return None


Rule = Callable[[Post, Rules, History, int], Decision | None]

# Order matters: a ban beats trust, a duplicate is held even from a trusted author,
# and the flood limit applies to trusted authors too.
RULES: tuple[Rule, ...] = (banned_author, blocked_content, duplicate_text, flood_limit)


def initial_state(
    event: Event,
    post: Post,
    rules: Rules | None = None,
    history: History | None = None,
    now_ms: int = 0,
) -> Decision:
    """The state a newly ingested post starts in, and the reason recorded with it."""
    rules = rules or Rules()
    history = history or History()
    for rule in RULES:
        decision = rule(post, rules, history, now_ms)
        if decision is not None:
            return decision
    trusted = trusted_author(post, rules, history, now_ms)
    if trusted is not None:
        return trusted
    if event.moderation == "post":
        return Decision(State.APPROVED, "post-moderation", "mode")
    return Decision(State.PENDING, "pre-moderation", "mode")
