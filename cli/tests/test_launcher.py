"""The lean launcher (``python -m wharf_cli.launcher``): what a command sees through it is what it sees
through the installer's console script, minus ``site``; writing it twice changes nothing; a changed
site directory makes it run ``site`` as usual; it refuses what it cannot reproduce."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from wharf_cli import launcher

PYTHON = str(Path(sys.prefix) / "bin" / "python")  # the virtualenv's, unresolved (as in the shebang)
PROBE_MODULE = """
import json, sys
def main():
    print(json.dumps({"path": sys.path, "prefix": sys.prefix, "exec_prefix": sys.exec_prefix,
                      "site": "site" in sys.modules, "argv": sys.argv[1:]}))
    return 3
"""
STOCK = """#!{python}
# -*- coding: utf-8 -*-
import sys
from {module} import {function}
if __name__ == "__main__":
    sys.exit({function}())
"""


@pytest.fixture
def probe_env(tmp_path: Path) -> dict[str, str]:
    """``wharf_probe:main`` importable through PYTHONPATH (which the launcher keeps, as site does)."""
    (tmp_path / "lib").mkdir()
    (tmp_path / "lib" / "wharf_probe.py").write_text(PROBE_MODULE)
    return {**os.environ, "PYTHONPATH": str(tmp_path / "lib")}


def run_script(script: Path, env: dict[str, str]) -> dict[str, object]:
    result = subprocess.run([str(script), "a", "--b"], env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode == 3, result.stderr  # the entry point's return value is the exit status
    seen: dict[str, object] = json.loads(result.stdout)
    return seen


def test_the_launcher_gives_the_entry_point_what_the_console_script_gives(
    tmp_path: Path, probe_env: dict[str, str]
) -> None:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    stock = bin_dir / "stock"
    stock.write_text(STOCK.format(python=PYTHON, module="wharf_probe", function="main"))
    stock.chmod(0o755)
    outcome = launcher.write_launcher(bin_dir, PYTHON, name="lean", entry="wharf_probe:main")
    assert outcome.written and outcome.refused is None
    lean = bin_dir / "lean"
    assert lean.read_text().startswith(f"#!{PYTHON} -S\n{launcher.MARKER}\n")
    through_stock, through_lean = run_script(stock, probe_env), run_script(lean, probe_env)
    assert through_stock["site"] and not through_lean["site"]
    for key in ("path", "prefix", "exec_prefix", "argv"):
        assert through_lean[key] == through_stock[key], key
    assert through_lean["prefix"] == sys.prefix != sys.base_prefix  # the virtualenv, as site sets it


def test_writing_it_again_changes_nothing(tmp_path: Path) -> None:
    first = launcher.write_launcher(tmp_path, PYTHON, name="lean", entry="wharf_probe:main")
    before = (tmp_path / "lean").stat()
    second = launcher.write_launcher(tmp_path, PYTHON, name="lean", entry="wharf_probe:main")
    after = (tmp_path / "lean").stat()
    assert first.written and not second.written and second.refused is None
    assert (before.st_mtime_ns, before.st_ino) == (after.st_mtime_ns, after.st_ino)
    assert [path.name for path in tmp_path.iterdir()] == ["lean"]  # no partial file left behind


def test_a_changed_site_directory_runs_site_as_usual(tmp_path: Path, probe_env: dict[str, str]) -> None:
    state = launcher.probe_site(PYTHON)
    moved = tmp_path / "site-dir"
    moved.mkdir()
    stale = state._replace(site_dirs=[(str(moved), moved.stat().st_mtime_ns - 1)])
    script = tmp_path / "lean"
    script.write_text(launcher.launcher_text(PYTHON, "wharf_probe:main", stale))
    script.chmod(0o755)
    stock = tmp_path / "stock"
    stock.write_text(STOCK.format(python=PYTHON, module="wharf_probe", function="main"))
    stock.chmod(0o755)
    through_lean, through_stock = run_script(script, probe_env), run_script(stock, probe_env)
    assert through_lean["site"]
    assert through_lean["path"] == through_stock["path"] and through_lean["prefix"] == through_stock["prefix"]
    moved.rmdir()  # a site directory that is gone: site runs too
    assert run_script(script, probe_env)["site"]


def test_the_site_state_is_what_site_adds() -> None:
    state = launcher.probe_site(PYTHON)
    site_packages = next(path for path in sys.path if path.endswith("site-packages"))
    assert state.added_paths[0] == site_packages
    assert str(Path(launcher.__file__).parents[1]) in state.added_paths  # cli/src, from its .pth file
    assert [directory for directory, _ in state.site_dirs] == [site_packages]
    assert state.site_dirs[0][1] == Path(site_packages).stat().st_mtime_ns


def test_it_refuses_what_it_cannot_reproduce(tmp_path: Path) -> None:
    foreign = tmp_path / "wharf"
    foreign.write_text('#!/bin/sh\nexec something-else "$@"\n')
    outcome = launcher.write_launcher(tmp_path, PYTHON, entry="wharf_cli.console:run")
    assert not outcome.written and "neither the installer's console script" in str(outcome.refused)
    assert foreign.read_text().startswith("#!/bin/sh")
    state = launcher.probe_site(PYTHON)
    with pytest.raises(launcher.Refused, match="#! line"):
        launcher.launcher_text("/" + "x" * 130 + "/python", "wharf_cli.console:run", state)
    with pytest.raises(launcher.Refused, match="#! line"):
        launcher.launcher_text("/opt/my venv/bin/python", "wharf_cli.console:run", state)
    with pytest.raises(launcher.Refused, match="module:function"):
        launcher.launcher_text(PYTHON, "wharf_cli.console", state)
    pth = tmp_path / "hook.pth"
    pth.write_text("/some/dir\nimport os; os.environ['X'] = '1'\n")
    assert launcher._runs_code(pth)
    pth.write_text("/some/dir\n# import nothing\n")
    assert not launcher._runs_code(pth)


def test_it_replaces_the_installers_script_and_its_own(tmp_path: Path) -> None:
    script = tmp_path / "wharf"
    script.write_text(STOCK.format(python=PYTHON, module="wharf_cli.console", function="run"))
    assert launcher.replaceable(script, "wharf_cli.console:run")
    assert not launcher.replaceable(script, "other.module:run")
    assert launcher.write_launcher(tmp_path, PYTHON, entry="wharf_cli.console:run").written
    assert launcher.replaceable(script, "wharf_cli.console:run")
    assert launcher.console_entry("wharf") == "wharf_cli.console:run"
    with pytest.raises(launcher.Refused, match="no console script"):
        launcher.console_entry("no-such-wharf-script")


def test_the_command_line(tmp_path: Path) -> None:
    (tmp_path / "wharf").write_text(STOCK.format(python=PYTHON, module="wharf_cli.console", function="run"))
    argv = [PYTHON, "-m", "wharf_cli.launcher", "--bin-dir", str(tmp_path)]
    first = subprocess.run(argv, capture_output=True, text=True, timeout=60)
    assert first.returncode == 0 and first.stderr == f"wharf launcher: wrote {tmp_path / 'wharf'}\n"
    again = subprocess.run(argv, capture_output=True, text=True, timeout=60)
    assert again.returncode == 0 and again.stderr == ""
    missing = subprocess.run([*argv, "--python", str(tmp_path / "nope")], capture_output=True, text=True)
    assert missing.returncode == 2 and "no interpreter at" in missing.stderr
