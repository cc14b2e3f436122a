"""Post fragments: rendered in the event's time zone, warnings and rich media as the author meant."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime
from typing import Any

from server.render import Renderer
from wall import details
from wall.models import Author, Card, Event, Photo, Post, Quote
from wall.store import Change


def _post(**extra: Any) -> Post:
    base = Post(
        source="test",
        native_id="n1",
        author=Author("@ada@example.org", "Ada"),
        text="hello",
        created_at=datetime(2020, 3, 1, 14, 59, tzinfo=UTC),
    )
    return dataclasses.replace(base, **extra)


def test_a_pushed_post_shows_its_time_in_the_event_zone() -> None:
    """A live push for an event whose page was opened renders its times in that zone."""
    renderer = Renderer()
    event = details.apply(Event("paris", "Paris"), {"timezone": "Europe/Paris"})
    change = Change("1-0", "paris", "public", "show", "test:n1", _post(), "approved")
    assert ">1 Mar 2020 14:59<" in renderer.fragment(change)
    renderer.remember(event)
    again = Change("2-0", "paris", "public", "show", "test:n1", _post(), "approved")
    assert ">1 Mar 2020 15:59<" in renderer.fragment(again)


def test_rich_parts_render_escaped_and_local_only() -> None:
    """Video stills carry a play mark, polls list options, a card shows its title and only a
    local thumbnail, a quote is compact; all text escaped."""
    post = _post(
        photos=(Photo("/media/p/v.jpg", 10, 10, "a clip", kind="gifv"),),
        poll=("<b>yes</b>", "no"),
        card=Card("https://x.example/a", "A <title>", image="https://x.example/t.jpg"),
        quote=Quote("https://x.example/q", "Bea", "quoted <i>words</i>"),
    )
    html = Renderer().post(post)
    assert '<span class="play" title="gifv">' in html
    assert '<li dir="auto">&lt;b&gt;yes&lt;/b&gt;</li>' in html
    assert "A &lt;title&gt;" in html and "https://x.example/t.jpg" not in html
    assert "quoted &lt;i&gt;words&lt;/i&gt;" in html


def test_a_quoted_post_behind_a_warning_shows_the_warning_only() -> None:
    """A quote of a content-warned post shows that warning, not the quoted text."""
    post = _post(quote=Quote("https://x.example/q", "Bea", "", warning="Spoilers"))
    html = Renderer().post(post)
    assert '<span class="content-warning" dir="auto">Spoilers</span>' in html
    assert "quote-text" not in html
