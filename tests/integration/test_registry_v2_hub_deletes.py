"""v2 deletes in index mode reach the hub: a manifest deleted by digest (``skopeo delete``) or a
tag deleted with a delete-scoped token (curl-style) leaves the hub's tag list, as pushes enter
it; a token without ``delete`` changes nothing on either side."""

from __future__ import annotations

import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from hubstack import Stack, hub_stack
from ocilayout import random_layer, write_layout

SKOPEO = shutil.which("skopeo")
USERS = {"alice": "pa55word", "bobby": "b0bpass1"}
ALICE = ("alice", USERS["alice"])

pytestmark = [
    pytest.mark.timeout(180),
    pytest.mark.skipif(SKOPEO is None, reason="skopeo is not installed (Debian package skopeo)"),
]


@pytest.fixture
def stack() -> Iterator[Stack]:
    with hub_stack("wharf-v2-deletes-", USERS, bearer=True) as built:
        yield built


@pytest.fixture
def tmp() -> Iterator[Path]:
    path = Path(tempfile.mkdtemp(prefix="wharf-v2-deletes-"))
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


def skopeo(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    assert SKOPEO is not None
    done = subprocess.run(
        [SKOPEO, *args], capture_output=True, text=True, timeout=90, stdin=subprocess.DEVNULL
    )
    if check and done.returncode != 0:
        raise AssertionError(f"skopeo {args[:1]} failed ({done.returncode}): {done.stderr[-2000:]}")
    return done


def hub_tags(stack: Stack) -> list[str]:
    answer = httpx.get(f"{stack.hub.url}/api/v1/repositories/alice/web/tags", auth=ALICE)
    assert answer.status_code == 200, answer.text
    return sorted(t["name"] for t in answer.json()["results"])


def settle(stack: Stack, expected: list[str], timeout: float = 20.0) -> list[str]:
    """The hub's tags once they are ``expected`` (reports travel in the background), or at the end."""
    deadline = time.monotonic() + timeout
    while (found := hub_tags(stack)) != expected and time.monotonic() < deadline:
        time.sleep(0.2)
    return found


def token(stack: Stack, who: tuple[str, str], actions: str) -> str:
    answer = httpx.get(
        f"{stack.hub.url}/v2/token",
        params={"service": "wharf-registry", "scope": f"repository:alice/web:{actions}"},
        auth=who,
    )
    assert answer.status_code == 200, answer.text
    return str(answer.json()["token"])


def test_v2_deletes_leave_the_hubs_tag_list(stack: Stack, tmp: Path) -> None:
    registry = f"127.0.0.1:{stack.registry.port}"
    for tag, size in (("v1", 6_000), ("v2", 7_000), ("v3", 8_000)):
        image = write_layout(tmp / tag, [random_layer(size)])
        skopeo(
            "copy",
            "--dest-tls-verify=false",
            "--dest-creds",
            ":".join(ALICE),
            image.ref(),
            f"docker://{registry}/alice/web:{tag}",
        )
    assert settle(stack, ["v1", "v2", "v3"]) == ["v1", "v2", "v3"]

    # skopeo delete resolves the tag and deletes the manifest by digest: its tags go
    skopeo("delete", "--tls-verify=false", "--creds", ":".join(ALICE), f"docker://{registry}/alice/web:v1")
    assert settle(stack, ["v2", "v3"]) == ["v2", "v3"]

    # a token without delete (bobby may pull a public repository, not delete) changes nothing
    bobby = token(stack, ("bobby", USERS["bobby"]), "pull,delete")
    refused = httpx.delete(
        f"http://{registry}/v2/alice/web/manifests/v2", headers={"Authorization": f"Bearer {bobby}"}
    )
    assert refused.status_code == 401, refused.text
    assert "insufficient_scope" in refused.headers["www-authenticate"]

    # a tag deleted by name with the owner's delete-scoped token
    owner = token(stack, ALICE, "delete")
    deleted = httpx.delete(
        f"http://{registry}/v2/alice/web/manifests/v2", headers={"Authorization": f"Bearer {owner}"}
    )
    assert deleted.status_code == 202, deleted.text
    assert settle(stack, ["v3"]) == ["v3"]
    listed = httpx.get(
        f"http://{registry}/v2/alice/web/tags/list",
        headers={"Authorization": f"Bearer {token(stack, ALICE, 'pull')}"},
    )
    assert listed.json()["tags"] == ["v3"]  # the registry and the hub agree
