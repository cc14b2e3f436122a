"""Scenes of named screens: validated, stored, and logged on the public change log."""

from __future__ import annotations

import pytest

from wall.screens import DEFAULT_SCREEN, Scene, SceneError, ScreenStore, screen_name
from wall.store import Store


def test_screen_names_fall_back_to_main() -> None:
    """A wall's `?screen=` is a short lower-case name; anything else is the main screen."""
    assert screen_name("Stage") == "stage"
    assert screen_name("lobby-2") == "lobby-2"
    for bad in (None, "", "../x", "a" * 40, "<b>"):
        assert screen_name(bad) == DEFAULT_SCREEN


@pytest.mark.parametrize(
    "fields",
    [{"layout": "carousel"}, {"theme": "neon"}, {"cycle": 601}, {"holding": "x" * 141}],
)
def test_bad_scenes_are_refused(fields: dict[str, object]) -> None:
    """A scene names a known layout and theme, a sane cycle and a short holding message."""
    with pytest.raises(SceneError):
        Scene(screen="stage", **fields)  # type: ignore[arg-type]


async def test_scene_goes_on_the_public_log(store: Store) -> None:
    """A scene change is one public log entry, so a reconnecting wall replays it."""
    screens = ScreenStore(store.redis)
    before = await store.last_change_id("testevent")
    scene = Scene(screen="stage", layout="mosaic", holding="Back at 20:15")
    await screens.set_scene("testevent", scene)
    changes = await store.changes_since("testevent", before)
    assert changes is not None and [c.type for c in changes] == ["scene"]
    assert Scene.from_json(changes[0].reason) == scene
    assert await screens.scene("testevent", "stage") == scene
    assert await screens.scene("testevent", "lobby") == Scene(screen="lobby")


async def test_walls_are_counted_per_screen(store: Store) -> None:
    """Walls that said they are there lately are counted per screen; stale ones are not."""
    screens = ScreenStore(store.redis)
    now = 1_000_000_000
    assert await screens.seen("testevent", "stage", "wall-aaaaaaaa", now)
    assert await screens.seen("testevent", "stage", "wall-bbbbbbbb", now - 60_000)
    assert not await screens.seen("testevent", "stage", "bad id!", now)
    assert await screens.walls("testevent", now) == {"main": 0, "stage": 1}
