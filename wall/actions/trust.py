"""Trust author: approve, and approve the author's next posts at once."""

from wall.actions import Action, register
from wall.moderation import State

register(
    Action(
        "trust",
        frozenset({State.PENDING, State.REJECTED, State.HIDDEN}),
        State.APPROVED,
        label="Trust author",
        past="Author trusted, post approved",
        style="minor",
        again=True,
        standing="trusted",
        order=90,
    )
)
