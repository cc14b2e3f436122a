"""Moderation rules: each a pure function of the post, the rules and the author's history."""

from __future__ import annotations

import unicodedata

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.helpers import post_dict
from wall.models import Event, Post
from wall.moderation import (
    History,
    Rules,
    State,
    blocked_content,
    duplicate_text,
    fingerprint,
    flood_limit,
    folded,
    initial_state,
)

NOW = 1_800_000_000_000
PRE = Event(slug="e", title="E")
POST = Event(slug="e", title="E", moderation="post")


def make(text: str = "hello #testevent", handle: str = "@ada@example.org", **extra: object) -> Post:
    data = post_dict("1", text, **extra)
    data["author"] = {"handle": handle}
    return Post.from_dict(data)


def test_new_events_are_pre_moderated() -> None:
    """Without a mode given an event is pre-moderated: a plain post waits as pending."""
    decision = initial_state(PRE, make(), now_ms=NOW)
    assert decision.state == State.PENDING and decision.reason == "pre-moderation"


def test_post_moderation_approves_at_once() -> None:
    """In post-moderation a plain post is approved at ingest."""
    assert initial_state(POST, make(), now_ms=NOW).state == State.APPROVED


def test_banned_author_rejected_even_when_trusted_or_post_moderated() -> None:
    """A banned author's post is rejected, whatever the mode; the handle compares case-free."""
    rules = Rules(banned=frozenset({"ada@example.org"}), trusted=frozenset({"ada@example.org"}))
    decision = initial_state(POST, make(handle="@Ada@Example.org"), rules, now_ms=NOW)
    assert decision.state == State.REJECTED and decision.reason == "banned author"


def test_trusted_author_approved_in_pre_moderation() -> None:
    """A trusted author skips the queue."""
    rules = Rules(trusted=frozenset({"ada@example.org"}))
    decision = initial_state(PRE, make(), rules, now_ms=NOW)
    assert decision.state == State.APPROVED and decision.rule == "trusted"


@pytest.mark.parametrize(
    ("text", "rules", "reason"),
    [
        ("buy CHEAP watches", Rules(blocked_words=("cheap",)), "blocked word 'cheap'"),
        ("join #Crypto now", Rules(blocked_tags=("#crypto",)), "blocked hashtag #crypto"),
    ],
)
def test_blocked_words_and_tags_rejected(text: str, rules: Rules, reason: str) -> None:
    """A blocked word (any case) or hashtag in the text rejects the post, naming it."""
    decision = initial_state(POST, make(text), rules, now_ms=NOW)
    assert decision.state == State.REJECTED and decision.reason == reason


def test_blocked_word_matches_whole_words_only() -> None:
    """'class' does not block 'classic'."""
    assert (
        blocked_content(make("a classic talk"), Rules(blocked_words=("class",)), History(), NOW)
        is None
    )


def test_blocked_tag_from_post_hashtags_field() -> None:
    """Hashtags given by the source count too, not only those in the text."""
    post = make("no tags in text", hashtags=["Spam"])
    decision = blocked_content(post, Rules(blocked_tags=("spam",)), History(), NOW)
    assert decision is not None and decision.state == State.REJECTED


def test_duplicate_within_ten_minutes_is_held() -> None:
    """The same text (case and spacing aside) within 10 minutes is held, even in post-moderation."""
    history = History(recent_texts=[(fingerprint("Hello   #TestEvent"), NOW - 9 * 60_000)])
    decision = initial_state(POST, make(), Rules(), history, NOW)
    assert decision.state == State.PENDING and decision.rule == "duplicate"


def test_duplicate_rule_can_be_switched_off() -> None:
    """With hold_duplicates off (the looping demo) a repeated text is not held."""
    history = History(recent_texts=[(fingerprint("hello #testevent"), NOW - 1000)])
    assert duplicate_text(make(), Rules(hold_duplicates=False), history, NOW) is None


def test_duplicate_after_ten_minutes_passes() -> None:
    """After 10 minutes the same text is a new post."""
    history = History(recent_texts=[(fingerprint("hello #testevent"), NOW - 11 * 60_000)])
    assert duplicate_text(make(), Rules(), history, NOW) is None


def test_flood_limit_holds_the_next_post() -> None:
    """With N approved posts in the last minute the author's next post waits."""
    history = History(approved_at=[NOW - 1000 * i for i in range(3)])
    assert flood_limit(make(), Rules(flood_limit=3), history, NOW) is not None
    assert flood_limit(make(), Rules(flood_limit=4), history, NOW) is None
    old = History(approved_at=[NOW - 61_000] * 5)
    assert flood_limit(make(), Rules(flood_limit=3), old, NOW) is None


def test_flood_limit_applies_to_trusted_authors() -> None:
    """Trust does not lift the flood limit; 0 disables it."""
    history = History(approved_at=[NOW] * 5)
    trusted = Rules(trusted=frozenset({"ada@example.org"}), flood_limit=5)
    assert initial_state(POST, make(), trusted, history, NOW).rule == "flood"
    off = Rules(trusted=frozenset({"ada@example.org"}), flood_limit=0)
    assert initial_state(POST, make(), off, history, NOW).state == State.APPROVED


def test_event_mode_is_validated_and_defaults_to_pre() -> None:
    """An event's moderation mode is 'pre' (default, also for stored events without one) or 'post'."""
    assert Event.from_dict({"slug": "x", "title": "X"}).moderation == "pre"
    assert Event.from_dict(POST.to_dict()).moderation == "post"
    with pytest.raises(ValueError, match="moderation"):
        Event(slug="x", title="X", moderation="sometimes")


@pytest.mark.parametrize(
    ("where", "value"),
    [
        ("text", "buy spo\u200biler now"),  # zero-width space
        ("text", "buy spo\u00adiler now"),  # soft hyphen
        ("text", "buy spo\u2060iler now"),  # word joiner
        ("text", "buy \uff53\uff50\uff4f\uff49\uff4c\uff45\uff52 now"),  # fullwidth
        ("text", "buy SPOILER now"),
        ("text", "buy \u0455\u0440\u043e\u0456l\u0435r now"),  # Cyrillic look-alikes
        ("html", "<p>buy spo<b>il</b>er now</p>"),  # only in the HTML
        ("display_name", "Spoiler King"),
        ("content_warning", "spoiler ahead"),
    ],
)
def test_blocked_words_are_found_however_disguised(where: str, value: str) -> None:
    """Invisible characters, fullwidth and look-alike letters, HTML-only text, the display
    name and the content warning don't get a blocked word past the rule."""
    extra: dict[str, object] = {}
    text = "a harmless post"
    if where == "text":
        text = value
    elif where == "html":
        text, extra = "", {"html": value}
    elif where == "content_warning":
        extra = {"content_warning": value}
    data = post_dict("1", text, **extra)
    data["author"] = {"handle": "@ada@example.org"}
    if where == "display_name":
        data["author"]["display_name"] = value
    if where == "html":
        data["text"] = ""
    decision = blocked_content(
        Post.from_dict(data), Rules(blocked_words=("spoiler",)), History(), NOW
    )
    assert decision is not None and decision.state == State.REJECTED, (where, value)


def test_blocked_tags_are_found_however_disguised() -> None:
    """A blocked hashtag written fullwidth or with a zero-width space is still blocked."""
    for text in (
        "join #\uff43\uff52\uff59\uff50\uff54\uff4f",
        "join #cry\u200bpto",
        "join #CRYPTO",
    ):
        decision = blocked_content(make(text), Rules(blocked_tags=("crypto",)), History(), NOW)
        assert decision is not None, text
    assert (
        blocked_content(
            make("a cryptography talk"), Rules(blocked_tags=("crypto",)), History(), NOW
        )
        is None
    )


@given(st.text(alphabet=st.characters(max_codepoint=127)))
def test_ascii_text_folds_as_the_full_normalization_does(text: str) -> None:
    """Folding ASCII text by its shortcut gives what NFKC, case-folding and the rest give."""
    full = unicodedata.normalize("NFKC", unicodedata.normalize("NFKC", text).casefold())
    assert folded(text) == full


def test_folding_still_reads_disguises_outside_ascii() -> None:
    """Text with one non-ASCII character takes the full path: look-alikes and invisibles go."""
    assert folded("SP\u200bAM \u0455\u0440\u0430\u043c") == "spam spam"
