"""The README is the front door: it must stay true to the code."""

from __future__ import annotations

import typer

from pipeline.settings import Settings
from tests.conftest import ROOT
from workers.cli import app

README = (ROOT / "README.md").read_text(encoding="utf-8")


def test_every_setting_is_documented() -> None:
    missing = [name for name in Settings.model_fields if f"`NEWSFLOW_{name.upper()}`" not in README]
    assert not missing


def test_every_command_is_documented_and_the_two_commands_come_first() -> None:
    group = typer.main.get_command(app)
    for name in group.commands:  # type: ignore[attr-defined]
        assert f"`newsflow {name}" in README, name
    first_screen = "\n".join(README.splitlines()[:25])
    assert "make run" in first_screen and "make test" in first_screen
