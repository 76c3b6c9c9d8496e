"""buildah (Debian's 1.28) builds an image from scratch and pushes it to a wharf registry over
v2: standalone (read back by skopeo, OCI format), and in index mode behind the hub with a hub
account (``--creds``, Docker schema 2), pulled back by the wharf engine. Each buildah run has a
storage root and runroot of its own (vfs), removed afterwards."""

from __future__ import annotations

import json
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from engines import Engine, wait_for
from hubstack import Stack, hub_stack
from wharf_registry.testing import RegistryProcess

BUILDAH, SKOPEO = shutil.which("buildah"), shutil.which("skopeo")
USERS = {"alice": "pa55word"}
CONTENT = b"built by buildah\n"

pytestmark = [
    pytest.mark.timeout(240),
    pytest.mark.skipif(BUILDAH is None, reason="buildah is not installed (Debian package buildah)"),
    pytest.mark.skipif(SKOPEO is None, reason="skopeo is not installed (Debian package skopeo)"),
]


def run(*argv: str) -> str:
    done = subprocess.run(argv, capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL)
    assert done.returncode == 0, f"{argv[:3]} failed ({done.returncode}): {done.stderr[-2000:]}"
    return done.stdout


class Buildah:
    """buildah with a store of its own under ``root`` (vfs: no overlay mounts left behind)."""

    def __init__(self, root: Path) -> None:
        assert BUILDAH is not None
        self.base = [
            BUILDAH,
            "--root",
            str(root / "storage"),
            "--runroot",
            str(root / "run"),
            "--storage-driver",
            "vfs",
        ]
        self.root = root

    def __call__(self, *args: str) -> str:
        return run(*self.base, *args)

    def build(self, name: str) -> None:
        """An image from scratch: one file, a command, committed as ``name``."""
        (self.root / "hello.txt").write_bytes(CONTENT)
        container = self("from", "scratch").strip()
        self("copy", container, str(self.root / "hello.txt"), "/hello.txt")
        self("config", "--cmd", "/hello", "--label", "built-by=buildah", container)
        self("commit", "-q", container, name)
        self("rm", container)

    def cleanup(self) -> None:
        subprocess.run([*self.base, "rm", "--all"], capture_output=True, timeout=60)
        subprocess.run([*self.base, "rmi", "--all", "--force"], capture_output=True, timeout=60)


@pytest.fixture
def buildah() -> Iterator[Buildah]:
    root = Path(tempfile.mkdtemp(prefix="wharf-buildah-"))
    tool = Buildah(root)
    try:
        yield tool
    finally:
        tool.cleanup()
        shutil.rmtree(root, ignore_errors=True)


def test_buildah_pushes_to_a_standalone_registry_and_skopeo_reads_it_back(
    buildah: Buildah, tmp_path: Path
) -> None:
    registry = RegistryProcess()
    try:
        registry.start()
        target = f"127.0.0.1:{registry.port}/alice/built:1"
        buildah.build("localhost/built:1")
        buildah("push", "--tls-verify=false", "localhost/built:1", f"docker://{target}")
        assert httpx.get(f"{registry.url}/v2/alice/built/tags/list").json()["tags"] == ["1"]
        assert SKOPEO is not None
        run(SKOPEO, "copy", "--src-tls-verify=false", f"docker://{target}", f"dir:{tmp_path / 'back'}")
        manifest = json.loads((tmp_path / "back" / "manifest.json").read_bytes())
        assert manifest["mediaType"] == "application/vnd.oci.image.manifest.v1+json"
        config = json.loads((tmp_path / "back" / manifest["config"]["digest"][7:]).read_bytes())
        assert config["config"]["Cmd"] == ["/hello"] and config["config"]["Labels"]["built-by"] == "buildah"
    finally:
        registry.cleanup()


@pytest.mark.root
@pytest.mark.slow
def test_buildah_pushes_with_hub_credentials_in_index_mode_and_the_engine_pulls(
    buildah: Buildah, engine_b: Engine
) -> None:
    with hub_stack("wharf-buildah-index-", USERS, bearer=True) as stack:
        _push_in_index_mode(buildah, stack, engine_b)


def _push_in_index_mode(buildah: Buildah, stack: Stack, engine: Engine) -> None:
    name = f"127.0.0.1:{stack.registry.port}/alice/built"
    buildah.build("localhost/built:1")
    creds = f"alice:{USERS['alice']}"
    refused = subprocess.run(
        [
            *buildah.base,
            "push",
            "--tls-verify=false",
            "--creds",
            "alice:wrong",
            "localhost/built:1",
            f"docker://{name}:1",
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert refused.returncode != 0
    buildah(
        "push",
        "--tls-verify=false",
        "--creds",
        creds,
        "-f",
        "v2s2",
        "localhost/built:1",
        f"docker://{name}:1",
    )
    tags = wait_for(lambda: _hub_tags(stack), timeout=20)
    assert tags == ["1"]
    try:
        pulled = engine.docker("pull", f"{name}:1", timeout=120)
        assert pulled.returncode == 0, pulled.stderr
        [image] = json.loads(engine.docker("image", "inspect", f"{name}:1").stdout)
        assert image["Config"]["Cmd"] == ["/hello"] and image["Config"]["Labels"]["built-by"] == "buildah"
        assert any(d.startswith(f"{name}@sha256:") for d in image["RepoDigests"])
        made = engine.docker("create", "--name", "buildah-made", f"{name}:1")
        assert made.returncode == 0, made.stderr
        copied = engine.docker("cp", "buildah-made:/hello.txt", "-")
        assert copied.returncode == 0 and CONTENT in copied.stdout, copied.stderr
    finally:
        engine.docker("rm", "-f", "buildah-made")


def _hub_tags(stack: Stack) -> list[str]:
    answer = httpx.get(
        f"{stack.hub.url}/api/v1/repositories/alice/built/tags", auth=("alice", USERS["alice"])
    )
    return sorted(t["name"] for t in answer.json()["results"]) if answer.status_code == 200 else []
