"""``/api/v1/users`` and ``/api/v1/user`` through the real app: sign-up, the caller's account,
profiles, password change, account deletion and personal access tokens (Bearer and Basic)."""

from __future__ import annotations

import re
from email import message_from_bytes
from typing import Any

import pytest
from fastapi.testclient import TestClient
from wharf_hub.factories import Factory, assert_problem, bearer
from wharf_hub.hub import Hub

NEW_PASSWORD = "another-long-secret"


def activation_secret(hub: Hub) -> str:
    [path] = sorted(hub.settings.outbox.glob("*.eml"))
    body = message_from_bytes(path.read_bytes()).get_payload(decode=True)
    assert isinstance(body, bytes)
    [secret] = re.findall(r"http://hub\.test/activate/([\w-]+)", body.decode())
    return str(secret)


# ---- sign-up ------------------------------------------------------------------------------------


def test_sign_up_creates_an_inactive_account_until_the_mailed_link_is_used(
    client: TestClient, hub: Hub
) -> None:
    body = {"username": "carol", "email": "carol@example.test", "password": "a-long-password-9"}
    response = client.post("/api/v1/users", json=body)
    assert response.status_code == 201
    account = response.json()
    assert account["username"] == "carol" and account["email"] == "carol@example.test"
    assert account["is_active"] is False and "password" not in account
    assert_problem(client.get("/api/v1/user", auth=("carol", "a-long-password-9")), 403, "not Active")
    with hub.db.session() as s:
        hub.accounts.activate(s, activation_secret(hub))
    me = client.get("/api/v1/user", auth=("carol", "a-long-password-9"))
    assert me.status_code == 200 and me.json()["is_active"] is True


@pytest.mark.parametrize(
    "body",
    [
        {"username": "alice", "email": "new@example.test", "password": "a-long-password-9"},
        {"username": "carol", "email": "ALICE@example.test", "password": "a-long-password-9"},
    ],
)
def test_sign_up_with_a_taken_name_or_email_is_409(
    client: TestClient, factory: Factory, body: dict[str, str]
) -> None:
    factory.user("alice")
    assert_problem(client.post("/api/v1/users", json=body), 409, "already exists")


@pytest.mark.parametrize(
    ("body", "detail"),
    [
        ({"username": "Carol", "email": "c@example.test", "password": "a-long-password-9"}, "username"),
        ({"username": "ab", "email": "c@example.test", "password": "a-long-password-9"}, "username"),
        ({"username": "carol", "email": "not-an-address", "password": "a-long-password-9"}, "e-mail"),
        ({"username": "carol", "email": "c@example.test", "password": "short"}, "too short"),
        ({"username": "carol", "email": "c@example.test"}, "password: Field required"),
        ({"username": "carol", "email": "c@example.test", "password": 12345678}, "valid string"),
        (
            {"username": "carol", "email": "c@example.test", "password": "a-long-password-9", "admin": True},
            "admin: Extra inputs",
        ),
    ],
)
def test_sign_up_with_invalid_fields_is_400(client: TestClient, body: dict[str, Any], detail: str) -> None:
    assert_problem(client.post("/api/v1/users", json=body), 400, detail)


def test_malformed_json_is_400(client: TestClient) -> None:
    response = client.post(
        "/api/v1/users", content=b"{not json", headers={"content-type": "application/json"}
    )
    assert_problem(response, 400, "JSON")


# ---- the caller's account -------------------------------------------------------------------------


def test_me_with_bearer_token_and_with_basic(client: TestClient, hub: Hub, factory: Factory) -> None:
    alice = factory.user("alice")
    for response in (
        client.get("/api/v1/user", headers=bearer(hub, alice)),
        client.get("/api/v1/user", auth=("alice", factory.password)),
    ):
        assert response.status_code == 200
        me = response.json()
        assert (me["username"], me["email"], me["is_active"], me["is_admin"]) == (
            "alice",
            "alice@example.test",
            True,
            False,
        )


def test_me_anonymous_is_401_with_a_bearer_challenge(client: TestClient) -> None:
    response = client.get("/api/v1/user")
    assert_problem(response, 401, "authentication required")
    assert response.headers["www-authenticate"].startswith("Bearer")


@pytest.mark.parametrize(
    "headers",
    [
        {"Authorization": "Bearer wharf_pat_not-a-real-token"},
        {"Authorization": "Basic bm90LWJhc2U2NA==="},
        {"Authorization": "Basic YWxpY2U6d3JvbmctcGFzc3dvcmQtMQ=="},  # alice:wrong-password-1
    ],
)
def test_wrong_credentials_are_401(client: TestClient, factory: Factory, headers: dict[str, str]) -> None:
    factory.user("alice")
    response = client.get("/api/v1/user", headers=headers)
    assert_problem(response, 401, "Wrong login/password")
    assert "www-authenticate" in response.headers


def test_repeated_wrong_passwords_are_429_with_retry_after(client: TestClient, factory: Factory) -> None:
    factory.user("alice")
    for _ in range(5):
        assert client.get("/api/v1/user", auth=("alice", "wrong-password-1")).status_code == 401
    response = client.get("/api/v1/user", auth=("alice", factory.password))
    assert_problem(response, 429, "Too many")
    assert int(response.headers["retry-after"]) > 0


def test_public_profile_shows_no_email(client: TestClient, factory: Factory) -> None:
    factory.user("alice")
    response = client.get("/api/v1/users/alice")
    assert response.status_code == 200
    assert set(response.json()) == {"username", "full_name", "date_joined"}
    assert_problem(client.get("/api/v1/users/nobody_here"), 404, "No such user: nobody_here")


def test_password_change_needs_the_old_password(client: TestClient, hub: Hub, factory: Factory) -> None:
    alice = factory.user("alice")
    auth = bearer(hub, alice, scopes=("admin",))
    wrong = client.put(
        "/api/v1/user/password", json={"old": "wrong-password-1", "new": NEW_PASSWORD}, headers=auth
    )
    assert_problem(wrong, 401)
    weak = client.put("/api/v1/user/password", json={"old": factory.password, "new": "short"}, headers=auth)
    assert_problem(weak, 400, "too short")
    response = client.put(
        "/api/v1/user/password", json={"old": factory.password, "new": NEW_PASSWORD}, headers=auth
    )
    assert response.status_code == 204 and response.content == b""
    assert client.get("/api/v1/user", auth=("alice", NEW_PASSWORD)).status_code == 200
    assert client.get("/api/v1/user", auth=("alice", factory.password)).status_code == 401
    assert_problem(client.get("/api/v1/user", headers=auth), 401)  # every token is revoked


def test_password_change_anonymous_is_401(client: TestClient) -> None:
    assert_problem(client.put("/api/v1/user/password", json={"old": "x", "new": NEW_PASSWORD}), 401)


def test_delete_account_needs_the_password_and_removes_repositories(
    client: TestClient, hub: Hub, factory: Factory
) -> None:
    alice = factory.user("alice")
    factory.repo(alice, "web")
    auth = bearer(hub, alice, scopes=("read", "admin"))
    assert_problem(
        client.request("DELETE", "/api/v1/user", json={"password": "wrong-password-1"}, headers=auth), 401
    )
    assert_problem(client.request("DELETE", "/api/v1/user", headers=auth), 400, "Field required")
    assert_problem(client.request("DELETE", "/api/v1/user", json={"password": factory.password}), 401)
    response = client.request("DELETE", "/api/v1/user", json={"password": factory.password}, headers=auth)
    assert response.status_code == 204
    assert_problem(client.get("/api/v1/user", headers=auth), 401)  # its tokens went with it
    assert_problem(client.get("/api/v1/users/alice"), 404)
    assert_problem(client.get("/api/v1/repositories/alice/web"), 404)


# ---- personal access tokens -----------------------------------------------------------------------


def test_token_is_created_with_basic_shown_once_then_listed_without_secret(
    client: TestClient, factory: Factory
) -> None:
    factory.user("alice")
    created = client.post(
        "/api/v1/user/tokens",
        json={"name": "ci", "scopes": ["read", "admin"]},
        auth=("alice", factory.password),
    )
    assert created.status_code == 201
    token = created.json()
    assert token["name"] == "ci" and token["token"].startswith(token["prefix"]) and token["last_used"] is None
    auth = {"Authorization": f"Bearer {token['token']}"}
    assert client.get("/api/v1/user", headers=auth).json()["username"] == "alice"
    listed = client.get("/api/v1/user/tokens", headers=auth)
    assert listed.status_code == 200
    [row] = listed.json()
    assert "token" not in row and row["id"] == token["id"] and row["last_used"] is not None


def test_a_token_works_as_a_basic_password(client: TestClient, hub: Hub, factory: Factory) -> None:
    alice = factory.user("alice")
    secret = bearer(hub, alice)["Authorization"].split()[1]
    assert client.get("/api/v1/user", auth=("alice", secret)).status_code == 200


def test_a_revoked_token_stops_working(client: TestClient, hub: Hub, factory: Factory) -> None:
    alice = factory.user("alice")
    keep, revoke = bearer(hub, alice, "keep", ("read", "admin")), bearer(hub, alice, "revoke")
    tokens = client.get("/api/v1/user/tokens", headers=keep).json()
    assert [t["name"] for t in tokens] == ["keep", "revoke"]
    response = client.delete(f"/api/v1/user/tokens/{tokens[1]['id']}", headers=keep)
    assert response.status_code == 204
    assert_problem(client.get("/api/v1/user", headers=revoke), 401)
    assert [t["name"] for t in client.get("/api/v1/user/tokens", headers=keep).json()] == ["keep"]
    assert_problem(
        client.delete(f"/api/v1/user/tokens/{tokens[1]['id']}", headers=keep), 404, "No such access token"
    )


def test_someone_elses_token_cannot_be_revoked(client: TestClient, hub: Hub, factory: Factory) -> None:
    alice, bob = factory.user("alice"), factory.user("bob_b")
    bobs = bearer(hub, bob, scopes=("read", "admin"))
    [bob_token] = client.get("/api/v1/user/tokens", headers=bobs).json()
    alices = bearer(hub, alice, scopes=("admin",))
    assert_problem(client.delete(f"/api/v1/user/tokens/{bob_token['id']}", headers=alices), 404)
    assert client.get("/api/v1/user", headers=bobs).status_code == 200


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("POST", "/api/v1/user/tokens", {"name": "ci"}),
        ("GET", "/api/v1/user/tokens", None),
        ("DELETE", "/api/v1/user/tokens/1", None),
    ],
)
def test_tokens_anonymous_is_401(
    client: TestClient, method: str, path: str, body: dict[str, str] | None
) -> None:
    assert_problem(client.request(method, path, json=body), 401)


@pytest.mark.parametrize(
    ("body", "detail"), [({"name": " "}, "name"), ({"name": "x" * 101}, "name"), ({}, "name")]
)
def test_token_needs_a_name(
    client: TestClient, hub: Hub, factory: Factory, body: dict[str, str], detail: str
) -> None:
    auth = bearer(hub, factory.user("alice"), scopes=("admin",))
    assert_problem(client.post("/api/v1/user/tokens", json=body, headers=auth), 400, detail)


def test_token_id_must_be_a_number(client: TestClient, hub: Hub, factory: Factory) -> None:
    auth = bearer(hub, factory.user("alice"), scopes=("admin",))
    assert_problem(client.delete("/api/v1/user/tokens/abc", headers=auth), 400, "token_id")


def test_token_of_an_inactive_account_is_403(client: TestClient, hub: Hub, factory: Factory) -> None:
    auth = bearer(hub, factory.user("carol", active=False))
    assert_problem(client.get("/api/v1/user", headers=auth), 403, "not Active")
