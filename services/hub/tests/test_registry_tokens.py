"""``/v2/token``: bearer tokens that grant exactly what the v1 rules allow, and the registries'
reports of pushes and pulls."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from wharf_common.bearer import BearerToken, BearerVerifier, ResourceScope
from wharf_hub.db.models import Activity, Build, HookChain, Repository, Tag
from wharf_hub.factories import Factory, bearer
from wharf_hub.hub import Hub

from .webhook_helpers import add_hook

SERVICE = "registry.test"
DIGEST = "sha256:" + "d" * 64
CONFIG = "sha256:" + "c" * 64


def basic(user: str, password: str = Factory.password) -> httpx.BasicAuth:
    return httpx.BasicAuth(user, password)


def verify(hub: Hub, token: str) -> BearerToken:
    return BearerVerifier([hub.registry_tokens.signer.public_key], "wharf-hub", SERVICE).verify(token)


def token_for(client: TestClient, hub: Hub, *scopes: str, auth: Any = None, **params: str) -> BearerToken:
    response = client.get(
        "/v2/token", params={"service": SERVICE, "scope": list(scopes), **params}, auth=auth
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["token"] == body["access_token"] and body["expires_in"] == hub.settings.bearer_ttl
    return verify(hub, body["token"])


def granted(token: BearerToken, name: str) -> set[str]:
    return set(token.actions("repository", name))


def test_owners_push_and_pull_strangers_only_pull_public(
    client: TestClient, hub: Hub, factory: Factory
) -> None:
    alice = factory.user("alice")
    factory.user("bobby")
    factory.repo(alice, "web")
    scope = "repository:alice/web:pull,push"
    owner = token_for(client, hub, scope, auth=basic("alice"))
    assert owner.subject == "alice" and owner.audience == SERVICE
    assert granted(owner, "alice/web") == {"pull", "push"}
    assert granted(token_for(client, hub, scope, auth=basic("bobby")), "alice/web") == {"pull"}
    anonymous = token_for(client, hub, scope)
    assert anonymous.subject == "" and granted(anonymous, "alice/web") == {"pull"}


def test_a_private_repository_gives_strangers_a_token_with_empty_access(
    client: TestClient, hub: Hub, factory: Factory
) -> None:
    alice = factory.user("alice")
    factory.user("bobby")
    factory.repo(alice, "secret", private=True)
    scope = "repository:alice/secret:pull"
    assert granted(token_for(client, hub, scope, auth=basic("alice")), "alice/secret") == {"pull"}
    stranger = token_for(client, hub, scope, auth=basic("bobby"))
    assert stranger.access == (ResourceScope("repository", "alice/secret", ()),)
    assert granted(token_for(client, hub, scope), "alice/secret") == set()


def test_collaborators_and_organisation_members_push_owners_delete(
    client: TestClient, hub: Hub, factory: Factory
) -> None:
    alice = factory.user("alice")
    factory.user("colin")
    factory.user("olivia")
    factory.user("mark")
    factory.repo(alice, "web", private=True)
    added = client.post(
        "/api/v1/repositories/alice/web/collaborators", json={"username": "colin"}, auth=basic("alice")
    )
    assert added.status_code in (200, 201)
    everything = "repository:alice/web:*"
    assert granted(token_for(client, hub, everything, auth=basic("colin")), "alice/web") == {"pull", "push"}
    assert granted(token_for(client, hub, everything, auth=basic("alice")), "alice/web") == {
        "pull",
        "push",
        "delete",
    }
    assert client.post("/api/v1/orgs", json={"name": "acme"}, auth=basic("olivia")).status_code == 201
    member = client.put("/api/v1/orgs/acme/members", json={"username": "mark"}, auth=basic("olivia"))
    assert member.status_code == 200
    new = "repository:acme/api:pull,push,delete"
    assert granted(token_for(client, hub, new, auth=basic("mark")), "acme/api") == {"pull", "push"}
    assert granted(token_for(client, hub, new, auth=basic("alice")), "acme/api") == set()


def test_a_new_repository_only_in_namespaces_one_may_create(
    client: TestClient, hub: Hub, factory: Factory
) -> None:
    factory.user("alice")
    factory.user("admin1", admin=True)
    own = token_for(client, hub, "repository:alice/new:pull,push", auth=basic("alice"))
    assert granted(own, "alice/new") == {"pull", "push"}
    assert (
        granted(token_for(client, hub, "repository:bobby/new:push", auth=basic("alice")), "bobby/new")
        == set()
    )
    official = "repository:busybox:pull,push"
    assert granted(token_for(client, hub, official, auth=basic("alice")), "busybox") == set()
    assert granted(token_for(client, hub, official, auth=basic("admin1")), "busybox") == {"pull", "push"}
    assert granted(token_for(client, hub, "repository:../etc:push", auth=basic("alice")), "../etc") == set()


def test_the_catalog_is_for_administrators(client: TestClient, hub: Hub, factory: Factory) -> None:
    factory.user("alice")
    factory.user("admin1", admin=True)
    assert token_for(client, hub, "registry:catalog:*", auth=basic("admin1")).allows(
        "registry", "catalog", "*"
    )
    assert not token_for(client, hub, "registry:catalog:*", auth=basic("alice")).allows(
        "registry", "catalog", "*"
    )
    assert not token_for(client, hub, "registry:catalog:*").allows("registry", "catalog", "*")


def test_access_token_scopes_are_respected(client: TestClient, hub: Hub, factory: Factory) -> None:
    alice = factory.user("alice")
    factory.repo(alice, "web")
    read = bearer(hub, alice, "read-only", ("read",))["Authorization"].removeprefix("Bearer ")
    write = bearer(hub, alice, "push", ("write",))["Authorization"].removeprefix("Bearer ")
    scope = "repository:alice/web:pull,push,delete"
    assert granted(token_for(client, hub, scope, auth=basic("alice", read)), "alice/web") == {"pull"}
    assert granted(token_for(client, hub, scope, auth=basic("alice", write)), "alice/web") == {"pull", "push"}


def test_wrong_credentials_are_a_401_with_a_basic_challenge(client: TestClient, factory: Factory) -> None:
    factory.user("alice")
    for auth in (basic("alice", "wrong-password"), basic("nobody1"), basic("alice", "wharf_pat_forged")):
        response = client.get(
            "/v2/token", params={"service": SERVICE, "scope": "repository:alice/web:pull"}, auth=auth
        )
        assert response.status_code == 401, response.text
        assert response.headers["www-authenticate"].startswith("Basic ")
        assert response.headers["content-type"] == "application/problem+json"
    other = client.get("/v2/token", params={"service": SERVICE, "account": "bobby"}, auth=basic("alice"))
    assert other.status_code == 401  # signed in as alice, asking for bobby's token


@pytest.mark.parametrize(
    "params",
    [
        {"scope": "repository:alice/web:pull"},  # no service
        {"service": SERVICE, "scope": "repository:alice/web"},
        {"service": SERVICE, "scope": "repository:alice/web:pu;ll"},
        {"service": SERVICE, "scope": ["repository:a/b:pull"] * 17},
        {"service": "x" * 300},
    ],
)
def test_malformed_requests_are_a_clear_400(client: TestClient, params: dict[str, Any]) -> None:
    response = client.get("/v2/token", params=params)
    assert response.status_code == 400, response.text
    assert response.json()["detail"]


def test_the_oauth2_form_gives_the_same_tokens(client: TestClient, hub: Hub, factory: Factory) -> None:
    alice = factory.user("alice")
    factory.repo(alice, "web")
    scope = "repository:alice/web:pull,push"
    form = {
        "grant_type": "password",
        "service": SERVICE,
        "scope": scope,
        "username": "alice",
        "password": factory.password,
        "client_id": "docker",
    }
    response = client.post("/v2/token", data=form)
    assert response.status_code == 200, response.text
    assert granted(verify(hub, response.json()["access_token"]), "alice/web") == {"pull", "push"}
    assert client.post("/v2/token", data={**form, "password": "wrong-password"}).status_code == 401
    pat = bearer(hub, alice, "ci", ("read",))["Authorization"].removeprefix("Bearer ")
    refresh = {"grant_type": "refresh_token", "service": SERVICE, "scope": scope, "refresh_token": pat}
    refreshed = client.post("/v2/token", data=refresh)
    assert refreshed.status_code == 200, refreshed.text
    assert granted(verify(hub, refreshed.json()["token"]), "alice/web") == {"pull"}
    assert client.post("/v2/token", data={**refresh, "refresh_token": "wharf_pat_nope"}).status_code == 401
    assert client.post("/v2/token", data={**form, "grant_type": "authorization_code"}).status_code == 400


# ---- reports from the registry --------------------------------------------------------------


def raw_token(client: TestClient, scope: str, auth: Any = None) -> str:
    response = client.get("/v2/token", params={"service": SERVICE, "scope": scope}, auth=auth)
    assert response.status_code == 200
    return str(response.json()["token"])


def report(client: TestClient, token: str, *events: dict[str, Any]) -> httpx.Response:
    headers = {"Authorization": f"Bearer {token}"}
    response: httpx.Response = client.post(
        "/v2/_registry/events", json={"events": list(events)}, headers=headers
    )
    return response


def pushed(repository: str, tag: str = "latest") -> dict[str, Any]:
    target = {"repository": repository, "tag": tag, "digest": DIGEST, "size": 1234, "config": CONFIG}
    return {"action": "push", "target": target}


def test_a_v2_push_shows_as_a_v1_push_does(client: TestClient, hub: Hub, factory: Factory) -> None:
    alice = factory.user("alice")
    repo = factory.repo(alice, "web")
    add_hook(hub, alice, repo, "ci", "http://127.0.0.1:9/hook")
    token = raw_token(client, "repository:alice/web:pull,push", basic("alice"))
    response = report(client, token, pushed("alice/web", "v1"))
    assert response.status_code == 200, response.text
    assert response.json() == {"accepted": 1}
    with hub.db.session() as s:
        tag = s.scalar(select(Tag).where(Tag.repository_id == repo.id, Tag.name == "v1"))
        assert tag is not None and tag.digest == DIGEST and tag.image_id == "c" * 64 and tag.size == 1234
        assert tag.pusher_id == alice.id
        assert s.scalar(select(Activity.detail).where(Activity.kind == "push")) == "alice/web:v1"
        chain = s.scalar(select(HookChain).where(HookChain.repository_id == repo.id))
        assert chain is not None
        payload: Any = chain.payload
        assert payload["push_data"]["tag"] == "v1"
    [listed] = client.get("/api/v1/repositories/alice/web/tags").json()["results"]
    assert (listed["name"], listed["digest"], listed["size"]) == ("v1", DIGEST, 1234)


def test_a_first_v2_push_creates_the_repository(client: TestClient, hub: Hub, factory: Factory) -> None:
    factory.user("alice")
    token = raw_token(client, "repository:alice/fresh:pull,push", basic("alice"))
    assert report(client, token, pushed("alice/fresh")).status_code == 200
    with hub.db.session() as s:
        repo = s.scalar(select(Repository).where(Repository.name == "fresh"))
        assert repo is not None and repo.owner_id is not None and [t.name for t in repo.tags] == ["latest"]


def test_pulls_reported_with_a_pull_token_are_counted(client: TestClient, hub: Hub, factory: Factory) -> None:
    alice = factory.user("alice")
    repo = factory.repo(alice, "web")
    token = raw_token(client, "repository:alice/web:pull")
    pull = {"action": "pull", "target": {"repository": "alice/web", "digest": DIGEST}}
    assert report(client, token, pull, pull).status_code == 200
    with hub.db.session() as s:
        assert s.get(Repository, repo.id).pull_count == 2  # type: ignore[union-attr]


def test_reports_need_a_token_that_covers_them(client: TestClient, hub: Hub, factory: Factory) -> None:
    alice = factory.user("alice")
    factory.user("bobby")
    factory.repo(alice, "web")
    pull_only = raw_token(client, "repository:alice/web:pull", basic("alice"))
    assert report(client, pull_only, pushed("alice/web")).status_code == 403  # pull scope used for push
    other = raw_token(client, "repository:alice/other:pull,push", basic("alice"))
    assert report(client, other, pushed("alice/web")).status_code == 403  # a token for A used on B
    stranger = raw_token(client, "repository:alice/web:pull,push", basic("bobby"))
    assert report(client, stranger, pushed("alice/web")).status_code == 403
    good = raw_token(client, "repository:alice/web:pull,push", basic("alice"))
    head, claims, signature = good.split(".")
    tampered = f"{head}.{claims[:-4]}AAAA.{signature}"
    assert report(client, tampered, pushed("alice/web")).status_code == 401
    assert client.post("/v2/_registry/events", json={"events": [pushed("alice/web")]}).status_code == 401
    bodies: list[Any] = [
        {"events": []},
        {"events": [{"action": "push", "target": {"repository": "alice/web"}}]},
        [],
    ]
    for body in bodies:
        response = client.post("/v2/_registry/events", json=body, headers={"Authorization": f"Bearer {good}"})
        assert response.status_code == 400, body
    with hub.db.session() as s:
        assert s.scalars(select(Tag)).all() == []


def test_a_builds_push_credential_reaches_only_its_repository(
    client: TestClient, hub: Hub, factory: Factory
) -> None:
    alice = factory.user("alice")
    repo = factory.repo(alice, "web")
    factory.repo(alice, "other")
    with hub.db.session() as s:
        source = {"source_url": "https://git.test/x.git", "source_type": "branch", "source_ref": "main"}
        build = Build(repository_id=repo.id, trigger="manual", dockerfile="Dockerfile", context="/", **source)
        s.add(build)
        s.flush()
        _, secret = hub.builder.claim(s, build.id, "worker-1")
        username = f"wharf-build-{build.id}"
    scopes = ("repository:alice/web:pull,push,delete", "repository:alice/other:pull,push")
    token = token_for(client, hub, *scopes, auth=basic(username, secret))
    assert token.subject == "alice"
    assert granted(token, "alice/web") == {"pull", "push"} and granted(token, "alice/other") == set()
    wrong = client.get(
        "/v2/token", params={"service": SERVICE, "scope": scopes[0]}, auth=basic(username, "x")
    )
    assert wrong.status_code == 401


def test_the_token_endpoint_is_in_the_openapi_description(client: TestClient) -> None:
    paths = client.get("/api/openapi.json").json()["paths"]
    assert set(paths["/v2/token"]) == {"get", "post"} and set(paths["/v2/_registry/events"]) == {"post"}
    assert "401" in paths["/v2/token"]["get"]["responses"]
    assert "422" not in paths["/v2/token"]["post"]["responses"]
