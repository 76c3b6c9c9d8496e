"""The command modules are grouped by concept as docker/cli's ``cli/command/*``, loaded one at a time."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner
from wharf_cli.main import COMMANDS, create_app
from wharf_cli.management import MANAGEMENT
from wharf_client.testing import FakeEngine, Reply

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


@pytest.mark.parametrize("group", sorted(MANAGEMENT))
def test_management_groups_carry_their_commands(group: str) -> None:
    runner = CliRunner()
    for name in MANAGEMENT[group][1]:
        result = runner.invoke(create_app(group), [group, name, "--help"])
        assert result.exit_code == 0, (name, result.output)
        assert result.stdout.splitlines()[1].startswith(f"Usage:  wharf {group} {name} ")


def test_container_ls_and_image_rm_are_ps_and_rmi(tmp_path: Path) -> None:
    with FakeEngine(tmp_path / "engine.sock") as engine:
        engine.route("GET", "/containers/json", lambda req: Reply.json([]))
        engine.route("DELETE", "/images/old", lambda req: Reply.json([{"Untagged": "old:latest"}]))
        runner = CliRunner()
        listed = runner.invoke(create_app("container"), ["-H", engine.url, "container", "ls", "-a", "-q"])
        assert listed.exit_code == 0 and listed.stdout == ""
        assert engine.requests_to("/containers/json")[0].param("all") in ("1", "true", "True")
        removed = runner.invoke(create_app("image"), ["-H", engine.url, "image", "rm", "old"])
        assert removed.exit_code == 0 and removed.stdout == "Untagged: old:latest\n"
