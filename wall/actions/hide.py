"""Hide: off the wall, kept apart from rejected posts."""

from wall.actions import Action, register
from wall.moderation import State

register(
    Action(
        "hide",
        frozenset({State.APPROVED}),
        State.HIDDEN,
        label="Hide",
        past="Hidden from the wall",
        style="reject",
        order=20,
    )
)
