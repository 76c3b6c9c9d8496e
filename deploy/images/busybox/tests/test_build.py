"""Tests for deploy/images/busybox/build.py: determinism, rootfs layout, and a real run under runc."""

from __future__ import annotations

import hashlib
import importlib.util
import json
import shutil
import subprocess
import sys
import tarfile
import uuid
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

BUILD_SCRIPT = Path(__file__).resolve().parents[1] / "build.py"
RUNC = shutil.which("runc")


def _load_build() -> ModuleType:
    spec = importlib.util.spec_from_file_location("busybox_build", BUILD_SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up by name
    spec.loader.exec_module(module)
    return module


build = _load_build()


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture(scope="module")
def image(tmp_path_factory: pytest.TempPathFactory) -> Path:
    output = tmp_path_factory.mktemp("image") / "busybox.tar"
    assert build.main(["--quiet", "--output", str(output)]) == 0
    return output


def test_build_twice_is_byte_identical(image: Path, tmp_path: Path) -> None:
    again = tmp_path / "busybox.tar"
    assert build.main(["--quiet", "--output", str(again)]) == 0
    assert _sha256(again) == _sha256(image)
    assert (tmp_path / "busybox.tar.json").read_bytes() == (image.parent / "busybox.tar.json").read_bytes()


def test_build_if_missing_keeps_existing_output(tmp_path: Path) -> None:
    output = tmp_path / "busybox.tar"
    output.write_bytes(b"sentinel")
    (tmp_path / "busybox.tar.json").write_text("{}")
    assert build.main(["--quiet", "--if-missing", "--output", str(output)]) == 0
    assert output.read_bytes() == b"sentinel"


def test_build_tar_has_busybox_layout(image: Path) -> None:
    with tarfile.open(image) as tar:
        members = {m.name: m for m in tar.getmembers()}
        names = [m.name for m in tar.getmembers()]
        passwd_file = tar.extractfile("etc/passwd")
        assert passwd_file is not None
        passwd = passwd_file.read().decode()

    assert names == sorted(names)
    assert members["bin/sh"].issym() and members["bin/sh"].linkname == "busybox"
    assert members["usr/bin/awk"].linkname == "../../bin/busybox"
    busybox = members["bin/busybox"]
    assert busybox.isfile() and busybox.mode & 0o111 and busybox.size > 0
    assert passwd.startswith("root:x:0:0:root:/root:/bin/sh\n")
    assert "nobody:x:65534:65534:nobody:/home:/bin/false" in passwd
    assert members["tmp"].isdir() and members["tmp"].mode == 0o1777
    assert members["root"].mode == 0o700
    for directory in ("proc", "sys", "dev", "home", "var/spool/mail", "var/www", "usr/sbin"):
        assert members[directory].isdir(), directory
    assert "etc/hosts" not in members and "linuxrc" not in members
    assert {(m.uid, m.gid, m.uname, m.gname) for m in members.values()} == {(0, 0, "", "")}
    assert len({m.mtime for m in members.values()}) == 1


def test_build_config_describes_image(image: Path) -> None:
    config = json.loads((image.parent / "busybox.tar.json").read_text())
    assert config["Cmd"] == ["sh"]
    assert config["Env"] == ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"]
    assert config["created"].endswith("Z")
    assert config["version"]


def test_build_mtime_follows_source_date_epoch(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "86400")
    output = tmp_path / "busybox.tar"
    assert build.main(["--quiet", "--output", str(output)]) == 0
    with tarfile.open(output) as tar:
        assert {m.mtime for m in tar.getmembers()} == {86400}
    assert json.loads((tmp_path / "busybox.tar.json").read_text())["created"] == "1970-01-02T00:00:00Z"


@pytest.fixture
def bundle(image: Path, tmp_path: Path) -> Path:
    rootfs = tmp_path / "bundle" / "rootfs"
    rootfs.mkdir(parents=True)
    subprocess.run(["tar", "-xf", str(image), "-C", str(rootfs)], check=True)
    return rootfs.parent


@pytest.fixture
def runc_root(tmp_path: Path) -> Iterator[tuple[Path, list[str]]]:
    """A private runc state dir; yields it and a list the test appends container ids to."""
    root = tmp_path / "runc-state"
    created: list[str] = []
    yield root, created
    for cid in created:
        subprocess.run(
            [str(RUNC), "--root", str(root), "delete", "-f", cid], capture_output=True, check=False
        )


@pytest.mark.root
@pytest.mark.skipif(RUNC is None, reason="runc is not installed")
def test_build_image_runs_under_runc(bundle: Path, runc_root: tuple[Path, list[str]]) -> None:
    root, created = runc_root
    assert RUNC is not None
    subprocess.run([RUNC, "spec"], cwd=bundle, check=True)
    config_file = bundle / "config.json"
    spec: dict[str, Any] = json.loads(config_file.read_text())
    spec["process"]["args"] = ["sh", "-c", "echo hello world"]
    spec["process"]["terminal"] = False
    spec["process"]["rlimits"] = [{"type": "RLIMIT_NOFILE", "hard": 1024, "soft": 1024}]
    config_file.write_text(json.dumps(spec))

    cid = f"busybox-test-{uuid.uuid4().hex[:12]}"
    created.append(cid)
    proc = subprocess.run(
        [RUNC, "--root", str(root), "run", "--bundle", str(bundle), cid],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == "hello world\n"
