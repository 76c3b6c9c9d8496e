"""The everyday commands start without the heavy imports: a regression here costs every ``wharf ps``.

Each command runs in a fresh interpreter against a fake engine and lists, as it exits, every module it
imported. typer (with click), rich, httpx and pydantic must not be among them, nor the standard
modules that cost the most and that these commands do not need (``dataclasses`` brings ``inspect``).
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from wharf_client import STDOUT, encode_frame
from wharf_client.testing import FakeEngine, FakeRequest, Reply, write_upgrade

CID = "4f1d2c3b5a6e" + "0" * 52
LIBRARIES = {"typer", "click", "rich", "httpx", "pydantic"}
HEAVY = LIBRARIES | {"dataclasses", "inspect", "pathlib", "urllib", "ssl", "email"}
# what a bare interpreter does not load and these commands do without (wharf_client.lean): typing
# alone brings re, enum, functools, collections and contextlib, several ms before the first request
# (collections itself costs ~1.3 ms: lean.NamedTuple makes namedtuple's classes without it)
BASE = {
    "typing",
    "collections",
    "re",
    "enum",
    "functools",
    "contextlib",
    "json",
    "socket",
    "selectors",
    "threading",
    "signal",
    "base64",
}
PROBE = """
import atexit, sys
def dump():
    with open(sys.argv[1], "w") as out:
        out.write("\\n".join(sorted(sys.modules)))
atexit.register(dump)
from wharf_cli.main import main
sys.exit(main(sys.argv[2:]))
"""


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[FakeEngine]:
    with FakeEngine(tmp_path / "engine.sock") as fake:
        fake.route("GET", "/containers/json", lambda req: Reply.json([]))
        fake.route("GET", "/containers/c/json", lambda req: Reply.json({"Id": CID, "Config": {"Tty": False}}))
        fake.route("GET", f"/containers/{CID}/logs", lambda req: Reply(200, [encode_frame(STDOUT, b"x\n")]))
        fake.route("POST", "/containers/c/exec", lambda req: Reply.json({"Id": "e1"}, 201))
        fake.route("POST", "/exec/e1/start", lambda req: Reply(200))
        fake.route("POST", "/containers/create", lambda req: Reply.json({"Id": CID, "Warnings": []}, 201))
        fake.route("POST", "/containers/[^/]+/start", lambda req: Reply(204))
        fake.route("POST", "/containers/[^/]+/attach", _attach)
        fake.route("POST", "/containers/[^/]+/wait", lambda req: Reply(200, [b'{"StatusCode":0}']))
        yield fake


def _attach(req: FakeRequest) -> None:
    write_upgrade(req.sock, multiplexed=True)
    req.sock.close()


@pytest.mark.parametrize(
    "args",
    [
        ["ps"],
        ["ps", "-a", "--format", "{{.ID}} {{.Names}}"],
        ["logs", "c"],
        ["exec", "-d", "c", "true"],
        ["run", "--rm", "busybox", "true"],
        ["run", "-d", "-e", "A=1", "-p", "80:80", "busybox"],
    ],
    ids=" ".join,
)
def test_hot_command_imports_nothing_heavy(engine: FakeEngine, tmp_path: Path, args: list[str]) -> None:
    listing = tmp_path / "modules.txt"
    argv = [sys.executable, "-c", PROBE, str(listing), "-H", engine.url, *args]
    result = subprocess.run(argv, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    loaded = listing.read_text().split()
    heavy = (HEAVY | BASE) & {name.split(".")[0] for name in loaded}
    assert not heavy, sorted(heavy)
    assert not any(name.startswith("wharf_cli.commands.") for name in loaded)


def test_the_probe_can_see_a_base_module(engine: FakeEngine, tmp_path: Path) -> None:
    """The check above can fail: a ``--format`` that needs the template lexer imports ``re``."""
    listing = tmp_path / "modules.txt"
    argv = [sys.executable, "-c", PROBE, str(listing), "-H", engine.url, "ps", "--format", "{{json .ID}}"]
    result = subprocess.run(argv, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert "re" in listing.read_text().split()


def test_help_still_goes_through_typer(tmp_path: Path) -> None:
    listing = tmp_path / "modules.txt"
    argv = [sys.executable, "-c", PROBE, str(listing), "ps", "--help"]
    result = subprocess.run(argv, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[1] == "Usage:  wharf ps [OPTIONS]"
    assert "typer" in listing.read_text().split()
