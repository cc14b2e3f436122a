"""Fixtures shared by the ingest tests."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from tests.fakes import serve
from tests.images import files_app


@pytest.fixture
async def files() -> AsyncIterator[str]:
    """The base URL of a file server with good and hostile images (`tests/images.py`)."""
    async with serve(files_app()) as base:
        yield base
