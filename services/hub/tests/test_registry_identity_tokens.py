"""``offline_token=true`` (docker login): a password login also gets a ``refresh_token`` (a new
access token of the account), which the OAuth2 form takes back for tokens; an access token, an
anonymous client or a plain request gets none."""

from __future__ import annotations

from fastapi.testclient import TestClient
from wharf_hub.factories import Factory
from wharf_hub.hub import Hub

from .test_registry_tokens import SERVICE, basic, granted, verify

SCOPE = "repository:alice/web:pull,push"
OFFLINE = {"service": SERVICE, "scope": SCOPE, "offline_token": "true", "client_id": "docker"}


def test_a_password_login_with_offline_token_gets_a_refresh_token(
    client: TestClient, hub: Hub, factory: Factory
) -> None:
    alice = factory.user("alice")
    factory.repo(alice, "web")
    answer = client.get("/v2/token", params=OFFLINE, auth=basic("alice")).json()
    refresh = answer["refresh_token"]
    assert refresh.startswith("wharf_pat_")
    names = [t["name"] for t in client.get("/api/v1/user/tokens", auth=basic("alice")).json()]
    assert "registry login (docker)" in names
    form = {"grant_type": "refresh_token", "refresh_token": refresh, "service": SERVICE, "scope": SCOPE}
    again = client.post("/v2/token", data={**form, "client_id": "docker"})
    assert again.status_code == 200, again.text
    assert granted(verify(hub, again.json()["token"]), "alice/web") == {"pull", "push"}
    assert "refresh_token" not in again.json()


def test_no_refresh_token_without_a_password_or_without_offline_token(
    client: TestClient, hub: Hub, factory: Factory
) -> None:
    alice = factory.user("alice")
    factory.repo(alice, "web")
    plain = client.get("/v2/token", params={"service": SERVICE, "scope": SCOPE}, auth=basic("alice")).json()
    assert "refresh_token" not in plain
    assert "refresh_token" not in client.get("/v2/token", params=OFFLINE).json()  # anonymous
    bobby = factory.user("bobby")
    with hub.unit() as s:  # an access token is not traded for another one
        secret = hub.accounts.create_token(s, s.merge(bobby), "ci", ["read"]).secret
    by_token = client.get("/v2/token", params=OFFLINE, auth=basic("bobby", secret)).json()
    assert "refresh_token" not in by_token
