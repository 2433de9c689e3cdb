"""The command line's layout: bot never imports the measurement package, whose commands still
reach `assistant` through the entry point; a broken plugin costs only its own commands."""

from __future__ import annotations

import subprocess
import sys
from importlib.metadata import EntryPoint

import pytest
import typer
from typer.testing import CliRunner

import bot.cli as cli


def test_importing_the_cli_does_not_import_evals() -> None:
    code = (
        "import sys, bot.cli; print(sorted(m for m in sys.modules if m.split('.')[0] == 'evals'))"
    )
    printed = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert printed.strip() == "[]"


def test_the_entry_point_adds_the_measurement_commands() -> None:
    app = typer.Typer()
    cli.load_plugins(app)
    result = CliRunner().invoke(app, ["bench", "--help"])
    assert result.exit_code == 0 and "answers" in result.output and "retrieval" in result.output
    assert CliRunner().invoke(app, ["train", "injection", "--help"]).exit_code == 0


def test_a_broken_plugin_is_reported_and_skipped(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    broken = EntryPoint(name="broken", value="no_such_module:register", group=cli.PLUGIN_GROUP)
    monkeypatch.setattr(cli, "entry_points", lambda group: [broken])
    app = typer.Typer()
    app.command("hello")(lambda: None)
    cli.load_plugins(app)
    assert "commands 'broken' unavailable" in capsys.readouterr().err
    assert CliRunner().invoke(app, []).exit_code == 0
