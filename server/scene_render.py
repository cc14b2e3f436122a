"""The websocket message for a scene change (kept apart from the routes: the renderer needs it)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from wall.changes import Change
from wall.screens import Scene, SceneError

if TYPE_CHECKING:
    from server.render import Renderer


def scene_fragment(renderer: Renderer, change: Change) -> str:
    """One hidden element every wall reads; only the walls showing its screen follow (the
    same bytes go to every client, whatever screen it shows)."""
    try:
        scene = Scene.from_json(change.reason)
    except SceneError:
        scene = Scene()
    return renderer.env.get_template("_scene.html").render(scene=scene, change_id=change.id)
