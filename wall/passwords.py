"""The password rule: long enough, not one character over and over, not a common password.

Used wherever a password is set (`eventwall moderator add --password-stdin`, and through
`Accounts.add` by /admin too). Generated one-time passwords always pass it.
"""

from __future__ import annotations

import functools
from pathlib import Path

MIN_LENGTH = 10
MIN_DISTINCT = 4
COMMON = Path(__file__).with_name("common_passwords.txt")
_ROWS = ("1234567890", "qwertyuiop", "asdfghjkl", "zxcvbnm", "abcdefghijklmnopqrstuvwxyz")


class WeakPassword(ValueError):
    """A password the rule refuses; the message says why, in one line."""


@functools.cache
def common_passwords() -> frozenset[str]:
    """The shipped list of common passwords, lower-cased."""
    lines = COMMON.read_text(encoding="utf-8").splitlines()
    return frozenset(line.strip().lower() for line in lines if line.strip() and line[0] != "#")


def _run_of_neighbours(password: str) -> bool:
    """Whether it is a stretch of the alphabet, the digits or a keyboard row, either way."""
    lowered = password.lower()
    return any(lowered in row or lowered in row[::-1] for row in _ROWS)


def password_problem(password: str, email: str = "") -> str:
    """Why this password is refused, or "" when it is acceptable."""
    if len(password) < MIN_LENGTH:
        return f"a password needs at least {MIN_LENGTH} characters"
    if len(set(password.lower())) < MIN_DISTINCT:
        return f"a password needs at least {MIN_DISTINCT} different characters"
    lowered = password.lower()
    stem = lowered.rstrip("0123456789!?.@#$%&*-_ ")
    if lowered in common_passwords() or stem in common_passwords():
        return "that is one of the most common passwords"
    if _run_of_neighbours(password):
        return "a run of neighbouring keys or letters is guessed at once"
    name = email.partition("@")[0].lower()
    if len(name) >= 4 and name in lowered:
        return "a password must not contain the email's name"
    return ""


def check_password(password: str, email: str = "") -> None:
    """WeakPassword with the reason if the rule refuses the password."""
    problem = password_problem(password, email)
    if problem:
        raise WeakPassword(f"password: {problem}")
