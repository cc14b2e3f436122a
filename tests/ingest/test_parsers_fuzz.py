"""Property tests: the JSON parsers fed arbitrary bytes raise only their own, clear errors."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from ingest.sources.bluesky import JetstreamError, parse_commit
from ingest.sources.mastodon import StatusError, status_post
from ingest.sources.replay import BadLine, parse_line
from wall.models import Post

FAST = settings(max_examples=200, deadline=None)
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=4)
    ),
    max_leaves=12,
)
# Objects shaped like the real thing, with the wrong types in places.
post_like = st.fixed_dictionaries(
    {},
    optional={
        "source": json_values,
        "native_id": json_values,
        "id": json_values,
        "author": st.one_of(
            json_values, st.fixed_dictionaries({}, optional={"handle": json_values})
        ),
        "text": json_values,
        "html": json_values,
        "created_at": json_values,
        "photos": json_values,
        "hashtags": json_values,
        "sensitive": json_values,
    },
)


@FAST
@given(st.binary(max_size=200))
def test_replay_line_of_any_bytes_is_a_post_a_bad_line_or_blank(raw: bytes) -> None:
    """Any bytes at all: parse_line never raises."""
    assert isinstance(parse_line(raw, 1), Post | BadLine | type(None))


@FAST
@given(st.one_of(json_values, post_like))
def test_replay_line_of_any_json_names_what_is_wrong(value: Any) -> None:
    """Any JSON value: a Post, or a BadLine whose reason names a field or the JSON itself."""
    parsed = parse_line(json.dumps(value).encode(), 7)
    if isinstance(parsed, BadLine):
        assert parsed.line == 7 and parsed.reason
        assert ":" in parsed.reason or "JSON object" in parsed.reason, parsed.reason
    else:
        assert isinstance(parsed, Post)


@FAST
@given(st.one_of(st.binary(max_size=200), json_values.map(json.dumps)))
def test_jetstream_message_of_anything_raises_only_jetstream_error(message: Any) -> None:
    """A Jetstream message that is not a post commit: None or JetstreamError, nothing else."""
    try:
        parse_commit(message)
    except JetstreamError:
        pass


@FAST
@given(
    st.one_of(
        json_values,
        st.fixed_dictionaries({"id": json_values, "account": json_values, "content": json_values}),
    )
)
def test_mastodon_status_of_anything_raises_only_status_error(status: Any) -> None:
    """A Mastodon status of any shape: a Post, None, or StatusError, nothing else."""
    try:
        status_post(status, "masto.example")
    except StatusError:
        pass
