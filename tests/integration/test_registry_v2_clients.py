"""skopeo and podman (Debian's) against a real ``wharf-registry`` in standalone mode, over v2.

Images are OCI layouts made here (``ocilayout.py``); podman keeps its images under a temporary
root (vfs storage, no events journal), removed after each test with everything else. Loopback
is plain http: ``--tls-verify=false``. With a users file the registry answers as the Go
registry's htpasswd mode: ``401`` with ``WWW-Authenticate: Basic realm=...``.
"""

from __future__ import annotations

import gzip
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from ocilayout import Layout, layer_tar, random_layer, read_dir_image, write_layout
from wharf_registry.access import add_user
from wharf_registry.testing import RegistryProcess

SKOPEO, PODMAN = shutil.which("skopeo"), shutil.which("podman")
needs_skopeo = pytest.mark.skipif(SKOPEO is None, reason="skopeo is not installed (Debian package skopeo)")
needs_podman = pytest.mark.skipif(PODMAN is None, reason="podman is not installed (Debian package podman)")
USER, PASSWORD = "alice", "correct horse"


def run(*argv: str, timeout: float = 120, check: bool = True) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(argv, capture_output=True, text=True, timeout=timeout)
    if check and done.returncode != 0:
        raise AssertionError(f"{argv[:3]} failed ({done.returncode}): {done.stderr[-2000:]}")
    return done


def skopeo(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    assert SKOPEO is not None
    return run(SKOPEO, *args, check=check)


@pytest.fixture(scope="module")
def registry() -> Iterator[RegistryProcess]:
    reg = RegistryProcess()
    try:
        reg.start()
        yield reg
    finally:
        reg.cleanup()


@pytest.fixture(scope="module")
def auth_registry() -> Iterator[RegistryProcess]:
    reg = RegistryProcess()
    try:
        users = reg.root / "users"
        add_user(users, USER, PASSWORD)
        reg.start(env={"WHARF_REGISTRY_AUTH__USERS_FILE": str(users)})
        yield reg
    finally:
        reg.cleanup()


@pytest.fixture
def tmp() -> Iterator[Path]:
    path = Path(tempfile.mkdtemp(prefix="wharf-v2-"))
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


@pytest.fixture
def image(tmp: Path) -> Layout:
    small = gzip.compress(layer_tar({"etc/hello": b"hello from wharf\n"}), mtime=0)
    return write_layout(tmp / "layout", [small, random_layer(300_000)])


class Podman:
    """``podman`` with its own storage under a temporary root."""

    def __init__(self, root: Path) -> None:
        assert PODMAN is not None
        self.base = [
            PODMAN,
            "--root",
            str(root / "storage"),
            "--runroot",
            str(root / "run"),
            "--storage-driver",
            "vfs",
            "--events-backend",
            "none",
            "--cgroup-manager",
            "cgroupfs",
        ]
        self.authfile = root / "auth.json"

    def __call__(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        return run(*self.base, *args, check=check)


@pytest.fixture
def podman(tmp: Path) -> Iterator[Podman]:
    client = Podman(tmp / "podman")
    try:
        yield client
    finally:
        client("rmi", "--all", "--force", check=False)
        shutil.rmtree(tmp / "podman", ignore_errors=True)


def host(reg: RegistryProcess) -> str:
    return f"127.0.0.1:{reg.port}"


@needs_skopeo
def test_skopeo_push_then_pull_gives_the_same_bytes(
    registry: RegistryProcess, image: Layout, tmp: Path
) -> None:
    dest = f"docker://{host(registry)}/alice/web:1.0"
    skopeo("copy", "--dest-tls-verify=false", image.ref(), dest)
    skopeo("copy", "--src-tls-verify=false", dest, f"dir:{tmp / 'out'}")
    _manifest, config, layers = read_dir_image(tmp / "out")
    assert config == image.config
    assert layers == image.layers
    inspected = skopeo("inspect", "--tls-verify=false", dest).stdout
    assert '"amd64"' in inspected
    tags = skopeo("list-tags", "--tls-verify=false", f"docker://{host(registry)}/alice/web").stdout
    assert '"1.0"' in tags
    # by digest, and copied registry to registry (cross-repository mount of every blob)
    digest = httpx.head(
        f"{registry.url}/v2/alice/web/manifests/1.0",
        headers={"Accept": "application/vnd.oci.image.manifest.v1+json"},
    ).headers["docker-content-digest"]
    source, copy = f"docker://{host(registry)}/alice/web@{digest}", f"docker://{host(registry)}/bob/copy:x"
    skopeo("copy", "--src-tls-verify=false", "--dest-tls-verify=false", source, copy)
    assert '"1.0"' not in skopeo("list-tags", "--tls-verify=false", copy.removesuffix(":x")).stdout
    skopeo("delete", "--tls-verify=false", f"docker://{host(registry)}/bob/copy:x")
    gone = skopeo("inspect", "--tls-verify=false", f"docker://{host(registry)}/bob/copy:x", check=False)
    assert gone.returncode != 0


@needs_podman
def test_podman_pull_then_push_to_another_repository(
    registry: RegistryProcess, image: Layout, podman: Podman, tmp: Path
) -> None:
    skopeo("copy", "--dest-tls-verify=false", image.ref(), f"docker://{host(registry)}/alice/pod:1")
    podman("pull", "--tls-verify=false", f"{host(registry)}/alice/pod:1")
    podman("tag", f"{host(registry)}/alice/pod:1", f"{host(registry)}/carol/pushed:2")
    podman("push", "--tls-verify=false", f"{host(registry)}/carol/pushed:2")
    skopeo(
        "copy", "--src-tls-verify=false", f"docker://{host(registry)}/carol/pushed:2", f"dir:{tmp / 'out'}"
    )
    _manifest, config, layers = read_dir_image(tmp / "out")
    assert [gzip.decompress(x) for x in layers] == [gzip.decompress(x) for x in image.layers]
    assert '"Cmd":["sh"]' in config.decode().replace(" ", "")
    catalog = httpx.get(f"{registry.url}/v2/_catalog").json()["repositories"]
    assert {"alice/pod", "carol/pushed"} <= set(catalog)


@needs_skopeo
def test_skopeo_with_basic_auth(auth_registry: RegistryProcess, image: Layout, tmp: Path) -> None:
    r = httpx.get(f"{auth_registry.url}/v2/")
    assert r.status_code == 401
    assert r.headers["www-authenticate"] == 'Basic realm="wharf-registry"'
    assert r.json()["errors"][0]["code"] == "UNAUTHORIZED"
    dest = f"docker://{host(auth_registry)}/alice/secret:1"
    refused = skopeo("copy", "--dest-tls-verify=false", image.ref(), dest, check=False)
    assert refused.returncode != 0
    wrong = skopeo(
        "copy", "--dest-tls-verify=false", "--dest-creds", f"{USER}:nope", image.ref(), dest, check=False
    )
    assert wrong.returncode != 0
    skopeo("copy", "--dest-tls-verify=false", "--dest-creds", f"{USER}:{PASSWORD}", image.ref(), dest)
    skopeo("copy", "--src-tls-verify=false", "--src-creds", f"{USER}:{PASSWORD}", dest, f"dir:{tmp / 'out'}")
    assert read_dir_image(tmp / "out")[2] == image.layers
    assert not [p for p in auth_registry.files("uploads")]


@needs_podman
def test_podman_login_and_push_with_basic_auth(
    auth_registry: RegistryProcess, image: Layout, podman: Podman
) -> None:
    skopeo(
        "copy",
        "--dest-tls-verify=false",
        "--dest-creds",
        f"{USER}:{PASSWORD}",
        image.ref(),
        f"docker://{host(auth_registry)}/alice/login:1",
    )
    authfile = str(podman.authfile)
    bad = podman(
        "login",
        "--tls-verify=false",
        "--authfile",
        authfile,
        "-u",
        USER,
        "-p",
        "wrong",
        host(auth_registry),
        check=False,
    )
    assert bad.returncode != 0
    podman(
        "login", "--tls-verify=false", "--authfile", authfile, "-u", USER, "-p", PASSWORD, host(auth_registry)
    )
    podman("pull", "--tls-verify=false", "--authfile", authfile, f"{host(auth_registry)}/alice/login:1")
    podman("tag", f"{host(auth_registry)}/alice/login:1", f"{host(auth_registry)}/alice/again:1")
    podman("push", "--tls-verify=false", "--authfile", authfile, f"{host(auth_registry)}/alice/again:1")
    anonymous = podman(
        "pull",
        "--tls-verify=false",
        "--authfile",
        str(podman.authfile) + ".none",
        f"{host(auth_registry)}/alice/again:1",
        check=False,
    )
    assert anonymous.returncode != 0


def test_oras_pushes_an_artifact_and_a_referrer(
    registry: RegistryProcess, tmp: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The ``oras`` Python SDK: an artifact, then a signature-like artifact whose subject it is."""
    oras_provider = pytest.importorskip("oras.provider")
    oras_oci = pytest.importorskip("oras.oci")
    monkeypatch.chdir(tmp)  # oras wants files under the working directory
    Path("notes.txt").write_text("release notes\n")
    Path("sig.txt").write_text("signed\n")
    client = oras_provider.Registry(hostname=host(registry), insecure=True)
    target = f"{host(registry)}/alice/notes"
    assert client.push(target=f"{target}:v1", files=["notes.txt"]).status_code == 201
    r = httpx.get(
        f"{registry.url}/v2/alice/notes/manifests/v1",
        headers={"Accept": "application/vnd.oci.image.manifest.v1+json"},
    )
    subject = oras_oci.Subject(
        mediaType=r.headers["content-type"], digest=r.headers["docker-content-digest"], size=len(r.content)
    )
    pushed = client.push(target=f"{target}:sig", files=["sig.txt"], subject=subject)
    assert pushed.status_code == 201
    referrers = httpx.get(f"{registry.url}/v2/alice/notes/referrers/{subject.digest}").json()
    assert [m["digest"] for m in referrers["manifests"]] == [pushed.headers["docker-content-digest"]]
    out = tmp / "pulled"
    files = client.pull(target=f"{target}:v1", outdir=str(out))
    assert [Path(f).read_text() for f in files] == ["release notes\n"]
