"""Personal access tokens are not the account: they cannot change the password, are refused
by the web login, mint tokens only with the ``admin`` scope, and their scopes limit the v1
index, ``docker login`` and the JSON API. A password change or reset revokes them."""

from __future__ import annotations

from datetime import timedelta

import httpx
import pytest
from fastapi.testclient import TestClient
from wharf_hub.app import create_app
from wharf_hub.db.base import utcnow
from wharf_hub.db.models import AccessToken
from wharf_hub.factories import Factory, assert_problem
from wharf_hub.hub import Hub
from wharf_hub.web.testing import Browser, mail_links

TOKEN = {"X-Docker-Token": "true"}
IMAGE = "b" * 64
NEW_PASSWORD = "another-long-secret"


def token(hub: Hub, factory: Factory, scopes: tuple[str, ...], days: int | None = None) -> str:
    with hub.db.session() as s:
        user = hub.accounts.get(s, "alice")
        return hub.accounts.create_token(s, user, "t", scopes, days).secret


@pytest.fixture
def alice(factory: Factory) -> None:
    factory.user("alice")


@pytest.mark.usefixtures("alice")
def test_a_token_cannot_change_the_password_or_email_through_v1(
    client: TestClient, hub: Hub, factory: Factory
) -> None:
    """The attack: a leaked CI token takes the account over with ``PUT /v1/users/alice/``."""
    for scopes in [("read", "write", "delete"), ("read", "write", "delete", "admin")]:
        secret = token(hub, factory, scopes)
        auth = httpx.BasicAuth("alice", secret)
        changed = client.put("/v1/users/alice/", json={"password": "mallory-owns-this-1"}, auth=auth)
        assert changed.status_code == 403, changed.text
    secret = token(hub, factory, ("read", "write", "delete"))
    mail = client.put(
        "/v1/users/alice/", json={"email": "mallory@evil.test"}, auth=httpx.BasicAuth("alice", secret)
    )
    assert mail.status_code == 403
    assert client.get("/v1/users/", auth=httpx.BasicAuth("alice", factory.password)).status_code == 200
    with hub.db.session() as s:
        assert hub.accounts.get(s, "alice").email == "alice@example.test"
    admin = token(hub, factory, ("admin",))
    ok = client.put(
        "/v1/users/alice/", json={"email": "alice@new.test"}, auth=httpx.BasicAuth("alice", admin)
    )
    assert ok.status_code == 204


@pytest.mark.usefixtures("alice")
def test_the_web_login_refuses_tokens(client: TestClient, hub: Hub, factory: Factory) -> None:
    secret = token(hub, factory, ("read", "write", "delete", "admin"))
    with TestClient(client.app, base_url="http://hub.test") as web:
        r = Browser(web).submit("/login", {"username": "alice", "password": secret})
        assert r.status_code == 400 and "wharf_session" not in r.headers.get("set-cookie", "")


@pytest.mark.usefixtures("alice")
def test_a_token_mints_tokens_only_with_the_admin_scope(
    client: TestClient, hub: Hub, factory: Factory
) -> None:
    plain = {"Authorization": f"Bearer {token(hub, factory, ('read', 'write', 'delete'))}"}
    assert_problem(client.post("/api/v1/user/tokens", json={"name": "more"}, headers=plain), 403, "admin")
    assert_problem(client.get("/api/v1/user/tokens", headers=plain), 403, "admin")
    change = {"old": factory.password, "new": NEW_PASSWORD}
    assert_problem(client.put("/api/v1/user/password", json=change, headers=plain), 403, "admin")
    basic = httpx.BasicAuth("alice", token(hub, factory, ("read", "write")))
    assert client.post("/api/v1/user/tokens", json={"name": "more"}, auth=basic).status_code == 403
    admin = {"Authorization": f"Bearer {token(hub, factory, ('admin',))}"}
    made = client.post(
        "/api/v1/user/tokens", json={"name": "more", "scopes": ["read"], "expires_in_days": 7}, headers=admin
    )
    assert made.status_code == 201 and made.json()["scopes"] == ["read"] and made.json()["expires_at"]


@pytest.mark.usefixtures("alice")
def test_scopes_limit_the_v1_index(client: TestClient, hub: Hub, factory: Factory) -> None:
    read = httpx.BasicAuth("alice", token(hub, factory, ("read",)))
    write = httpx.BasicAuth("alice", token(hub, factory, ("write",)))
    delete = httpx.BasicAuth("alice", token(hub, factory, ("delete",)))
    admin_only = httpx.BasicAuth("alice", token(hub, factory, ("admin",)))
    assert client.get("/v1/users/", auth=read).status_code == 200  # docker login
    assert client.get("/v1/users/", auth=admin_only).status_code == 403
    assert (
        client.put("/v1/repositories/alice/web/", json=[{"id": IMAGE}], headers=TOKEN, auth=read).status_code
        == 403
    )
    assert (
        client.put("/v1/repositories/alice/web/", json=[{"id": IMAGE}], headers=TOKEN, auth=write).status_code
        == 200
    )
    with hub.db.session() as s:
        repo = hub.repos.find(s, "alice", "web")
        assert repo is not None
        repo.is_private = True
    assert client.get("/v1/repositories/alice/web/images", headers=TOKEN, auth=read).status_code == 200
    assert client.get("/v1/repositories/alice/web/images", headers=TOKEN, auth=admin_only).status_code == 403
    assert client.delete("/v1/repositories/alice/web/", headers=TOKEN, auth=write).status_code == 403
    assert client.delete("/v1/repositories/alice/web/", headers=TOKEN, auth=delete).status_code == 202
    assert client.delete("/v1/repositories/alice/web/", auth=delete).status_code == 200


@pytest.mark.usefixtures("alice")
def test_scopes_limit_the_json_api(client: TestClient, hub: Hub, factory: Factory) -> None:
    read = {"Authorization": f"Bearer {token(hub, factory, ('read',))}"}
    write = {"Authorization": f"Bearer {token(hub, factory, ('write',))}"}
    body = {"namespace": "alice", "name": "web", "is_private": True}
    assert_problem(client.post("/api/v1/repositories", json=body, headers=read), 403, "write")
    assert client.post("/api/v1/repositories", json=body, headers=write).status_code == 201
    assert client.get("/api/v1/repositories/alice/web", headers=read).status_code == 200
    assert_problem(client.delete("/api/v1/repositories/alice/web", headers=write), 403, "delete")


@pytest.mark.usefixtures("alice")
def test_expired_tokens_stop_working_and_use_is_recorded(
    client: TestClient, hub: Hub, factory: Factory
) -> None:
    secret = token(hub, factory, ("read",), days=1)
    auth = {"Authorization": f"Bearer {secret}"}
    assert client.get("/api/v1/user", headers=auth).status_code == 200
    with hub.db.session() as s:
        row = s.query(AccessToken).one()
        assert row.last_used_at is not None and row.expires_at is not None
        row.expires_at = utcnow() - timedelta(seconds=1)
    assert_problem(client.get("/api/v1/user", headers=auth), 401)
    assert client.get("/v1/users/", auth=httpx.BasicAuth("alice", secret)).status_code == 401
    bad = {"Authorization": f"Bearer {token(hub, factory, ('admin',))}"}
    assert_problem(
        client.post("/api/v1/user/tokens", json={"name": "x", "expires_in_days": 0}, headers=bad), 400
    )
    assert_problem(
        client.post("/api/v1/user/tokens", json={"name": "x", "scopes": ["root"]}, headers=bad), 400
    )


@pytest.mark.usefixtures("alice")
def test_password_change_and_reset_revoke_every_token(client: TestClient, hub: Hub, factory: Factory) -> None:
    first = httpx.BasicAuth("alice", token(hub, factory, ("read",)))
    changed = client.put(
        "/v1/users/alice/", json={"password": NEW_PASSWORD}, auth=httpx.BasicAuth("alice", factory.password)
    )
    assert changed.status_code == 204
    assert client.get("/v1/users/", auth=first).status_code == 401
    second = httpx.BasicAuth("alice", token(hub, factory, ("read",)))
    with hub.db.session() as s:
        hub.accounts.request_reset(s, "alice@example.test")
    [link] = mail_links(hub.settings.outbox, "reset")
    with hub.db.session() as s:
        hub.accounts.reset_password(s, link.rsplit("/", 1)[1], "yet-another-secret-3")
    assert client.get("/v1/users/", auth=second).status_code == 401


def test_the_account_page_and_api_show_scopes_expiry_and_last_use(hub: Hub, factory: Factory) -> None:
    factory.user("alice")
    with TestClient(create_app(hub.settings, hub), base_url="http://hub.test") as web:
        browser = Browser(web)
        browser.login("alice", factory.password)
        r = browser.submit(
            "/account",
            {"name": "ci-box", "scopes": "write", "expires_in_days": "30"},
            action="/account/tokens",
        )
        assert r.status_code == 201
        page = browser.get("/account").text
        assert "read, write" in page and "ci-box" in page and "never" in page  # not used yet
        listed = web.get("/api/v1/user/tokens", auth=("alice", factory.password)).json()
        assert [(t["name"], t["scopes"], t["expires_at"] is not None) for t in listed] == [
            ("ci-box", ["read", "write"], True)
        ]
        for days in ("soon", "²", "0", "99999999"):
            bad = browser.submit("/account", {"name": "x", "expires_in_days": days}, action="/account/tokens")
            assert bad.status_code == 400, days
