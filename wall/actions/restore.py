"""Restore: a rejected or hidden post back into the queue."""

from wall.actions import Action, register
from wall.moderation import State

register(
    Action(
        "restore",
        frozenset({State.REJECTED, State.HIDDEN}),
        State.PENDING,
        label="Restore",
        past="Back in the queue",
        order=5,
    )
)
