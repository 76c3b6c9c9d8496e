"""The official images made from Debian packages: built once into the cache, reproducible, runnable.

The first run on a machine builds ``debian``, ``python`` and ``redis`` with mmdebstrap (a few minutes);
later runs find them in the cache (``$WHARF_IMAGE_CACHE``, default ``/var/cache/wharf/images``).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import subprocess
import sys
import tarfile
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from engines import REPO, Engine, make_engine, needs_docker, wait_for
from hubstack import hub_stack
from seed import seed

IMAGES = ("debian", "python", "redis")
ROOTFS = REPO / "deploy" / "images" / "rootfs.py"
SEED_OFFICIAL = REPO / "deploy" / "images" / "seed_official.py"

pytestmark = [
    pytest.mark.root,
    pytest.mark.skipif(os.geteuid() != 0, reason="mmdebstrap and the engine need root"),
    pytest.mark.timeout(1500),  # the first run on a machine builds the three images
]


def rootfs(*args: str, timeout: float = 1200) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(ROOTFS), *args], capture_output=True, text=True, timeout=timeout, check=False
    )


def seed_official(engine: Engine, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(SEED_OFFICIAL), "--host", engine.host, *args],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        while chunk := fh.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


@pytest.fixture(scope="module")
def built() -> dict[str, Path]:
    """Each image's cached tar, built now if this machine never built it."""
    paths = {}
    for name in IMAGES:
        result = rootfs(name, "--if-missing")
        assert result.returncode == 0, result.stderr
        paths[name] = Path(result.stdout.strip())
    return paths


@pytest.fixture(scope="module")
def seeded(engine: Engine, built: dict[str, Path]) -> Engine:
    """The three images imported into the module's engine by the seeding script, as ``make run`` does."""
    result = seed_official(engine, "--images", ",".join(IMAGES))
    assert result.returncode == 0, result.stderr
    for name in IMAGES:
        assert f"seeded {name}:latest" in result.stderr and str(built[name]) in result.stderr
    return engine


@pytest.mark.parametrize("name", IMAGES)
def test_second_build_is_a_cache_hit(built: dict[str, Path], name: str) -> None:
    before = built[name].stat()
    started = time.monotonic()
    result = rootfs(name, "--if-missing")
    elapsed = time.monotonic() - started
    assert result.returncode == 0, result.stderr
    assert Path(result.stdout.strip()) == built[name]
    assert f"{name} is cached" in result.stderr
    after = built[name].stat()
    assert (after.st_ino, after.st_mtime_ns) == (before.st_ino, before.st_mtime_ns)  # not rewritten
    assert elapsed < 30, f"a cache hit took {elapsed:.1f} s"
    assert re.fullmatch(rf"{name}-[0-9a-f]{{16}}\.tar", built[name].name)
    assert not built[name].is_relative_to(REPO)  # outside the checkout: a fresh clone reuses it


@pytest.mark.parametrize(
    ("name", "error"),
    [
        ("nosuch", "error: no recipe for 'nosuch'"),
        ("../busybox", "error: invalid image name '../busybox'"),
    ],
)
def test_unknown_images_are_refused(name: str, error: str) -> None:
    result = rootfs(name, "--if-missing", timeout=60)
    assert result.returncode == 1 and result.stdout == ""
    assert error in result.stderr


def _members(tar: Path) -> list[tarfile.TarInfo]:
    with tarfile.open(tar, "r:") as archive:
        return archive.getmembers()


@pytest.mark.parametrize("name", IMAGES)
def test_rootfs_holds_nothing_of_the_build_machine(built: dict[str, Path], name: str) -> None:
    config: dict[str, Any] = json.loads(built[name].with_name(built[name].name + ".json").read_text())
    epoch = datetime.fromisoformat(config["created"]).timestamp()
    members = _members(built[name])
    names = [m.name for m in members]
    assert "etc/debian_version" in names and "var/lib/dpkg/status" in names
    assert len(names) == len(set(names))
    assert all(m.uname == "" and m.gname == "" and m.mtime <= epoch for m in members)
    assert not [m.name for m in members if m.ischr() or m.isblk()]  # no device nodes
    forbidden = re.compile(
        r"(etc/(hostname|resolv\.conf|hosts)|var/lib/apt/lists/[^/]*_.*|var/cache/apt/.*\.(deb|bin)"
        r"|var/log/.*\.log|.*/__pycache__.*|usr/share/(man|info|locale)/.+/.*"
        r"|usr/share/doc/(?!.*/copyright$).*)"
    )
    files = [m.name for m in members if m.isreg()]  # dpkg's path-exclude leaves the directories
    assert [n for n in files if forbidden.fullmatch(n)] == []
    with tarfile.open(built[name], "r:") as archive:
        machine_id = archive.extractfile("etc/machine-id") if "etc/machine-id" in names else None
        assert machine_id is None or machine_id.read() == b""
    assert config["packages"] and config["key"] in built[name].name


@pytest.mark.slow
def test_debian_builds_are_reproducible(tmp_path: Path) -> None:
    """Two builds, the cache bypassed: byte-identical tars (the same layer digest once imported)."""
    outputs = [tmp_path / "first.tar", tmp_path / "second.tar"]
    for output in outputs:
        result = rootfs("debian", "--output", str(output), "--quiet")
        assert result.returncode == 0, result.stderr
        assert result.stdout.strip() == str(output)
    assert _sha256(outputs[0]) == _sha256(outputs[1])
    configs = [json.loads(p.with_name(p.name + ".json").read_text()) for p in outputs]
    assert configs[0] == configs[1]


def test_seeding_replaces_an_outdated_image_and_keeps_a_current_one(
    fresh_engine: Engine, built: dict[str, Path], busybox_tar: Path
) -> None:
    seed(str(fresh_engine.socket), busybox_tar, "debian:latest")  # as if built from older packages
    outdated = fresh_engine.json("GET", "/images/debian/json")["Id"]
    result = seed_official(fresh_engine, "--images", "debian")
    assert result.returncode == 0, result.stderr
    current = fresh_engine.json("GET", "/images/debian/json")
    assert current["Id"] != outdated and current["RootFS"]["Layers"] == [f"sha256:{_sha256(built['debian'])}"]
    assert fresh_engine.request("GET", "/images/debian:seeding/json")[0] == 404
    assert fresh_engine.request("GET", f"/images/{outdated}/json")[0] == 200  # untagged, not deleted
    again = seed_official(fresh_engine, "--images", "debian")
    assert again.returncode == 0, again.stderr
    assert fresh_engine.json("GET", "/images/debian/json")["Id"] == current["Id"]


@pytest.mark.parametrize("name", IMAGES)
def test_imported_layer_digest_is_the_tars(seeded: Engine, built: dict[str, Path], name: str) -> None:
    """The layer is the tar as built: a reproducible tar is a reproducible layer digest."""
    image = seeded.json("GET", f"/images/{name}/json")
    assert image["RootFS"]["Layers"] == [f"sha256:{_sha256(built[name])}"]


@needs_docker
def test_debian_runs(seeded: Engine) -> None:
    result = seeded.docker("run", "--rm", "debian", "cat", "/etc/debian_version", timeout=120)
    assert result.returncode == 0, result.stderr
    assert re.fullmatch(rb"\d+\.\d+\n", result.stdout)


@needs_docker
def test_python_imports_flask(seeded: Engine, built: dict[str, Path]) -> None:
    config = json.loads(built["python"].with_name(built["python"].name + ".json").read_text())
    result = seeded.docker(
        "run", "--rm", "python", "python3", "-c", "import flask; print(flask.__version__)", timeout=120
    )
    assert result.returncode == 0, result.stderr
    assert config["packages"]["python3-flask"].startswith(result.stdout.decode().strip() + "-")
    # pip installs into the image's python, as with the official image (no PEP 668 refusal)
    setup_py = 'from setuptools import setup; setup(name="hello", version="1", packages=["hello"])'
    script = (
        f"mkdir -p /tmp/p/hello && echo 'GREETING = 42' > /tmp/p/hello/__init__.py && echo '{setup_py}'"
        " > /tmp/p/setup.py && cd / && pip install -q --no-index --no-build-isolation /tmp/p"
        " && rm -r /tmp/p && python3 -c 'import hello; print(hello.GREETING)'"
    )
    pip = seeded.docker("run", "--rm", "python", "sh", "-c", script, timeout=180)
    assert pip.returncode == 0 and pip.stdout.endswith(b"42\n"), pip.stderr


@pytest.fixture
def redis_server(seeded: Engine) -> Iterator[str]:
    result = seeded.docker("run", "-d", "--name", "officialredis", "redis", timeout=120)
    assert result.returncode == 0, result.stderr
    yield "officialredis"
    seeded.docker("rm", "-f", "officialredis")


@needs_docker
def test_redis_answers_ping(seeded: Engine, redis_server: str) -> None:
    config = seeded.json("GET", "/images/redis/json")["Config"]
    assert config["Cmd"] == ["redis-server", "--protected-mode", "no"]
    assert "6379/tcp" in config["ExposedPorts"]

    def ping() -> bool:
        return seeded.docker("exec", redis_server, "redis-cli", "ping").stdout == b"PONG\n"

    wait_for(ping, timeout=30, interval=0.2)
    linked = seeded.docker(
        "run", "--rm", "--link", f"{redis_server}:db", "redis", "redis-cli", "-h", "db", "ping", timeout=120
    )
    assert linked.returncode == 0 and linked.stdout == b"PONG\n", linked.stderr


@pytest.mark.slow
@needs_docker
def test_seeded_debian_is_the_hubs_official_image(built: dict[str, Path], tmp_path: Path) -> None:
    """``--push-to-hub`` makes it ``library/debian``: another engine pulls it by its bare name and runs it."""
    credentials = tmp_path / "initial-admin.json"
    credentials.write_text(json.dumps({"username": "chief", "password": "official-images-pw"}))
    with hub_stack("whoff") as stack:
        stack.hub.create_user("chief", "official-images-pw", admin=True)
        with running_engine() as seeder:
            result = subprocess.run(
                [
                    sys.executable,
                    str(SEED_OFFICIAL),
                    "--host",
                    seeder.host,
                    "--images",
                    "debian",
                    "--push-to-hub",
                    stack.hub.url,
                    "--hub-credentials",
                    str(credentials),
                ],
                capture_output=True,
                text=True,
                timeout=600,
                check=False,
            )
            assert result.returncode == 0, result.stderr
            assert f"pushed debian:latest to {stack.hub.url} (official image)" in result.stderr
        with urllib.request.urlopen(f"{stack.hub.url}/v1/search?q=debian", timeout=10) as response:
            results = json.loads(response.read())["results"]
        assert {"name": "debian", "is_official": True}.items() <= results[0].items()
        with running_engine() as puller:
            ran = puller.docker("run", "--rm", "debian", "cat", "/etc/debian_version", timeout=300)
            assert ran.returncode == 0, ran.stderr
            assert re.fullmatch(rb"\d+\.\d+\n", ran.stdout)


@contextmanager
def running_engine() -> Iterator[Engine]:
    """An empty engine of the test's own (its default index is whatever the test set)."""
    eng = make_engine()
    try:
        eng.start()
        yield eng
    finally:
        eng.cleanup()
