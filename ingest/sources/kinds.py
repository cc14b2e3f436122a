"""Source kinds: each source module registers one `SourceKind`, and everything reads the registry.

A kind says which of a configuration's fields it uses (with the help the command line and
the admin form show), what it checks, and how the worker builds it. `eventwall source add`,
the `/admin` form, the worker and the sources guide all come from here, so a new kind is
one new module in `ingest/sources/` that calls `register` (found by `discover`).
"""

from __future__ import annotations

import argparse
import importlib
import pkgutil
from collections.abc import Callable
from dataclasses import dataclass

import httpx

from ingest.sources.base import Source
from wall.settings import Settings
from wall.sources import FIELDS, SourceConfig, SourceError
from wall.store import Store

Build = Callable[[SourceConfig, Store, httpx.AsyncClient, Settings], Source]
Check = Callable[[SourceConfig], None]


@dataclass(frozen=True, slots=True)
class Option:
    """A configuration field a kind uses: `server`, `tag`, `url` or `token`."""

    name: str
    help: str
    """What to give, for `--help` and the admin form's label."""
    required: bool = False
    secret: bool = False
    """Shown as a password field, never echoed back."""
    placeholder: str = ""


@dataclass(frozen=True, slots=True)
class SourceKind:
    """One kind of source: its options, its checks and how the worker starts it."""

    name: str
    summary: str
    options: tuple[Option, ...]
    build: Build
    check: Check | None = None
    """Further checks of a configuration; raises SourceError naming the field."""
    default_server: str = ""

    def configure(self, event: str, **given: str) -> SourceConfig:
        """A checked configuration of this kind from what an admin typed (unused fields dropped)."""
        used = {o.name for o in self.options}
        extra = sorted(name for name, value in given.items() if value and name not in used)
        if extra:
            raise SourceError(f"{self.name} takes no --{', --'.join(extra)}")
        values = {name: given.get(name, "").strip() for name in used}
        if "server" in used and not values["server"]:
            values["server"] = self.default_server
        missing = [o.name for o in self.options if o.required and not values[o.name]]
        if missing:
            raise SourceError(f"{self.name} needs --{' and --'.join(missing)}")
        config = SourceConfig.create(self.name, event, **values)
        if self.check is not None:
            self.check(config)
        return config


KINDS: dict[str, SourceKind] = {}


def register(kind: SourceKind) -> SourceKind:
    """Add a kind to the registry (its module calls this once, at import)."""
    for option in kind.options:
        if option.name not in FIELDS:
            raise ValueError(f"{kind.name}: no configuration field {option.name!r}")
    KINDS[kind.name] = kind
    return kind


def discover() -> dict[str, SourceKind]:
    """Every registered kind, importing each module of `ingest/sources/` once to find them."""
    package = importlib.import_module("ingest.sources")
    for module in pkgutil.iter_modules(package.__path__):
        importlib.import_module(f"ingest.sources.{module.name}")
    return KINDS


def get(name: str) -> SourceKind:
    """The kind called `name`; SourceError listing the known ones otherwise."""
    kinds = discover()
    if name not in kinds:
        raise SourceError(f"kind: one of {', '.join(sorted(kinds))}")
    return kinds[name]


def configure(kind: str, event: str, **given: str) -> SourceConfig:
    """A checked configuration of any kind; SourceError names what is wrong."""
    return get(kind).configure(event, **given)


def options() -> dict[str, list[tuple[SourceKind, Option]]]:
    """Each configuration field with the kinds using it, for one form or one set of flags."""
    found: dict[str, list[tuple[SourceKind, Option]]] = {name: [] for name in FIELDS}
    for kind in sorted(discover().values(), key=lambda k: k.name):
        for option in kind.options:
            found[option.name].append((kind, option))
    return {name: used for name, used in found.items() if used}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """`source add`'s arguments: the kind, then one flag per field with each kind's help."""
    parser.add_argument("kind", choices=sorted(discover()))
    for name, used in options().items():
        help_text = "; ".join(f"{kind.name}: {option.help}" for kind, option in used)
        parser.add_argument(f"--{name}", default="", help=help_text)
