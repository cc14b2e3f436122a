"""Wall layouts register themselves: the event's check, `?layout=` and the help read the registry."""

from __future__ import annotations

import pytest

from wall import layouts
from wall.display import wall_options
from wall.layouts import Layout, register
from wall.models import Event, PostError


def test_built_in_layouts() -> None:
    """Grid and mosaic are placed by an engine; spotlight and ticker cycle one post at a time."""
    assert layouts.names() == ["grid", "mosaic", "spotlight", "ticker"]
    assert {n for n, lay in layouts.LAYOUTS.items() if lay.cycles} == {"spotlight", "ticker"}
    assert {lay.engine for lay in layouts.LAYOUTS.values()} == {"grid", "mosaic", ""}


def test_a_registered_layout_is_accepted_everywhere() -> None:
    """A new layout module's name is valid for an event and for `?layout=`; unknown ones are not."""
    with pytest.raises(PostError, match="layout: one of grid, mosaic, spotlight, ticker"):
        Event(slug="e", title="E", layout="carousel")
    register(Layout("carousel", "posts going round", cycles=True))
    try:
        assert Event(slug="e", title="E", layout="carousel").layout == "carousel"
        assert wall_options(Event(slug="e", title="E"), {"layout": "carousel"}).layout == "carousel"
        assert "carousel: posts going round" in layouts.described()
    finally:
        del layouts.LAYOUTS["carousel"]
