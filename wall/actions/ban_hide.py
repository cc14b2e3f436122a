"""Ban author and hide their posts: the ban, and every other post of theirs leaves the wall."""

from wall.actions import Action, register
from wall.moderation import State

register(
    Action(
        "ban-all",
        frozenset({State.PENDING, State.APPROVED, State.HIDDEN}),
        State.REJECTED,
        label="Ban and hide their posts",
        past="Author banned, their posts hidden",
        style="minor danger",
        again=True,
        standing="banned",
        sweep=True,
        order=96,
    )
)
