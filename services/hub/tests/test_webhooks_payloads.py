"""The push payload against protocols.md B, and the delivery signature (GitHub's scheme)."""

from __future__ import annotations

import hashlib
import hmac
import json
from datetime import UTC, datetime

import pytest
from wharf_hub.db.models import Repository, User
from wharf_hub.webhooks.payloads import push_payload, repo_url, sample_payload
from wharf_hub.webhooks.signing import (
    callback_key,
    callback_secret,
    new_secret,
    secret_hash,
    sign,
    verify,
)

HUB = "https://hub.example.test"
CREATED = datetime(2014, 12, 2, 4, 33, 19, tzinfo=UTC)
PUSHED = datetime(2014, 12, 3, 0, 22, 41, tzinfo=UTC)

REPOSITORY_TYPES: dict[str, type] = {
    "repo_name": str,
    "name": str,
    "namespace": str,
    "owner": str,
    "is_private": bool,
    "is_official": bool,
    "is_trusted": bool,
    "star_count": int,
    "description": str,
    "full_description": str,
    "comment_count": int,
    "repo_url": str,
    "date_created": float,
    "status": str,
    "dockerfile": str,
}


def repository(namespace: str = "svendowideit", name: str = "testhook", **extra: object) -> Repository:
    values: dict[str, object] = {
        "id": 7,
        "namespace": namespace,
        "name": name,
        "description": "",
        "full_description": "Docker Hub based automated build from a GitHub repo",
        "is_private": True,
        "is_official": namespace == "library",
        "is_automated": False,
        "star_count": 3,
        "created_at": CREATED,
        **extra,
    }
    return Repository(**values)


def test_payload_has_docker_hub_fields_and_types() -> None:
    pusher = User(username="trustedbuilder")
    payload = push_payload(
        HUB,
        repository(),
        pusher,
        "latest",
        ["27d47432a69b", "51a9c7c1f8bb"],
        pushed_at=PUSHED,
        callback=f"{HUB}/u/svendowideit/testhook/hook/abc/",
    )
    data = json.loads(payload.model_dump_json())
    assert set(data) == {"callback_url", "push_data", "repository"}
    assert data["callback_url"] == f"{HUB}/u/svendowideit/testhook/hook/abc/"
    assert data["push_data"] == {
        "pushed_at": PUSHED.timestamp(),
        "pusher": "trustedbuilder",
        "tag": "latest",
        "images": ["27d47432a69b", "51a9c7c1f8bb"],
    }
    assert isinstance(data["push_data"]["pushed_at"], float)
    repo = data["repository"]
    assert set(repo) == set(REPOSITORY_TYPES)
    for key, kind in REPOSITORY_TYPES.items():
        assert type(repo[key]) is kind, key
    assert repo["repo_name"] == "svendowideit/testhook"
    assert (repo["name"], repo["namespace"], repo["owner"]) == ("testhook", "svendowideit", "svendowideit")
    assert repo["repo_url"] == f"{HUB}/u/svendowideit/testhook/"
    assert repo["date_created"] == CREATED.timestamp() == 1417494799.0
    assert (repo["comment_count"], repo["status"], repo["dockerfile"]) == (0, "Active", "")
    assert (repo["is_private"], repo["is_official"], repo["is_trusted"], repo["star_count"]) == (
        True,
        False,
        False,
        3,
    )


def test_payload_of_official_image_links_underscore_page() -> None:
    official = repository("library", "busybox", is_private=False)
    assert repo_url(HUB + "/", official) == f"{HUB}/_/busybox/"
    data = push_payload(HUB, official, None, "1.0", []).model_dump()
    assert data["repository"]["repo_name"] == "busybox"
    assert data["repository"]["is_official"] is True
    assert data["push_data"]["pusher"] == ""


def test_payload_of_automated_build_is_trusted() -> None:
    data = push_payload(HUB, repository(is_automated=True), None, "v1", []).model_dump()
    assert data["repository"]["is_trusted"] is True


def test_sample_payload_is_a_push_of_latest() -> None:
    data = sample_payload(HUB, repository(), User(username="alice")).model_dump()
    assert data["push_data"]["tag"] == "latest"
    assert data["push_data"]["pusher"] == "alice"
    assert data["callback_url"].startswith(f"{HUB}/u/svendowideit/testhook/hook/")


def test_signature_is_github_style_hmac_sha256() -> None:
    body = b'{"push_data": {}}'
    expected = "sha256=" + hmac.new(b"s3cret", body, hashlib.sha256).hexdigest()
    assert sign("s3cret", body) == expected
    assert verify("s3cret", body, expected)


@pytest.mark.parametrize(
    ("secret", "body", "signature"),
    [
        ("other", b"{}", sign("s3cret", b"{}")),  # wrong secret
        ("s3cret", b"{} ", sign("s3cret", b"{}")),  # body changed
        ("s3cret", b"{}", sign("s3cret", b"{}").removeprefix("sha256=")),  # no scheme
        ("s3cret", b"{}", "sha1=" + sign("s3cret", b"{}")[7:]),  # another scheme
        ("s3cret", b"{}", ""),
    ],
)
def test_signature_verify_refuses(secret: str, body: bytes, signature: str) -> None:
    assert not verify(secret, body, signature)


def test_new_secrets_are_random_hex() -> None:
    first, second = new_secret(), new_secret()
    assert first != second
    assert len(first) == 64 and int(first, 16) >= 0


def test_callback_secret_depends_on_key_step_and_nonce() -> None:
    key = callback_key(b"hub-secret")
    one = callback_secret(key, 1, 0, "n")
    assert one == callback_secret(key, 1, 0, "n")
    others = {
        callback_secret(key, 2, 0, "n"),
        callback_secret(key, 1, 1, "n"),
        callback_secret(key, 1, 0, "m"),
        callback_secret(callback_key(b"another"), 1, 0, "n"),
    }
    assert one not in others and len(others) == 4
    assert secret_hash(one) == hashlib.sha256(one.encode()).hexdigest()
