"""Tokens the hub may take back: the registry confirms them at ``PUT …/auth``, which answers
from the user's rights now, not from when the token was signed."""

from __future__ import annotations

import httpx
from fastapi.testclient import TestClient
from wharf_common.tokens import TokenVerifier
from wharf_hub.factories import Factory
from wharf_hub.hub import Hub

ASK = {"X-Docker-Token": "true"}


def basic(user: str, factory: Factory) -> httpx.BasicAuth:
    return httpx.BasicAuth(user, factory.password)


def confirm(client: TestClient, repository: str, token: str) -> int:
    response = client.put(f"/v1/repositories/{repository}/auth", headers={"Authorization": f"Token {token}"})
    return int(response.status_code)


def test_a_removed_collaborators_write_token_is_refused(
    client: TestClient, hub: Hub, factory: Factory
) -> None:
    alice = factory.user("alice")
    factory.user("colin")
    factory.repo(alice, "web")
    added = client.post(
        "/api/v1/repositories/alice/web/collaborators",
        json={"username": "colin"},
        auth=basic("alice", factory),
    )
    assert added.status_code in (200, 201), added.text
    grant = client.put("/v1/repositories/alice/web/", json=[], headers=ASK, auth=basic("colin", factory))
    assert grant.status_code == 200
    token = grant.headers["x-docker-token"]
    assert TokenVerifier(hub.signer.public_key).verify(token).index == "http://hub.test"
    assert confirm(client, "alice/web", token) == 200
    removed = client.delete(
        "/api/v1/repositories/alice/web/collaborators/colin", auth=basic("alice", factory)
    )
    assert removed.status_code == 204
    answer = client.put("/v1/repositories/alice/web/auth", headers={"Authorization": f"Token {token}"})
    assert answer.status_code == 403 and "revoked" in answer.json()
    assert confirm(client, "alice/other", token) == 403  # and never for another repository


def test_an_organisation_members_tokens_end_with_the_membership(client: TestClient, factory: Factory) -> None:
    factory.user("olivia")
    factory.user("mark")
    olivia, mark = basic("olivia", factory), basic("mark", factory)
    assert client.post("/api/v1/orgs", json={"name": "acme"}, auth=olivia).status_code == 201
    assert client.put("/api/v1/orgs/acme/members", json={"username": "mark"}, auth=olivia).status_code == 200
    write = client.put("/v1/repositories/acme/web/", json=[], headers=ASK, auth=mark).headers[
        "x-docker-token"
    ]
    client.patch("/api/v1/repositories/acme/web", json={"is_private": True}, auth=olivia)
    read = client.get("/v1/repositories/acme/web/images", headers=ASK, auth=mark).headers["x-docker-token"]
    assert confirm(client, "acme/web", write) == confirm(client, "acme/web", read) == 200
    assert client.delete("/api/v1/orgs/acme/members/mark", auth=olivia).status_code == 204
    assert confirm(client, "acme/web", write) == confirm(client, "acme/web", read) == 403


def test_tokens_nobody_takes_back_do_not_ask_to_be_confirmed(
    client: TestClient, hub: Hub, factory: Factory
) -> None:
    alice = factory.user("alice")
    factory.repo(alice, "web")
    verifier = TokenVerifier(hub.signer.public_key)
    anonymous = client.get("/v1/repositories/alice/web/images", headers=ASK).headers["x-docker-token"]
    signed_in = client.get("/v1/repositories/alice/web/images", headers=ASK, auth=basic("alice", factory))
    assert verifier.verify(anonymous).index is None
    assert verifier.verify(signed_in.headers["x-docker-token"]).index is None  # public: anyone may read
    assert confirm(client, "alice/web", anonymous) == 200
