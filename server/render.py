"""Jinja2 rendering: whole pages, and each change's fragment rendered once for every client."""

from __future__ import annotations

from collections import OrderedDict
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, select_autoescape
from markupsafe import Markup

from server.mod_render import announcement, mod_change, spotlight
from server.scene_render import scene_fragment
from wall import actions, layouts
from wall.changes import Change
from wall.details import display_time, post_time
from wall.models import Event, Post, dom_id
from wall.moderation import State
from wall.sanitize import emoji_html, post_html

TEMPLATES = Path(__file__).resolve().parent.parent / "templates"


class Renderer:
    """Renders templates; change fragments are cached by change id, so a reconnect storm
    replaying the same missed changes renders each of them once."""

    def __init__(self, templates: Path = TEMPLATES, *, cache_size: int = 4096) -> None:
        self.env = Environment(
            loader=FileSystemLoader(templates),
            autoescape=select_autoescape(default=True, default_for_string=True),
            enable_async=False,
            trim_blocks=True,
            lstrip_blocks=True,
        )
        # Sanitized again at render (idempotent): defence in depth for posts stored before
        # a sanitizer change, or written to Redis by something other than the worker.
        self.env.filters["post_html"] = lambda post: Markup(
            emoji_html(post_html(post.text, post.html), ((e.shortcode, e.url) for e in post.emoji))
        )
        self.env.filters["local_time"] = display_time
        self.env.filters["post_time"] = post_time
        # A card's buttons come from the actions registry: one module per action.
        self.env.globals["actions_for"] = lambda state: actions.available(State(state))
        # The wall's script reads what a layout does from the page, never its name.
        self.env.globals["layouts"] = layouts.LAYOUTS
        # Event slug -> its time zone, for fragments rendered outside a page (live pushes).
        self._zones: dict[str, str] = {}
        self._post = self.env.get_template("_post.html")
        self._cache: OrderedDict[tuple[str, str, str], tuple[Post | None, str]] = OrderedDict()
        self._cache_size = cache_size

    def compile_all(self) -> None:
        """Compile every template now rather than on its first request."""
        for name in self.env.list_templates(extensions=["html", "xml", "txt"]):
            self.env.get_template(name)

    def page(self, name: str, **context: Any) -> str:
        """A whole page."""
        return self.env.get_template(name).render(**context)

    def remember(self, event: Event) -> None:
        """Note an event's time zone: its posts pushed live show their times in it."""
        zone = event.extra.get("timezone")
        self._zones[event.slug] = zone if isinstance(zone, str) else ""

    def post(self, post: Post, *, oob: str = "", change_id: str = "", zone: str = "") -> str:
        """The `_post.html` partial for one post, its time in `zone` (an IANA name; UTC if "")."""
        return self._post.render(post=post, oob=oob, change_id=change_id, zone=zone)

    def fragment(self, change: Change) -> str:
        """The websocket message for one change: an htmx out-of-band swap carrying its id."""
        key = (change.event, change.stream, change.id)
        cached = self._cache.get(key)
        # Reused only for the same post: a replay carries the post as it is now (or none,
        # once it was taken down), never what this process rendered when it was live.
        if cached is not None and cached[0] == change.post:
            self._cache.move_to_end(key)
            return cached[1]
        html = self._render_change(change)
        self._cache[key] = (change.post, html)
        self._cache.move_to_end(key)
        if len(self._cache) > self._cache_size:
            self._cache.popitem(last=False)
        return html

    def _render_change(self, change: Change) -> str:
        if change.stream == "mod":
            return mod_change(self, change)
        if change.type == "announce":
            return announcement(self, change)
        if change.type == "spotlight":
            return spotlight(self, change)
        if change.type == "scene":
            return scene_fragment(self, change)
        zone = self._zones.get(change.event, "")
        if change.type in {"show", "new"} and change.post is not None:
            inner = self.post(change.post, zone=zone)
            return (
                f'<div hx-swap-oob="afterbegin:#posts" data-change-id="{change.id}">{inner}</div>'
            )
        if change.type in {"update", "state"} and change.post is not None:
            return self.post(change.post, oob="outerHTML", change_id=change.id, zone=zone)
        return f'<div id="{dom_id(change.post_id)}" hx-swap-oob="delete" data-change-id="{change.id}"></div>'

    def reset(self, posts: list[Post], change_id: str, *, event: str = "") -> str:
        """A full re-render of the post list, for a client whose resume point is lost."""
        zone = self._zones.get(event, "")
        inner = "".join(self.post(p, zone=zone) for p in posts)
        return f'<div id="posts" hx-swap-oob="innerHTML" data-change-id="{change_id}">{inner}</div>'
