"""Moderation states, which of them the public may see, and the state a new post starts in."""

from __future__ import annotations

from enum import StrEnum

from wall.models import Event, Post


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


def initial_state(event: Event, post: Post) -> State:
    """The state a newly ingested post starts in.

    Until the moderation console exists every post is approved at ingest; the other
    states already exist in the store so that rules can be added without a migration.
    """
    del event, post
    return State.APPROVED
