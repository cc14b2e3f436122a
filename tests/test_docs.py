"""The README documents every setting and every command."""

from __future__ import annotations

import argparse
import re

from server.cli import build_parser
from tests.helpers import ROOT
from wall.settings import documented_names

README = (ROOT / "README.md").read_text()


def test_every_setting_is_in_the_readme_table() -> None:
    """Each environment variable in wall/settings.py has a row in the README's settings table."""
    rows = set(re.findall(r"^\| `([A-Z_]+)` \|", README, re.M))
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


def test_every_command_is_in_the_readme() -> None:
    """Each `eventwall` subcommand appears in the README."""
    commands = cli_commands()
    assert "eventwall ingest replay" in commands
    missing = [c for c in commands if f"`{c}" not in README]
    assert not missing, f"undocumented commands: {missing}"


def test_quick_start_is_two_commands() -> None:
    """The quick start is exactly `make run` and `make test`."""
    block = README.split("## Quick start", 1)[1].split("```sh", 1)[1].split("```", 1)[0]
    commands = [line.split("#")[0].strip() for line in block.strip().splitlines()]
    assert commands == ["make run", "make test"]
