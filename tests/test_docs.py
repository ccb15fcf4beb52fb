"""The documentation is tested: every command has help text and is named in the README."""

from pathlib import Path

import pytest
import typer

from targetwatch.cli import app

README = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")


def commands(group, prefix: str = "targetwatch"):
    for name, cmd in sorted(group.commands.items()):
        path = f"{prefix} {name}"
        if hasattr(cmd, "commands"):  # a group (typer vendors its own click, so no isinstance check)
            yield from commands(cmd, path)
        else:
            yield path, cmd


ALL = list(commands(typer.main.get_command(app)))


def test_there_are_commands_to_document():
    assert len(ALL) >= 5


@pytest.mark.parametrize("path, cmd", ALL, ids=[p for p, _ in ALL])
def test_every_command_has_help_text(path, cmd):
    assert (cmd.help or "").strip(), f"{path} has no help text"


@pytest.mark.parametrize("path", [p for p, _ in ALL])
def test_every_command_appears_in_the_readme(path):
    assert path in README, f"{path} is not in README.md"


def test_the_readme_shows_the_two_setup_commands():
    assert "make run" in README and "make test" in README
