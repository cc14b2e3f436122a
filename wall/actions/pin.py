"""Pin: approve and put in the wall's spotlight."""

from wall.actions import Action, register
from wall.moderation import State

register(
    Action(
        "pin",
        frozenset({State.PENDING, State.APPROVED}),
        State.APPROVED,
        label="Pin",
        past="In the spotlight on the wall",
        key="p",
        again=True,
        spotlight=True,
        order=25,
    )
)
