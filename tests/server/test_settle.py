"""A web process settles its heap once started: templates compiled, start-up frozen out of GC."""

from __future__ import annotations

import subprocess
import sys

from tests.helpers import ROOT, deadline

SERVE_AND_REPORT = """
import asyncio, gc, os
from pathlib import Path
from server.cli import web_server
from wall.settings import Settings

async def main():
    server = web_server(Settings.from_env(), "127.0.0.1", 0)
    before = gc.get_freeze_count()
    task = asyncio.create_task(server.serve())
    while not server.started:
        await asyncio.sleep(0.01)
    renderer = server.config.app.state.services.renderer
    templates = len(list(Path("templates").glob("*.html")))
    print(before, gc.get_freeze_count(), len(renderer.env.cache), templates)
    server.should_exit = True
    await task

asyncio.run(main())
"""


def test_web_process_compiles_templates_and_freezes_its_start_up(env: dict[str, str]) -> None:
    """`eventwall web`'s server, once started, has compiled every template and moved its
    start-up objects out of the collector's sight, so no full collection walks them mid-request."""
    done = subprocess.run(
        [sys.executable, "-c", SERVE_AND_REPORT],
        cwd=ROOT,
        env={**env, "PATH": "/usr/bin:/bin", "PORT": "0"},
        capture_output=True,
        text=True,
        timeout=deadline(60),
    )
    assert done.returncode == 0, done.stderr[-2000:]
    before, frozen, compiled, templates = map(int, done.stdout.split()[-4:])
    assert before == 0
    assert frozen > 10_000, f"only {frozen} objects frozen"
    assert compiled == templates > 20
