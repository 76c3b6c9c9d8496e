"""Push webhooks from GitHub, GitLab and Gitea/Forgejo: signatures, payloads, what is ignored, and
what the hub queues for them (SQLite and PostgreSQL)."""

from __future__ import annotations

import hashlib
import hmac
import json
import urllib.parse
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from wharf_common.errors import InvalidArgument
from wharf_hub.factories import PASSWORD, Factory, assert_problem
from wharf_hub.services.pushhooks import BadSignature, parse_push, verify

SECRET = "It's a Secret to Everybody"
SHA = "0123456789abcdef0123456789abcdef01234567"


def github(body: bytes, secret: str = SECRET, event: str = "push") -> dict[str, str]:
    digest = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return {
        "X-GitHub-Event": event,
        "X-Hub-Signature-256": f"sha256={digest}",
        "Content-Type": "application/json",
    }


def gitea(body: bytes, secret: str = SECRET, name: str = "Gitea") -> dict[str, str]:
    digest = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return {f"X-{name}-Event": "push", f"X-{name}-Signature": digest, "X-GitHub-Event": "push"}


def gitlab(secret: str = SECRET, event: str = "Push Hook") -> dict[str, str]:
    return {"X-Gitlab-Event": event, "X-Gitlab-Token": secret}


def push(ref: str = "refs/heads/main", after: str = SHA, **extra: Any) -> bytes:
    return json.dumps({"ref": ref, "after": after, "head_commit": {"message": "fix it"}, **extra}).encode()


def test_githubs_documented_test_vector_verifies() -> None:
    headers = {
        "X-GitHub-Event": "push",
        "X-Hub-Signature-256": "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17",
    }
    assert verify(headers, b"Hello, World!", SECRET) == ("github", "push")


@pytest.mark.parametrize(
    "headers",
    [
        {"X-GitHub-Event": "push"},
        {"X-GitHub-Event": "push", "X-Hub-Signature-256": "sha256=" + "0" * 64},
        {"X-Gitea-Event": "push", "X-Gitea-Signature": "bad"},
        {"X-Forgejo-Event": "push", "X-Hub-Signature-256": "ignored-for-forgejo"},
        {"X-Gitlab-Event": "Push Hook", "X-Gitlab-Token": "wrong"},
        {"X-Gitlab-Event": "Push Hook"},
    ],
)
def test_missing_or_wrong_signatures_are_refused(headers: dict[str, str]) -> None:
    with pytest.raises(BadSignature):
        parse_push(headers, push(), SECRET)


def test_each_sender_format_gives_the_ref_commit_and_message() -> None:
    body = push()
    for headers, sender in (
        (github(body), "github"),
        (gitea(body), "gitea"),
        (gitea(body, name="Forgejo"), "forgejo"),
    ):
        event = parse_push(headers, body, SECRET)
        assert event is not None and event.sender == sender
        assert (event.source_type, event.ref, event.commit, event.message) == (
            "branch",
            "main",
            SHA,
            "fix it",
        )
    lab = json.dumps(
        {
            "object_kind": "tag_push",
            "ref": "refs/tags/v1.0",
            "after": SHA,
            "checkout_sha": "f" * 40,
            "commits": [{"id": "f" * 40, "message": "release"}],
        }
    ).encode()
    event = parse_push(gitlab(event="Tag Push Hook"), lab, SECRET)
    assert event is not None and (event.source_type, event.ref, event.commit, event.message) == (
        "tag",
        "v1.0",
        "f" * 40,
        "release",
    )


def test_form_encoded_github_payloads_are_read() -> None:
    body = urllib.parse.urlencode({"payload": push().decode()}).encode()
    headers = {**github(body), "Content-Type": "application/x-www-form-urlencoded"}
    event = parse_push(headers, body, SECRET)
    assert event is not None and event.ref == "main"


@pytest.mark.parametrize(
    ("headers_of", "body"),
    [
        (lambda b: github(b, event="ping"), b'{"zen": "hi"}'),
        (github, push(after="0" * 40, deleted=True)),
        (github, push(ref="refs/pull/1/head")),
        (github, push(head_commit={"message": "docs only [skip build]"})),
    ],
)
def test_pings_deletions_other_refs_and_skip_markers_are_ignored(headers_of: Any, body: bytes) -> None:
    assert parse_push(headers_of(body), body, SECRET) is None


def test_unknown_senders_and_bad_json_are_bad_requests() -> None:
    with pytest.raises(InvalidArgument):
        parse_push({}, push(), SECRET)
    with pytest.raises(InvalidArgument):
        parse_push(github(b"{not json"), b"{not json", SECRET)


@pytest.fixture
def hooked(client: TestClient, factory: Factory) -> tuple[TestClient, str]:
    alice = factory.user("alice")
    factory.repo(alice, "web")
    body = {
        "source_url": "https://git.example.test/alice/web.git",
        "rules": [
            {"source_name": "main"},
            {"source_type": "tag", "source_name": "/^v.*/", "tag_template": "{sourceref}"},
        ],
    }
    auth = httpx.BasicAuth("alice", factory.password)
    info = client.put("/api/v1/repositories/alice/web/autobuild", json=body, auth=auth).json()
    return client, str(info["webhook_secret"])


def builds(client: TestClient, factory: Factory) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = client.get(
        "/api/v1/repositories/alice/web/builds", auth=httpx.BasicAuth("alice", factory.password)
    ).json()
    return found


def test_a_signed_push_queues_the_matching_rule_once_per_commit(
    hooked: tuple[TestClient, str], factory: Factory
) -> None:
    client, secret = hooked
    body = push()
    first = client.post(
        "/api/v1/repositories/alice/web/autobuild/push", content=body, headers=github(body, secret)
    )
    assert first.status_code == 202 and len(first.json()["builds"]) == 1
    again = client.post(
        "/api/v1/repositories/alice/web/autobuild/push", content=body, headers=github(body, secret)
    )
    assert again.json() == {"builds": []}
    [build] = builds(client, factory)
    assert (build["trigger"], build["source_ref"], build["commit_sha"], build["tags"]) == (
        "webhook",
        "main",
        SHA,
        ["latest"],
    )


def test_a_push_with_a_wrong_signature_queues_nothing(
    hooked: tuple[TestClient, str], factory: Factory
) -> None:
    client, _ = hooked
    body = push()
    refused = client.post(
        "/api/v1/repositories/alice/web/autobuild/push", content=body, headers=github(body, "x")
    )
    assert_problem(refused, 401, "signature")
    assert builds(client, factory) == []


def test_a_push_matching_no_rule_is_acknowledged_and_ignored(
    hooked: tuple[TestClient, str], factory: Factory
) -> None:
    client, secret = hooked
    body = push(ref="refs/heads/feature")
    r = client.post(
        "/api/v1/repositories/alice/web/autobuild/push", content=body, headers=gitea(body, secret)
    )
    assert r.status_code == 202 and r.json() == {"builds": []}


def test_a_push_for_an_unknown_repository_is_not_found(hooked: tuple[TestClient, str]) -> None:
    client, secret = hooked
    body = push()
    r = client.post(
        "/api/v1/repositories/alice/nope/autobuild/push", content=body, headers=github(body, secret)
    )
    assert_problem(r, 404)


def test_a_push_payload_over_the_hubs_usual_body_limit_is_read(
    hooked: tuple[TestClient, str], factory: Factory
) -> None:
    """GitHub sends payloads up to 25 MB: this route's limit is that, not the hub's 1 MiB."""
    client, secret = hooked
    body = push(commits=[{"id": str(i), "message": "x" * 1000} for i in range(2000)])
    assert len(body) > 1 << 20
    r = client.post(
        "/api/v1/repositories/alice/web/autobuild/push", content=body, headers=github(body, secret)
    )
    assert r.status_code == 202 and len(r.json()["builds"]) == 1


def test_deeply_nested_json_is_a_400_not_a_crash(hooked: tuple[TestClient, str]) -> None:
    client, secret = hooked
    deep = b"[" * 100_000 + b"]" * 100_000
    assert_problem(
        client.post(
            "/api/v1/repositories/alice/web/autobuild/push", content=deep, headers=github(deep, secret)
        ),
        400,
    )
    info = client.get("/api/v1/repositories/alice/web/autobuild", auth=httpx.BasicAuth("alice", PASSWORD))
    url = info.json()["trigger_url"].split("://", 1)[1].split("/", 1)[1]
    assert_problem(client.post(f"/{url}", content=deep), 400)
