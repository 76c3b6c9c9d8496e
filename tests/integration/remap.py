"""What the ``--userns-remap`` tests share: a remap user of their own, a remapped engine.

The user is made with ``useradd`` and given a subuid and a subgid range of its own; user,
group and both lines are removed afterwards, so the host is left as it was.
"""

from __future__ import annotations

import io
import json
import os
import secrets
import subprocess
import tarfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
from engines import Engine, make_engine
from seed import seed

SUBUID, SUBGID = Path("/etc/subuid"), Path("/etc/subgid")
SIZE = 65536
MODES = ["idmapped", "chowned"]


@dataclass(frozen=True)
class RemapUser:
    name: str
    start: int


def _taken(path: Path) -> list[tuple[int, int]]:
    out = []
    for line in path.read_text().splitlines() if path.exists() else []:
        parts = line.split(":")
        if len(parts) == 3 and parts[1].isdigit() and parts[2].isdigit():
            out.append((int(parts[1]), int(parts[2])))
    return out


def _free_start() -> int:
    taken = _taken(SUBUID) + _taken(SUBGID)
    start = 1_000_000 + secrets.randbelow(1000) * SIZE
    while any(s < start + SIZE and start < s + n for s, n in taken):
        start += SIZE
    return start


def remove_line(path: Path, line: str) -> None:
    if path.exists():
        path.write_text("".join(x + "\n" for x in path.read_text().splitlines() if x != line))


@contextmanager
def remap_user_on_host() -> Iterator[RemapUser]:
    if os.geteuid() != 0:
        pytest.skip("creating a user needs root")
    name = "whr" + secrets.token_hex(4)
    subprocess.run(
        ["useradd", "--system", "--no-create-home", "--user-group", "--shell", "/bin/false", name],
        check=True,
        capture_output=True,
    )
    start = _free_start()
    line = f"{name}:{start}:{SIZE}"
    try:
        for path in (SUBUID, SUBGID):
            with path.open("a") as f:
                f.write(line + "\n")
        yield RemapUser(name, start)
    finally:
        for path in (SUBUID, SUBGID):
            remove_line(path, line)
        subprocess.run(["userdel", name], capture_output=True)
        subprocess.run(["groupdel", name], capture_output=True)


@contextmanager
def remapped_engine(mode: str, user: RemapUser, busybox_tar: Path) -> Iterator[Engine]:
    """A remapped engine: layers idmapped at mount time, or chowned once at unpack (the fallback)."""
    eng = make_engine()
    eng.root.chmod(0o711)  # the remapped root goes through it to its containers' roots
    eng.extra = ("--userns-remap", user.name)
    try:
        with pytest.MonkeyPatch.context() as env:  # kept for restarts: the mode picks the data root
            env.setenv("WHARF_ENGINE_USERNS_REMAP_IDMAPPED", str(mode == "idmapped").lower())
            eng.start()
            seed(str(eng.socket), busybox_tar)
            yield eng
    finally:
        eng.cleanup()


def ok(result: subprocess.CompletedProcess[bytes]) -> str:
    assert result.returncode == 0, result.stderr
    return result.stdout.decode()


def host_ids(pid: int) -> tuple[int, int]:
    status = dict(
        line.split(":", 1) for line in Path(f"/proc/{pid}/status").read_text().splitlines() if ":" in line
    )
    return int(status["Uid"].split()[1]), int(status["Gid"].split()[1])


def running(engine: Engine, *args: str) -> tuple[str, int]:
    cid = ok(engine.docker("run", "-d", *args)).strip()
    pid = int(ok(engine.docker("inspect", "-f", "{{.State.Pid}}", cid)).strip())
    return cid, pid


def layer_members(saved: bytes) -> dict[str, tarfile.TarInfo]:
    """Every member of every layer of a ``docker save`` archive, by name (the last layer wins)."""
    members: dict[str, tarfile.TarInfo] = {}
    with tarfile.open(fileobj=io.BytesIO(saved)) as outer:
        manifest = json.load(outer.extractfile("manifest.json"))  # type: ignore[arg-type]
        for layer in manifest[0]["Layers"]:
            with tarfile.open(fileobj=outer.extractfile(layer)) as inner:
                members.update({m.name: m for m in inner.getmembers()})
    return members


def mapped_start(engine: Engine) -> int:
    return int(ok(engine.docker("run", "--rm", "busybox", "cat", "/proc/self/uid_map")).split()[1])
