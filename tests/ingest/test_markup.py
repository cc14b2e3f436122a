"""The plain-text copy of post HTML, and Mastodon's folded links."""

from __future__ import annotations

from ingest.pipeline import take
from ingest.sources.markup import fold_link_spans, html_text
from ingest.sources.mastodon import status_post
from tests.fake_mastodon import recorded
from wall.mod_store import ModerationStore
from wall.models import Event
from wall.moderation import State
from wall.store import Store


def test_breaks_stay_whitespace_and_entities_are_decoded() -> None:
    """Paragraphs and <br> keep words apart; &amp; and &nbsp; become the characters they are."""
    assert html_text("<p>Minsal</p><p>https://x.example</p>") == "Minsal\n\nhttps://x.example"
    assert html_text("one<br>two<br/>three") == "one\ntwo\nthree"
    assert html_text("<p>Fish &amp; chips&nbsp;today &#x27;24</p>") == "Fish & chips today '24"
    assert html_text("<p>a\n   b</p>") == "a b"  # source newlines are spaces to a reader
    assert html_text("<script>alert(1)</script><p>ok</p>") == "ok"


def test_mastodon_link_spans_fold_as_its_clients_show_them() -> None:
    """`invisible` parts go, an `ellipsis` part ends in "…"; the href keeps the full URL."""
    content = recorded("status_docs_link_card.json")["content"]
    folded = fold_link_spans(content)
    assert ">theguardian.com/money/2019/dec…</a>" in folded
    assert 'href="https://www.theguardian.com/money/2019/dec/07/' in folded
    assert "https://www.</span>" not in folded


async def test_a_blocked_word_after_a_paragraph_break_is_caught(store: Store, event: Event) -> None:
    """A blocked word starting a paragraph is a word of its own in the text the rules read."""
    await ModerationStore(store.redis).set_rules(
        event.slug, blocked_words=["crypto"], blocked_tags=[], flood_limit=0, hold_duplicates=False
    )
    status = recorded("timeline_tag_hoot.json")[0]
    status["content"] = "<p>Great talk, buy</p><p>crypto now</p>"
    post = status_post(status, "masto.example")
    assert post is not None
    await take(store, event, post)
    assert await store.get_state(event.slug, post.id) == State.REJECTED
