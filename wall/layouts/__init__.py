"""Wall layouts, one module each: a layout's name, its help and how the wall's script moves it.

Each module in this package registers one `Layout`; the package imports them all, so a new
layout is one new module plus its `layout-NAME` CSS (and, for one that places posts itself,
its engine in static/wall-layout.js). The event's checks, `?layout=`, the command line's
help and the page's data attributes (which the wall's script reads instead of naming
layouts) all come from here.
"""

from __future__ import annotations

import importlib
import pkgutil
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Layout:
    """One way to show the wall."""

    name: str
    help: str
    """What it looks like, for the command line and the guides."""
    cycles: bool = False
    """It shows one post at a time and cycles through them (data-cycles on the page)."""
    engine: str = ""
    """The static/wall-layout.js engine that places its posts (data-engine); "": CSS does."""
    fit_photo: bool = False
    """A post's photo is sized to fill what the post leaves (data-fit-photo)."""
    order: int = 100


LAYOUTS: dict[str, Layout] = {}


def register(layout: Layout) -> Layout:
    """Add a layout to the registry (a module calls this once, at import)."""
    if layout.name in LAYOUTS:
        raise ValueError(f"layout {layout.name!r} registered twice")
    LAYOUTS[layout.name] = layout
    return layout


def names() -> list[str]:
    """Every layout's name, in the order they are offered."""
    return [lay.name for lay in sorted(LAYOUTS.values(), key=lambda lay: (lay.order, lay.name))]


def described() -> str:
    """One line naming every layout with its help, for `--layout`."""
    return "; ".join(f"{name}: {LAYOUTS[name].help}" for name in names())


for _module in pkgutil.iter_modules(__path__):
    importlib.import_module(f"{__name__}.{_module.name}")
