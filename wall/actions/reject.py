"""Reject: never on the wall."""

from wall.actions import Action, register
from wall.moderation import State

register(
    Action(
        "reject",
        frozenset({State.PENDING, State.APPROVED}),
        State.REJECTED,
        label="Reject",
        past="Rejected",
        style="reject",
        key="r",
        order=30,
    )
)
