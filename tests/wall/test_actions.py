"""The moderators' actions registry: one module per action, read by everything that offers them."""

from __future__ import annotations

import pytest

from wall import actions
from wall.actions import ACTIONS, Action, ActionError, available, register, target_state
from wall.moderation import State


def names(state: State) -> set[str]:
    return {a.name for a in available(state)}


def test_buttons_per_state() -> None:
    """Each state offers exactly the actions that can apply to it."""
    assert names(State.PENDING) == {"approve", "reject", "pin", "trust", "ban", "ban-all"}
    assert names(State.APPROVED) == {"reject", "hide", "pin", "trust", "ban", "ban-all"}
    assert names(State.REJECTED) == {"approve", "restore", "trust", "ban", "ban-all"}
    assert names(State.HIDDEN) == {"approve", "restore", "trust", "ban", "ban-all"}


def test_target_states_and_refusals() -> None:
    """An action leads to its target; from a state it does not apply to it is refused by name."""
    assert target_state("approve", State.PENDING) == State.APPROVED
    assert target_state("pin", State.APPROVED) == State.APPROVED  # pinned again
    assert target_state("ban", State.REJECTED) == State.REJECTED  # a rejected author banned
    with pytest.raises(ActionError, match="cannot hide a post that is pending"):
        target_state("hide", State.PENDING)
    with pytest.raises(ActionError, match="unknown action 'launch'"):
        target_state("launch", State.PENDING)


def test_keys_are_unique_and_swipes_exist() -> None:
    """No two actions share a key, and the console's swipes (a, r) have one each."""
    keys = [a.key for a in ACTIONS.values() if a.key]
    assert len(keys) == len(set(keys))
    assert {"a", "r"} <= set(keys)


def test_registering_an_action_offers_it() -> None:
    """A newly registered action is offered on the states it applies to; a name is taken once."""
    extra = Action("archive", frozenset({State.REJECTED}), State.HIDDEN, "Archive", "Archived")
    register(extra)
    try:
        assert "archive" in names(State.REJECTED) and "archive" not in names(State.PENDING)
        with pytest.raises(ValueError, match="twice"):
            register(extra)
    finally:
        del actions.ACTIONS["archive"]


@pytest.mark.parametrize(
    ("action", "current", "target"),
    [
        ("approve", State.PENDING, State.APPROVED),
        ("reject", State.PENDING, State.REJECTED),
        ("hide", State.APPROVED, State.HIDDEN),
        ("restore", State.REJECTED, State.PENDING),
        ("pin", State.APPROVED, State.APPROVED),
        ("ban", State.APPROVED, State.REJECTED),
        ("trust", State.PENDING, State.APPROVED),
    ],
)
def test_actions_lead_to_states(action: str, current: State, target: State) -> None:
    """Each moderator action moves a post from the states it applies to."""
    assert target_state(action, current) == target


@pytest.mark.parametrize(
    ("action", "current"),
    [("hide", State.PENDING), ("restore", State.APPROVED), ("nuke", State.PENDING)],
)
def test_actions_refused_from_other_states(action: str, current: State) -> None:
    """An action that does not apply to the post's state is an error, not a silent change."""
    with pytest.raises(ActionError):
        target_state(action, current)
