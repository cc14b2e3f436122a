"""Rendering for the moderators' stream (JSON with a card) and for wall announcements."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from wall.changes import Change
from wall.models import dom_id

if TYPE_CHECKING:
    from server.render import Renderer


def mod_change(renderer: Renderer, change: Change) -> str:
    """A moderators' message: what changed, and the post's card when there is one.

    Rendered once for every console: the card carries no CSRF token; the console's
    script fills it in from the page, so one rendering serves every moderator.
    """
    card = ""
    if change.post is not None and change.state:
        card = renderer.env.get_template("_mod_post.html").render(
            post=change.post,
            state=change.state,
            reason=_reason(change),
            pinned=False,
            csrf="",
            slug=change.event,
        )
    return json.dumps(
        {
            "id": change.id,
            "type": change.type,
            "post_id": change.post_id,
            "dom_id": dom_id(change.post_id),
            "state": change.state,
            "actor": change.actor,
            "reason": change.reason,
            "html": card,
        }
    )


def _reason(change: Change) -> str:
    if change.actor.startswith("rule:") or not change.actor:
        return change.reason
    return f"{change.reason} by {change.actor}"


def announcement(renderer: Renderer, change: Change) -> str:
    """The wall's announcement overlay, replaced out of band (empty text hides it)."""
    data = json.loads(change.reason or "{}")
    return renderer.env.get_template("_announcement.html").render(
        text=data.get("text", ""), expires_ms=int(data.get("expires_ms", 0)), change_id=change.id
    )


def spotlight(renderer: Renderer, change: Change) -> str:
    """The wall's spotlight: the pinned post, replaced out of band (empty when unpinned)."""
    return renderer.env.get_template("_spotlight.html").render(
        post=change.post, change_id=change.id, oob=True
    )
