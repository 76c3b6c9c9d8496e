"""The command modules are grouped by concept as docker/cli's ``cli/command/*``, loaded one at a time."""

from __future__ import annotations

import subprocess
import sys

import pytest
from wharf_cli.main import COMMANDS, create_app

CONCEPTS = {"container", "image", "volume", "network", "system", "registry"}


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_each_command_is_registered_by_its_concept_module(command: str) -> None:
    assert COMMANDS[command].split(".")[0] in CONCEPTS
    app = create_app(command)
    names = {c.name for c in app.registered_commands} | {g.name for g in app.registered_groups}
    assert command in names


def test_pause_export_and_diff_are_container_commands() -> None:
    assert {COMMANDS[c] for c in ("pause", "unpause", "export", "diff", "commit")} <= {
        "container.lifecycle",
        "container.changes",
    }


def test_ps_imports_only_its_own_command_module() -> None:
    code = "import sys; from wharf_cli.main import create_app; create_app('ps'); print(*sorted(sys.modules))"
    loaded = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    commands = {name for name in loaded.split() if name.startswith("wharf_cli.commands.")}
    assert commands == {"wharf_cli.commands.container", "wharf_cli.commands.container.ps"}
    assert not {"rich", "pydantic", "httpx"} & set(loaded.split())
