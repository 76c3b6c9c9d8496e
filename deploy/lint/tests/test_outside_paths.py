"""deploy/lint/outside_paths.py against small git repositories made for each case."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[1] / "outside_paths.py"


def lint(tmp_path: Path, files: dict[str, str]) -> subprocess.CompletedProcess[str]:
    (tmp_path / "notes").mkdir()
    repo = tmp_path / "repo"
    repo.mkdir()
    subprocess.run(["git", "init", "-q", str(repo)], check=True)
    for name, text in {"README.md": "# repo\n", "docs/guide.md": "guide\n", **files}.items():
        (repo / name).parent.mkdir(parents=True, exist_ok=True)
        (repo / name).write_text(text)
    subprocess.run(["git", "-C", str(repo), "add", "-A"], check=True)
    return subprocess.run(
        [sys.executable, str(SCRIPT)], cwd=repo, capture_output=True, text=True, check=False
    )


def test_clean_repository_passes(tmp_path: Path) -> None:
    result = lint(
        tmp_path,
        {
            "docs/a.md": "See [the guide](guide.md), `docs/sources/x.md` in moby and https://e.org/spec.md.\n",
            "src/tar.py": '"""Reads docs/guide.md."""\nBAD = ["../../etc/passwd"]  # data, not a reference\n',
        },
    )
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize(
    ("name", "text", "reported"),
    [
        ("README.md", "Read ../notes/PLAN.md first.\n", "'../notes/PLAN.md' climbs out"),
        ("src/m.py", '"""As ../../notes/STYLE.md says."""\n', "climbs out of the repository"),
        ("src/m.py", "x = 1  # see ../../../notes\n", "climbs out of the repository"),
        ("Makefile", "include ../common.mk\n", "'../common.mk' climbs out"),
        ("src/m.py", '"""See STYLE.md for the rules."""\n', "'STYLE.md' names a document"),
        ("docs/b.md", "[map](../../DESIGN.md)\n", "climbs out of the repository"),
        ("docs/b.md", "[gone](missing.md)\n", "'missing.md' links to a file the repository lacks"),
    ],
)
def test_outside_reference_is_reported(tmp_path: Path, name: str, text: str, reported: str) -> None:
    result = lint(tmp_path, {name: text})
    assert result.returncode == 1
    assert f"{name}:" in result.stderr and reported in result.stderr


def test_absolute_paths_beside_and_into_the_checkout_are_reported(tmp_path: Path) -> None:
    result = lint(
        tmp_path,
        {"a.toml": f'doc = "{tmp_path}/notes/PLAN.md"\n', "b.sh": f"cd {tmp_path}/repo/src\n"},
    )
    assert result.returncode == 1
    assert "a.toml:1" in result.stderr and "names a path beside the repository" in result.stderr
    assert "b.sh:1" in result.stderr and "absolute path into the checkout" in result.stderr
