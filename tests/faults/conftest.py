"""Fixtures of the fault tests: a Valkey of the test's own, which it may stop and restart."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.faults.kit import Valkey


@pytest.fixture
def valkey(tmp_path: Path) -> Iterator[Valkey]:
    """A Valkey of this test's own, on a fixed port, so the test can stop and restart it."""
    server = Valkey(tmp_path / "valkey").start()
    yield server
    server.stop()
