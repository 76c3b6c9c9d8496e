"""Deletes a registry reports with the deleter's bearer token: the tags named (or those of the
deleted manifest's digest) leave the hub; a token without ``delete`` reports nothing."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import select
from wharf_hub.db.models import Activity, Tag
from wharf_hub.factories import Factory
from wharf_hub.hub import Hub

from .test_registry_tokens import DIGEST, basic, pushed, raw_token, report

OTHER = "sha256:" + "e" * 64


def deleted(repository: str, tag: str | None = None, digest: str | None = None) -> dict[str, Any]:
    target = {
        "repository": repository,
        **({"tag": tag} if tag else {}),
        **({"digest": digest} if digest else {}),
    }
    return {"action": "delete", "target": target}


def tags(hub: Hub) -> list[str]:
    with hub.db.session() as s:
        return sorted(s.scalars(select(Tag.name)))


def test_deletes_reported_with_a_delete_token_drop_the_tags(
    client: TestClient, hub: Hub, factory: Factory
) -> None:
    alice = factory.user("alice")
    factory.repo(alice, "web")
    push = raw_token(client, "repository:alice/web:pull,push", basic("alice"))
    other = {**pushed("alice/web", "v3"), "target": {**pushed("alice/web", "v3")["target"], "digest": OTHER}}
    assert (
        report(client, push, pushed("alice/web", "v1"), pushed("alice/web", "v2"), other).status_code == 200
    )
    assert tags(hub) == ["v1", "v2", "v3"]

    refused = report(client, push, deleted("alice/web", "v1"))  # push does not cover delete
    assert refused.status_code == 403, refused.text
    assert tags(hub) == ["v1", "v2", "v3"]

    delete = raw_token(client, "repository:alice/web:delete", basic("alice"))
    assert report(client, delete, deleted("alice/web", "v3", OTHER)).status_code == 200
    assert tags(hub) == ["v1", "v2"]
    assert report(client, delete, deleted("alice/web", digest=DIGEST)).status_code == 200  # no tag named
    assert tags(hub) == []
    with hub.db.session() as s:
        assert sorted(s.scalars(select(Activity.detail).where(Activity.kind == "delete"))) == [
            "alice/web:v1",
            "alice/web:v2",
            "alice/web:v3",
        ]


def test_a_delete_event_needs_a_tag_or_a_digest(client: TestClient, hub: Hub, factory: Factory) -> None:
    alice = factory.user("alice")
    factory.repo(alice, "web")
    delete = raw_token(client, "repository:alice/web:delete", basic("alice"))
    answer = report(client, delete, deleted("alice/web"))
    assert answer.status_code == 400, answer.text
    assert "tag or the manifest digest" in answer.text
