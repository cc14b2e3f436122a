"""The plain-text copy of post HTML, and Mastodon's folded links."""

from __future__ import annotations

import feedparser

from ingest.pipeline import take
from ingest.sources.markup import fold_link_spans, html_text
from ingest.sources.mastodon import status_post
from ingest.sources.rss import entry_post
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


def test_a_plain_text_feed_summary_keeps_its_lines() -> None:
    """A feed item whose summary is plain text (Atom type="text", or RSS without tags) keeps
    its line breaks, and its markup-looking text stays text."""
    feed = feedparser.parse(
        b'<feed xmlns="http://www.w3.org/2005/Atom"><entry><id>x</id>'
        b'<summary type="text">line one\nline &lt;b&gt;two&lt;/b&gt;</summary></entry></feed>'
    )
    post = entry_post(feed.entries[0], feed.feed, "https://blog.example/feed")
    assert post is not None and post.text == "line one\nline <b>two</b>"
    rss = feedparser.parse(
        b'<rss version="2.0"><channel><item><guid>y</guid>'
        b"<description>first\nsecond</description></item></channel></rss>"
    )
    item = entry_post(rss.entries[0], rss.feed, "https://blog.example/rss")
    assert item is not None and item.text == "first\nsecond"


def test_a_quoted_status_behind_a_warning_keeps_its_text_back() -> None:
    """The recorded quote, its quoted status given a warning: the quote carries the warning only."""
    status = recorded("status_quote.json")
    status["quote"]["quoted_status"]["spoiler_text"] = "Film ending"
    post = status_post(status, "masto.example")
    assert post is not None and post.quote is not None
    assert post.quote.warning == "Film ending" and post.quote.text == ""
