"""Sessions end when a password is reset or the account removed; weak passwords are refused."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from redis.asyncio import Redis
from starlette.testclient import TestClient

from server.app import create_app
from tests.helpers import ROOT, deadline, eventwall
from tests.server.moderation_helpers import login, run, seed
from wall.accounts import Accounts
from wall.passwords import WeakPassword
from wall.settings import Settings


@pytest.fixture
def app(redis_url: str, tmp_path: Path) -> Iterator[Settings]:
    """Settings for the real app on the test Redis."""
    yield Settings(redis_url=redis_url, data_dir=tmp_path / "data", demo=False)


def _logged_in(client: TestClient) -> bool:
    return client.get("/e/testevent/moderate/counts").status_code == 200


def test_a_password_reset_closes_every_open_session(app: Settings, redis_url: str) -> None:
    """Two browsers logged in; the password is reset (as `moderator add` or /admin do): both
    are logged out, and the old password no longer works."""
    seed(redis_url, moderators={"mod@example.org": "testevent"})
    with (
        TestClient(create_app(app), base_url="http://testserver") as phone,
        TestClient(create_app(app), base_url="http://testserver") as laptop,
    ):
        assert login(phone, "mod@example.org").status_code == 303
        assert login(laptop, "mod@example.org").status_code == 303
        assert _logged_in(phone) and _logged_in(laptop)
        run(redis_url, lambda s, a, m: a.add("mod@example.org", "a brand new passphrase"))
        assert not _logged_in(phone) and not _logged_in(laptop)
        assert login(phone, "mod@example.org").status_code == 401
        assert login(phone, "mod@example.org", "a brand new passphrase").status_code == 303


def test_moderator_remove_deletes_the_account_and_its_sessions(
    app: Settings, redis_url: str, env: dict[str, str]
) -> None:
    """`eventwall moderator remove EMAIL`: the open session stops working, the account can't
    log in again; removing an unknown one is a clear error."""
    seed(redis_url, moderators={"mod@example.org": "testevent"})
    with TestClient(create_app(app), base_url="http://testserver") as client:
        login(client, "mod@example.org")
        assert _logged_in(client)
        removed = eventwall("moderator", "remove", "MOD@example.org", env=env)
        assert removed.returncode == 0, removed.stderr
        assert "removed mod@example.org" in removed.stdout
        assert not _logged_in(client)
        assert login(client, "mod@example.org").status_code == 401
    unknown = eventwall("moderator", "remove", "nobody@example.org", env=env)
    assert unknown.returncode == 2 and "nobody@example.org" in unknown.stderr


def test_weak_passwords_are_refused_by_the_command_line(env: dict[str, str]) -> None:
    """`moderator add --password-stdin` refuses a weak password with the rule's reason."""
    assert eventwall("event", "create", "weakpw", "--title", "T", env=env).returncode == 0
    for weak, why in [("aaaaaaaaaa", "different characters"), ("qwertyuiop", "most common")]:
        result = subprocess.run(
            [sys.executable, "-m", "server.cli", "moderator", "add", "a@example.org",
             "--event", "weakpw", "--password-stdin"],
            cwd=ROOT, env={**os.environ, **env}, input=weak + "\n",
            capture_output=True, text=True, timeout=deadline(60),
        )  # fmt: skip
        assert result.returncode == 2 and why in result.stderr, result.stderr


async def test_accounts_refuse_weak_passwords_for_every_caller(redis: Redis) -> None:
    """The rule is in `Accounts.add`, which the command line and /admin both call."""
    with pytest.raises(WeakPassword, match="at least 10"):
        await Accounts(redis).add("a@example.org", "short", admin=True)
    assert await Accounts(redis).get("a@example.org") is None
