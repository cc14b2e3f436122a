"""The Post model: validation of outside data, stable ids, round trips."""

from __future__ import annotations

import re

import pytest

from tests.helpers import post_dict
from wall.models import Event, Post, PostError


def test_id_is_source_and_native_id() -> None:
    """A post's id is `source:native_id`, so the same post always has the same id."""
    post = Post.from_dict(post_dict("42"))
    assert post.id == "test:42"
    assert Post.from_dict(post_dict("42")).id == post.id


def test_round_trip_through_dict() -> None:
    """to_dict and from_dict are inverse, photos and flags included."""
    data = post_dict(
        "7",
        photos=[{"url": "/media/a.jpg", "width": 10, "height": 20, "alt": "a room"}],
        sensitive=True,
        content_warning="flash photo",
        language="fr",
    )
    post = Post.from_dict(data)
    assert Post.from_dict(post.to_dict()) == post
    assert post.photos[0].alt == "a room"


def test_export_id_is_read_back() -> None:
    """A post exported with only `id` ("source:native_id") imports with the same id."""
    data = post_dict("9")
    del data["native_id"]
    data["id"] = "test:9"
    assert Post.from_dict(data).id == "test:9"


def test_source_defaults_to_import() -> None:
    """Replayed posts without a source are marked as imported."""
    data = post_dict("1")
    del data["source"]
    assert Post.from_dict(data).id == "import:1"


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"author": None}, "author"),
        ({"author": {"handle": ""}}, "author.handle"),
        ({"native_id": ""}, "native_id"),
        ({"created_at": "yesterday"}, "created_at"),
        ({"photos": [{"url": 3}]}, "photos[0].url"),
        ({"photos": [{"url": "/x.jpg", "width": -1}]}, "photos[0]"),
        ({"hashtags": "notalist"}, "hashtags"),
        ({"text": "", "html": ""}, "text"),
        ({"source": "Bad Source!"}, "source"),
        ({"text": "x" * 20_001}, "text"),
    ],
)
def test_invalid_fields_are_named(change: dict[str, object], field: str) -> None:
    """A bad post is refused with an error naming the field at fault."""
    data = post_dict("1")
    data.update(change)
    with pytest.raises(PostError) as err:
        Post.from_dict(data)
    assert str(err.value).startswith(field)


def test_not_an_object() -> None:
    """A JSON value that is not an object is refused clearly."""
    with pytest.raises(PostError, match="JSON object"):
        Post.from_dict(["a", "list"])


def test_hashtags_normalized() -> None:
    """Hashtags lose their '#' and case, so #PyValley and pyvalley are one tag."""
    post = Post.from_dict(post_dict("1", hashtags=["#PyValley", "", "Talks"]))
    assert post.hashtags == ("pyvalley", "talks")


def test_dom_id_is_css_safe() -> None:
    """The element id of a post contains only characters safe in a CSS selector."""
    post = Post.from_dict(post_dict("a/b:c d"))
    assert re.fullmatch(r"post-test_a_b_c_d__[0-9a-f]{16}", post.dom_id)


@pytest.mark.parametrize("slug", ["", "Has Caps", "-leading", "a" * 64, "dots.no"])
def test_event_slug_validated(slug: str) -> None:
    """Event slugs are URL-safe lower-case words."""
    with pytest.raises(PostError, match="slug"):
        Event(slug=slug, title="x")


def test_dom_ids_never_collide() -> None:
    """Ids that the old replace-unsafe-characters rule made equal get different DOM ids;
    plain ids keep their readable form; every DOM id is safe in a CSS selector."""
    from wall.models import dom_id

    tricky = [
        "import:x.1",
        "import:x_1",
        "import:x:1",
        "import:x/1",
        "import_x:1",
        "import:x_1__0",
        "im_port:x1",
        "im:port_x1",
        "test:two",
        "test_two",
        "a:" + "é" * 100,
        "a:" + "è" * 100,
    ]
    ids = [dom_id(i) for i in tricky]
    assert len(set(ids)) == len(ids), ids
    assert dom_id("test:two") == "post-test_two" and dom_id("demo:42") == "post-demo_42"
    assert all(re.fullmatch(r"post-[A-Za-z0-9_-]+", i) and len(i) < 120 for i in ids)
