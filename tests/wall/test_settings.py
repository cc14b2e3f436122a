"""Settings: read from the environment with types, errors that name the variable."""

from __future__ import annotations

from pathlib import Path

import pytest

from wall.settings import Settings


def test_defaults() -> None:
    """With an empty environment every setting has its default."""
    settings = Settings.from_env({})
    assert settings.redis_url == "" and settings.port == 8000 and settings.demo is True


def test_typed_values() -> None:
    """Integers, floats, booleans and paths are converted."""
    settings = Settings.from_env(
        {"PORT": "9000", "DEMO_RATE": "2.5", "DEMO": "off", "DATA_DIR": "/tmp/x"}
    )
    assert settings.port == 9000 and settings.demo_rate == 2.5
    assert settings.demo is False and settings.data_dir == Path("/tmp/x")


@pytest.mark.parametrize(("name", "value"), [("PORT", "eighty"), ("DEMO", "maybe")])
def test_bad_value_names_the_variable(name: str, value: str) -> None:
    """A malformed value is an error naming the variable."""
    with pytest.raises(ValueError, match=name):
        Settings.from_env({name: value})


def test_secret_key_is_not_in_repr() -> None:
    """The session-signing key never appears in a printed or logged Settings."""
    settings = Settings.from_env({"SECRET_KEY": "hunter2-very-secret"})
    assert settings.secret_key == "hunter2-very-secret"
    assert "hunter2" not in repr(settings)
