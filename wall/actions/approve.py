"""Approve: onto the wall."""

from wall.actions import Action, register
from wall.moderation import State

register(
    Action(
        "approve",
        frozenset({State.PENDING, State.REJECTED, State.HIDDEN}),
        State.APPROVED,
        label="Approve",
        past="Approved",
        style="approve",
        key="a",
        order=10,
    )
)
