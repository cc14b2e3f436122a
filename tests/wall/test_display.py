"""The wall's display rules: options from the event and the URL, join link, stats, faces."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from wall.display import (
    DEFAULT_CYCLE,
    DEFAULT_IDLE,
    Face,
    faces,
    join_prompt,
    join_url,
    short_url,
    wall_options,
)
from wall.models import Author, Event, Photo, Post, PostError


def _post(native_id: str, handle: str, photos: int = 0, avatar: str = "") -> Post:
    return Post(
        source="test",
        native_id=native_id,
        author=Author(handle=handle, display_name=handle.strip("@").title(), avatar_url=avatar),
        text="hello",
        created_at=datetime(2026, 1, 1, tzinfo=UTC),
        photos=tuple(Photo(f"/media/{native_id}-{i}.png") for i in range(photos)),
    )


def test_event_wall_fields_default_and_round_trip() -> None:
    """An event's layout, theme, accent, logo and join URL default sensibly and survive storage."""
    plain = Event(slug="meetup", title="Meetup")
    assert (plain.layout, plain.theme, plain.accent, plain.logo_url) == ("grid", "dark", "", "")
    branded = Event(
        slug="meetup",
        title="Meetup",
        layout="spotlight",
        theme="light",
        accent="#ff0066",
        logo_url="/media/logo.svg",
        join_url="/e/meetup/post",
    )
    assert Event.from_dict(branded.to_dict()) == branded
    # Events stored before these fields existed still load.
    assert Event.from_dict({"slug": "old", "title": "Old"}).layout == "grid"


@pytest.mark.parametrize(
    "field, value",
    [
        ("layout", "carousel"),
        ("theme", "neon"),
        ("accent", "red"),
        ("accent", "#ff00"),
        ("logo_url", "javascript:alert(1)"),
        ("logo_url", "//evil.example/logo.png"),
        ("join_url", "ftp://example.org"),
    ],
)
def test_event_rejects_bad_wall_fields(field: str, value: str) -> None:
    """A layout or theme we don't have, a non-#rrggbb accent, or a non-http URL is refused."""
    with pytest.raises(PostError, match=field):
        Event(slug="meetup", title="Meetup", **{field: value})


def test_url_overrides_event_choice() -> None:
    """?layout= and ?theme= win over the event's choice; unknown values fall back to it."""
    event = Event(slug="m", title="M", layout="spotlight", theme="light")
    assert wall_options(event, {}).layout == "spotlight"
    chosen = wall_options(event, {"layout": "ticker", "theme": "contrast"})
    assert (chosen.layout, chosen.theme) == ("ticker", "contrast")
    typo = wall_options(event, {"layout": "tikcer", "theme": "Dark"})
    assert (typo.layout, typo.theme) == ("spotlight", "light")


def test_timings_are_clamped() -> None:
    """?cycle= and ?idle= are whole seconds within bounds; anything else is the default."""
    event = Event(slug="m", title="M")
    assert wall_options(event, {"cycle": "5", "idle": "30"}).cycle == 5
    assert wall_options(event, {"cycle": "0"}).cycle == 1
    assert wall_options(event, {"cycle": "99999"}).cycle == 600
    assert wall_options(event, {"cycle": "-3", "idle": "soon"}).cycle == DEFAULT_CYCLE
    assert wall_options(event, {"idle": "soon"}).idle == DEFAULT_IDLE


def test_faces_are_distinct_newest_first_and_bounded() -> None:
    """Faces: one per author, in the order of their newest post, at most `limit`."""
    posts = [_post("3", "@cy"), _post("2", "@ada", avatar="/a.png"), _post("1", "@cy")]
    assert [f.handle for f in faces(posts)] == ["@cy", "@ada"]
    assert faces(posts)[1].avatar_url == "/a.png"
    many = [_post(str(i), f"@p{i}") for i in range(40)]
    assert len(faces(many, limit=16)) == 16


def test_face_initials() -> None:
    """An author without an avatar shows up to two initials."""
    assert Face("@ada@x", "Ada Lovelace King", "").initials == "AL"
    assert Face("@x", "", "").initials == "?"


def test_join_url_and_prompt() -> None:
    """The QR code goes to the live page unless the event names a join URL; prompt names the tag."""
    event = Event(slug="meetup", title="Meetup", hashtags=("pyvalley",))
    assert join_url(event, "https://wall.example.org/") == "https://wall.example.org/e/meetup/join"
    own = Event(slug="meetup", title="Meetup", join_url="https://forms.example.org/x")
    assert join_url(own, "http://127.0.0.1:8000") == "https://forms.example.org/x"
    path = Event(slug="meetup", title="Meetup", join_url="/e/meetup/post")
    assert join_url(path, "https://w.example/") == "https://w.example/e/meetup/post"
    assert short_url("https://wall.example.org/e/meetup/live/") == "wall.example.org/e/meetup/live"
    assert join_prompt(event) == "Post with #pyvalley or scan"
    assert join_prompt(Event(slug="x", title="X")) == "Scan to join in"
