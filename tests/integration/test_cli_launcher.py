"""The lean launcher that ``make setup`` writes as ``.venv/bin/wharf`` (``wharf_cli.launcher``) answers
like the installer's console script against a real engine: output, errors and exit codes, the fast
path and typer's; and ``make setup`` writes it once (running it again changes nothing)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from engines import REPO, VENV_BIN, Engine
from wharf_cli import launcher

pytestmark = [pytest.mark.root]

PYTHON = str(VENV_BIN / "python")
STOCK = f"""#!{PYTHON}
# -*- coding: utf-8 -*-
import sys
from wharf_cli.console import run
if __name__ == "__main__":
    sys.exit(run())
"""


@pytest.fixture(scope="module")
def scripts(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """The installer's console script (as uv writes it) and a launcher written over a copy of it."""
    stock_dir, lean_dir = tmp_path_factory.mktemp("stock"), tmp_path_factory.mktemp("lean")
    for directory in (stock_dir, lean_dir):
        (directory / "wharf").write_text(STOCK)
        (directory / "wharf").chmod(0o755)
    outcome = launcher.write_launcher(lean_dir, PYTHON)
    assert outcome.written, outcome.refused
    return stock_dir / "wharf", lean_dir / "wharf"


def both(engine: Engine, scripts: tuple[Path, Path], *args: str) -> tuple[int, bytes, bytes]:
    """The command through the console script and through the launcher; they must agree."""
    runs = [
        subprocess.run([str(script), *args], env=engine.env, capture_output=True, timeout=60)
        for script in scripts
    ]
    stock, lean = ((r.returncode, r.stdout, r.stderr) for r in runs)
    assert lean == stock, args
    return lean


def test_commands_answer_alike(engine: Engine, scripts: tuple[Path, Path]) -> None:
    assert both(engine, scripts, "run", "--rm", "busybox", "sh", "-c", "echo out; echo err >&2; exit 3") == (
        3,
        b"out\n",
        b"err\n",
    )
    code, out, _ = both(engine, scripts, "ps", "-a", "--format", "{{.Image}}")
    assert code == 0
    code, out, _ = both(engine, scripts, "version", "--format", "{{.Server.APIVersion}}")
    assert code == 0 and out.strip()


def test_errors_and_typer_answer_alike(engine: Engine, scripts: tuple[Path, Path]) -> None:
    code, _, err = both(engine, scripts, "run", "--rm", "busybox", "no-such-command")
    assert code == 127 and b"executable file not found" in err
    code, _, err = both(engine, scripts, "inspect", "no-such-container")
    assert code == 1 and b"No such" in err
    assert both(engine, scripts, "ps", "--nope")[0] == 2  # typer's usage error
    code, out, _ = both(engine, scripts, "image", "ls", "--help")  # a typer command, rich help
    assert code == 0 and b"Usage:" in out


def test_the_launcher_runs_without_site(scripts: tuple[Path, Path]) -> None:
    stock, lean = scripts
    for script, site in ((stock, True), (lean, False)):
        probe = subprocess.run(
            [PYTHON, *([] if site else ["-S"]), "-X", "importtime", str(script), "--nope"],
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert probe.returncode == 2
        assert any(line.endswith("| site") for line in probe.stderr.splitlines()) is site


def test_make_setup_writes_the_launcher_once() -> None:
    first = subprocess.run(["make", "-s", "venv"], cwd=REPO, capture_output=True, text=True, timeout=600)
    assert first.returncode == 0, first.stderr
    script = VENV_BIN / "wharf"
    assert launcher.MARKER in script.read_text()
    before = script.stat()
    again = subprocess.run(["make", "-s", "venv"], cwd=REPO, capture_output=True, text=True, timeout=600)
    assert again.returncode == 0 and "wharf launcher" not in again.stderr, again.stderr
    after = script.stat()
    assert (before.st_mtime_ns, before.st_ino) == (after.st_mtime_ns, after.st_ino)
