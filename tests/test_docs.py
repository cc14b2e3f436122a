"""The README and the guides in docs/: every setting and command documented, every runnable
example working as written, no notes left in the product."""

from __future__ import annotations

import argparse
import os
import re
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from server.cli import build_parser
from tests.helpers import ROOT, deadline
from tests.processes import WebServer
from wall.settings import documented_names

README = (ROOT / "README.md").read_text()
DOCS = ROOT / "docs"
GUIDES = {path.name: path.read_text() for path in sorted(DOCS.glob("*.md"))}
SETTINGS = GUIDES["settings.md"]
COMMANDS = GUIDES["commands.md"]
RUNNABLE = re.compile(r"<!-- runnable -->\s*\n```sh\n(.*?)```", re.S)


def test_every_setting_is_in_the_settings_table() -> None:
    """Each environment variable in wall/settings.py has a row in docs/settings.md's table."""
    rows = set(re.findall(r"^\| `([A-Z_]+)` \|", SETTINGS, re.M))
    missing = [name for name in documented_names() if name not in rows]
    assert not missing, f"undocumented settings: {missing}"


def cli_commands(
    parser: argparse.ArgumentParser | None = None, prefix: str = "eventwall"
) -> list[str]:
    """Every `eventwall` subcommand, as typed (`eventwall source add`)."""
    parser = parser or build_parser()
    found: list[str] = []
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                found.extend(cli_commands(sub, f"{prefix} {name}") or [f"{prefix} {name}"])
    return found


def test_every_command_is_in_the_commands_reference() -> None:
    """Each `eventwall` subcommand has a row in docs/commands.md."""
    commands = cli_commands()
    assert "eventwall ingest replay" in commands
    missing = [c for c in commands if f"| `{c}" not in COMMANDS]
    assert not missing, f"undocumented commands: {missing}"


def test_quick_start_is_two_commands() -> None:
    """The quick start is exactly `make run` and `make test`."""
    block = README.split("## Quick start", 1)[1].split("```sh", 1)[1].split("```", 1)[0]
    commands = [line.split("#")[0].strip() for line in block.strip().splitlines()]
    assert commands == ["make run", "make test"]


def test_the_readme_is_short_and_points_at_every_guide() -> None:
    """The README is a two-minute read and links every guide in docs/."""
    assert len(README.split()) < 700, len(README.split())
    unlinked = [name for name in GUIDES if f"(docs/{name})" not in README]
    assert not unlinked, f"guides the README does not link: {unlinked}"


def test_local_links_and_images_exist() -> None:
    """Every relative link or image in the README and the guides names a file that exists."""
    broken = []
    for base, text in [(ROOT, README), *((DOCS, t) for t in GUIDES.values())]:
        for target in re.findall(r"\]\(([^)#\s]+)\)|src=\"([^\"]+)\"", text):
            path = next(t for t in target if t)
            if not path.startswith(("http://", "https://", "/", "mailto:")):
                if not (base / path).exists():
                    broken.append(path)
    assert not broken, broken


def test_no_session_notes_in_docs() -> None:
    """docs/ holds guides for readers only: no notes/ folder."""
    assert not (DOCS / "notes").exists()


def test_commands_in_shell_blocks_name_the_checkouts_command() -> None:
    """Shell examples call `.venv/bin/eventwall`, which exists in a fresh checkout after make."""
    bare = []
    for name, text in [("README.md", README), *GUIDES.items()]:
        for block in re.findall(r"```sh\n(.*?)```", text, re.S):
            for line in block.splitlines():
                if re.search(r"(^|[|;&(]\s*|^\S+=\S+\s+)eventwall ", line.strip()):
                    bare.append(f"{name}: {line.strip()}")
    assert not bare, bare


def runnable_blocks() -> Iterator[tuple[str, int, str]]:
    """Each shell block marked runnable, as (guide, number, text)."""
    for name, text in GUIDES.items():
        for number, block in enumerate(RUNNABLE.findall(text), start=1):
            yield name, number, block


def test_guides_have_runnable_examples() -> None:
    """Running an event and operating are shown with examples a test runs."""
    guides = {name for name, _, _ in runnable_blocks()}
    assert {"running-an-event.md", "operating.md"} <= guides


@pytest.fixture
def docs_env(redis_url: str, tmp_path: Path) -> Iterator[dict[str, str]]:
    """A private Redis (flushed) and DATA_DIR, and a loopback web server on them."""
    import redis

    client = redis.Redis.from_url(redis_url)
    client.flushall()
    client.close()
    env = {"REDIS_URL": redis_url, "DATA_DIR": str(tmp_path / "var"), "DEMO": "false"}
    with WebServer(env) as server:
        yield {**env, "BASE": server.base}


@pytest.mark.parametrize("guide", sorted({name for name, _, _ in runnable_blocks()}))
def test_runnable_examples_work_as_written(
    docs_env: dict[str, str], tmp_path: Path, guide: str
) -> None:
    """Each shell block marked runnable exits 0, in the guide's order, as a reader runs them."""
    # Run from a scratch folder holding the checkout's .venv and docs, so what an example
    # writes (exports, backups) stays out of the repository.
    work = tmp_path / "checkout"
    work.mkdir()
    for name in (".venv", "docs"):
        (work / name).symlink_to(ROOT / name)
    env = {k: v for k, v in os.environ.items() if k not in {"PORT", "HOST"}}
    env.update({k: v for k, v in docs_env.items() if k != "BASE"})
    for name, number, block in runnable_blocks():
        if name != guide:
            continue
        script = block.replace("http://127.0.0.1:8000", docs_env["BASE"])
        done = subprocess.run(
            ["bash", "-euo", "pipefail", "-c", script],
            cwd=work,
            env=env,
            capture_output=True,
            text=True,
            timeout=deadline(120),
        )
        shown = f"{guide} example {number}:\n{script}\n{done.stdout}{done.stderr}"
        assert done.returncode == 0, shown
        assert "Traceback" not in done.stderr, shown
