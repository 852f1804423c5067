"""Every command's --help works and shows an example."""

import pytest
import typer
from typer.testing import CliRunner

from skyfm.cli import _register, app

_register()


def _command_paths():
    root = typer.main.get_command(app)
    paths = []

    def walk(cmd, path):
        if hasattr(cmd, "commands"):
            for name, sub in cmd.commands.items():
                walk(sub, path + [name])
        else:
            paths.append(path)

    walk(root, [])
    return paths


def test_there_are_commands():
    names = {p[0] for p in _command_paths()}
    assert {"demo", "version"} <= names


@pytest.mark.parametrize("path", _command_paths(), ids=lambda p: " ".join(p))
def test_help_has_an_example(path):
    result = CliRunner().invoke(app, path + ["--help"], terminal_width=200)
    assert result.exit_code == 0, result.output
    assert "Example" in result.output, f"skyfm {' '.join(path)} --help shows no example"
