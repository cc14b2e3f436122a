"""Authors who don't want to be on the wall: `#nowall` anywhere they write, or a moderator's list."""

from __future__ import annotations

import re

from wall.models import Post
from wall.moderation import author_key

NOWALL = "#nowall"
_NOWALL = re.compile(r"(?<![\w#])#nowall(?!\w)", re.IGNORECASE)


def says_nowall(*texts: str) -> bool:
    """Whether any of these texts (a post, a bio, a display name) carries #nowall."""
    return any(_NOWALL.search(text) for text in texts if text)


def opt_out_reason(post: Post, opted_out: set[str]) -> str:
    """Why this post must not be taken ("" if it may): #nowall, or the author is on the list."""
    if says_nowall(post.text, post.html, post.author.display_name, post.author.handle):
        return f"author opted out ({NOWALL})"
    if "nowall" in post.hashtags:
        return f"author opted out ({NOWALL})"
    if author_key(post.author.handle) in opted_out:
        return "author opted out (opt-out list)"
    return ""
