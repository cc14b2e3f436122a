"""Ban author: reject, and reject the author's next posts at once."""

from wall.actions import Action, register
from wall.moderation import State

register(
    Action(
        "ban",
        frozenset({State.PENDING, State.APPROVED, State.HIDDEN}),
        State.REJECTED,
        label="Ban author",
        past="Author banned, post rejected",
        style="minor danger",
        again=True,
        standing="banned",
        order=95,
    )
)
