"""Moderators' actions, one module each: what a post may be moved from and to, and how.

Each module in this package registers one `Action`; the package imports them all, so a new
action is one new module. The decision use-case, the console's buttons and key bindings,
the undo and the "what happened" message all read the registry, never a list of names.
"""

from __future__ import annotations

import importlib
import pkgutil
from dataclasses import dataclass

from wall.moderation import State


@dataclass(frozen=True, slots=True)
class Action:
    """One thing a moderator can do to a post."""

    name: str
    sources: frozenset[State]
    """The states it applies from."""
    target: State
    """The state it leads to."""
    label: str
    """The console button's text."""
    past: str
    """What the moderator is told once it applied ("Approved")."""
    style: str = ""
    """The button's CSS classes (`approve`, `reject`, `minor danger`)."""
    key: str = ""
    """The console's keyboard shortcut (empty: none); `a` and `r` are also the swipes."""
    again: bool = False
    """Applying it to a post already in `target` is allowed (re-pins, re-bans an author)."""
    standing: str = ""
    """The author's standing it sets, `banned` or `trusted` (undone with the decision)."""
    spotlight: bool = False
    """It puts the post in the wall's spotlight."""
    sweep: bool = False
    """It also takes the author's other posts off the wall (hidden) and out of the queue."""
    order: int = 100
    """Where its button sits in the console (lower first)."""

    def applies(self, current: State) -> bool:
        """Whether it can be applied to a post that is `current`."""
        return current in self.sources or (self.again and current == self.target)


ACTIONS: dict[str, Action] = {}


class ActionError(ValueError):
    """A decision that cannot apply to a post in its current state."""


def register(action: Action) -> Action:
    """Add an action to the registry (a module calls this once, at import)."""
    if action.name in ACTIONS:
        raise ValueError(f"action {action.name!r} registered twice")
    ACTIONS[action.name] = action
    return action


def get(name: str) -> Action:
    """The registered action called `name`; ActionError if none."""
    try:
        return ACTIONS[name]
    except KeyError:
        raise ActionError(f"unknown action {name!r}") from None


def target_state(name: str, current: State) -> State:
    """The state an action moves a post to from `current`; ActionError if none."""
    action = get(name)
    if not action.applies(current):
        raise ActionError(f"cannot {name} a post that is {current.value}")
    return action.target


def available(current: State) -> list[Action]:
    """The actions a post that is `current` offers, in button order."""
    return sorted(
        (a for a in ACTIONS.values() if a.applies(current)), key=lambda a: (a.order, a.name)
    )


def past(name: str) -> str:
    """What the moderator is told once the action applied."""
    action = ACTIONS.get(name)
    return action.past if action else name


for _module in pkgutil.iter_modules(__path__):
    importlib.import_module(f"{__name__}.{_module.name}")
