"""The password rule refuses what is guessed first, and says why in one line."""

from __future__ import annotations

import pytest

from wall.accounts import new_password
from wall.passwords import MIN_LENGTH, common_passwords, password_problem


@pytest.mark.parametrize(
    ("password", "why"),
    [
        ("short1!", "at least 10 characters"),
        ("aaaaaaaaaa", "different characters"),
        ("ababababab", "different characters"),
        ("1234567890", "most common"),
        ("Password2024!", "most common"),
        ("QWERTYUIOP", "most common"),
        ("iloveyou123", "most common"),
        ("zyxwvutsrqpo", "neighbouring"),
        ("0987654321", "neighbouring"),
        ("alice-loves-pizza", "email's name"),
    ],
)
def test_weak_passwords_are_refused_with_the_reason(password: str, why: str) -> None:
    """Too short, one character over and over, a common one, a run of keys, the email's name."""
    assert why in password_problem(password, "alice@example.org")


def test_reasonable_and_generated_passwords_pass() -> None:
    """A passphrase and every generated one-time password pass the rule."""
    assert password_problem("correct horse battery", "mod@example.org") == ""
    assert password_problem("kX9#mQ2vLp", "") == ""
    assert all(password_problem(new_password(), "mod@example.org") == "" for _ in range(200))


def test_the_common_list_ships_with_the_package() -> None:
    """The list is read from the package's own file, comments left out."""
    common = common_passwords()
    assert "qwertyuiop" in common and "password" in common
    assert not any(p.startswith("#") for p in common)
    assert MIN_LENGTH == 10
