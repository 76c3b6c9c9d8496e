"""The hub's bearer tokens are Docker's: Debian's Go registry (``docker-registry`` 2.8, token
auth with the hub's certificate as its root bundle) lets skopeo push and pull with a hub
account, and refuses tampered, foreign, expired-service and under-scoped tokens."""

from __future__ import annotations

import base64
import json
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from ocilayout import random_layer, sha256, write_layout
from wharf_common.bearer import BearerSigner, parse_scope
from wharf_hub.testing import HubProcess
from wharf_registry.testing import free_port

SERVICE = "go-registry.test"
PASSWORD = "correct-horse-battery"
GO_CONFIG = """\
version: 0.1
log: {{level: info}}
storage: {{filesystem: {{rootdirectory: {root}}}}}
http: {{addr: "127.0.0.1:{port}"}}
auth:
  token:
    realm: {realm}
    service: {service}
    issuer: wharf-hub
    rootcertbundle: {bundle}
"""

pytestmark = pytest.mark.timeout(180)


@dataclass
class Setup:
    hub: HubProcess
    registry: str  # 127.0.0.1:port
    root: Path


@pytest.fixture(scope="module")
def setup() -> Iterator[Setup]:
    go = shutil.which("docker-registry")
    if go is None or shutil.which("skopeo") is None:
        pytest.skip("needs Debian's docker-registry and skopeo")
    root = Path(tempfile.mkdtemp(prefix="wharf-go-tokens-"))
    cheap = {"WHARF_HUB_PASSWORDS__TIME_COST": "1", "WHARF_HUB_PASSWORDS__MEMORY_COST": "8192"}
    hub = HubProcess(root / "hub", env=cheap)
    proc: subprocess.Popen[bytes] | None = None
    try:
        hub.start()
        hub.create_user("alice", PASSWORD)
        hub.create_user("bobby", PASSWORD)
        made = httpx.post(
            f"{hub.url}/api/v1/repositories",
            json={"namespace": "alice", "name": "web"},
            auth=("alice", PASSWORD),
        )
        assert made.status_code == 201, made.text
        port = free_port()
        config = root / "go.yml"
        config.write_text(
            GO_CONFIG.format(
                root=root / "go",
                port=port,
                realm=f"{hub.url}/v2/token",
                service=SERVICE,
                bundle=hub.root / "bearer-signing.crt",
            )
        )
        with (root / "go.log").open("wb") as log:
            proc = subprocess.Popen(
                [go, "serve", str(config)], stdin=subprocess.DEVNULL, stdout=log, stderr=log
            )
        deadline = time.monotonic() + 20
        while True:
            try:
                httpx.get(f"http://127.0.0.1:{port}/v2/", timeout=1)
                break
            except httpx.TransportError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise AssertionError((root / "go.log").read_text()) from None
                time.sleep(0.1)
        yield Setup(hub, f"127.0.0.1:{port}", root)
    finally:
        if proc is not None:
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        hub.stop()
        shutil.rmtree(root, ignore_errors=True)


def skopeo(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["skopeo", *args], capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL
    )


def token(setup: Setup, scope: str, user: str | None = "alice", service: str = SERVICE) -> str:
    auth = (user, PASSWORD) if user else None
    response = httpx.get(f"{setup.hub.url}/v2/token", params={"service": service, "scope": scope}, auth=auth)
    assert response.status_code == 200, response.text
    return str(response.json()["token"])


def manifest(setup: Setup, name: str, bearer: str) -> httpx.Response:
    return httpx.get(
        f"http://{setup.registry}/v2/{name}/manifests/latest",
        headers={"Authorization": f"Bearer {bearer}", "Accept": "application/vnd.oci.image.manifest.v1+json"},
    )


@pytest.fixture(scope="module")
def pushed(setup: Setup) -> dict[str, str]:
    layout = write_layout(setup.root / "image", [random_layer(4096)])
    done = skopeo(
        "copy",
        "--dest-tls-verify=false",
        "--dest-creds",
        f"alice:{PASSWORD}",
        layout.ref(),
        f"docker://{setup.registry}/alice/web:latest",
    )
    assert done.returncode == 0, done.stderr
    return {"layer": sha256(layout.layers[0]), "manifest": layout.manifest_digest}


def test_skopeo_pushes_and_pulls_with_a_hub_account(setup: Setup, pushed: dict[str, str]) -> None:
    back = setup.root / "back"
    done = skopeo(
        "copy",
        "--src-tls-verify=false",
        "--src-creds",
        f"bobby:{PASSWORD}",
        f"docker://{setup.registry}/alice/web:latest",
        f"oci:{back}:latest",
    )
    assert done.returncode == 0, done.stderr  # a public repository: anyone signed in pulls
    assert (back / "blobs" / "sha256" / pushed["layer"].partition(":")[2]).exists()


def test_strangers_cannot_push_to_someone_elses_namespace(setup: Setup, pushed: dict[str, str]) -> None:
    layout = write_layout(setup.root / "bobs", [random_layer(1024)])
    done = skopeo(
        "copy",
        "--dest-tls-verify=false",
        "--dest-creds",
        f"bobby:{PASSWORD}",
        layout.ref(),
        f"docker://{setup.registry}/alice/web:latest",
    )
    assert done.returncode != 0
    assert "unauthorized" in done.stderr.lower() or "denied" in done.stderr.lower(), done.stderr


def test_the_go_registry_accepts_genuine_tokens_only(setup: Setup, pushed: dict[str, str]) -> None:
    good = token(setup, "repository:alice/web:pull")
    assert manifest(setup, "alice/web", good).status_code == 200
    head, claims, signature = good.split(".")
    raw = json.loads(base64.urlsafe_b64decode(claims + "=" * (-len(claims) % 4)))
    raw["access"][0]["name"] = "alice/other"
    forged = base64.urlsafe_b64encode(json.dumps(raw).encode()).rstrip(b"=").decode()
    refused = manifest(setup, "alice/web", f"{head}.{forged}.{signature}")
    assert refused.status_code == 401 and "invalid_token" in refused.headers["www-authenticate"]
    stranger = BearerSigner(ec.generate_private_key(ec.SECP256R1()), "wharf-hub")
    foreign = stranger.issue("alice", SERVICE, [parse_scope("repository:alice/web:pull")], 300).token
    assert manifest(setup, "alice/web", foreign).status_code == 401
    elsewhere = token(setup, "repository:alice/web:pull", service="another-registry")
    assert manifest(setup, "alice/web", elsewhere).status_code == 401
    other_repo = token(setup, "repository:alice/other:pull")
    assert manifest(setup, "alice/web", other_repo).status_code == 401  # a token for A used on B


def test_a_pull_token_does_not_push(setup: Setup, pushed: dict[str, str]) -> None:
    pull = token(setup, "repository:alice/web:pull")
    upload = httpx.post(
        f"http://{setup.registry}/v2/alice/web/blobs/uploads/", headers={"Authorization": f"Bearer {pull}"}
    )
    assert upload.status_code == 401 and "insufficient_scope" in upload.headers["www-authenticate"]
    push = token(setup, "repository:alice/web:pull,push")
    started = httpx.post(
        f"http://{setup.registry}/v2/alice/web/blobs/uploads/", headers={"Authorization": f"Bearer {push}"}
    )
    assert started.status_code == 202, started.text
