"""The v1 index API as engines call it (protocols.md A.4, A.9, A.10), through the real app."""

from __future__ import annotations

import json

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from wharf_common.tokens import TokenVerifier
from wharf_hub.db.models import Job, Tag
from wharf_hub.factories import Factory
from wharf_hub.hub import Hub

IMAGE = "a" * 64
TOKEN = {"X-Docker-Token": "true"}


def basic(user: str, password: str) -> httpx.BasicAuth:
    return httpx.BasicAuth(user, password)


def test_ping_says_index_mode(client: TestClient) -> None:
    for path in ("/v1/_ping", "/_ping"):
        response = client.get(path)
        assert response.status_code == 200
        assert response.headers["x-docker-registry-standalone"] == "false"


def test_docker_login_v1_flow_create_then_check(client: TestClient, hub: Hub, factory: Factory) -> None:
    factory.user("alice")
    body = {"username": "alice", "password": factory.password, "email": "", "auth": ""}
    response = client.post("/v1/users/", json=body)
    assert (response.status_code, response.json()) == (400, "Username or email already exists")
    assert client.get("/v1/users/", auth=basic("alice", factory.password)).json() == "OK"
    wrong = client.get("/v1/users/", auth=basic("alice", "wrong-password-1"))
    unknown = client.get("/v1/users/", auth=basic("nobody_here", "wrong-password-1"))
    assert wrong.status_code == unknown.status_code == 401
    assert wrong.json() == unknown.json()
    assert "Basic" in wrong.headers["www-authenticate"]


def test_v1_sign_up_creates_an_inactive_account(client: TestClient, hub: Hub) -> None:
    body = {"username": "carol", "password": "a-long-password-9", "email": "carol@example.test", "auth": ""}
    response = client.post("/v1/users/", json=body)
    assert (response.status_code, response.json()) == (201, "User Created")
    inactive = client.get("/v1/users/", auth=basic("carol", "a-long-password-9"))
    assert inactive.status_code == 403 and "not Active" in inactive.json()
    assert list(hub.settings.outbox.glob("*.eml"))


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (
            {"username": "Bad Name", "password": "a-long-password-9", "email": "x@example.test"},
            "Invalid username",
        ),
        ({"username": "dave", "password": "pw", "email": "x@example.test"}, "too short"),
        ({"username": "dave", "password": "a-long-password-9", "email": "not-an-email"}, "e-mail"),
    ],
)
def test_v1_sign_up_errors_are_400_with_a_reason(
    client: TestClient, body: dict[str, str], message: str
) -> None:
    response = client.post("/v1/users/", json=body)
    assert response.status_code == 400 and message in response.json()


def test_malformed_json_is_a_clear_400(client: TestClient, factory: Factory) -> None:
    factory.user("alice")
    response = client.post("/v1/users/", content=b"{nope", headers={"Content-Type": "application/json"})
    assert (response.status_code, response.json()) == (400, "Invalid JSON")
    response = client.put(
        "/v1/repositories/alice/web/",
        content=b'[{"id": 1}]',
        headers=TOKEN,
        auth=basic("alice", factory.password),
    )
    assert response.status_code == 400 and "id" in response.json()


def test_push_token_names_repository_and_access_and_verifies(
    client: TestClient, hub: Hub, factory: Factory
) -> None:
    factory.user("alice")
    response = client.put(
        "/v1/repositories/alice/web/",
        json=[{"id": IMAGE}],
        headers=TOKEN,
        auth=basic("alice", factory.password),
    )
    assert response.status_code == 200
    assert response.headers["x-docker-endpoints"] == "127.0.0.1:5000"
    token = response.headers["x-docker-token"]
    assert response.headers["www-authenticate"] == f"Token {token}"
    granted = TokenVerifier(hub.signer.public_key).verify(token)
    assert (granted.repository, granted.access, granted.user) == ("alice/web", "write", "alice")
    # the first push created the repository, public by default
    with hub.db.session() as s:
        repo = hub.repos.find(s, "alice", "web")
        assert repo is not None and not repo.is_private
    done = client.put(
        "/v1/repositories/alice/web/images",
        json=[{"id": IMAGE, "Tag": "latest", "checksum": "sha256:" + "0" * 64}],
        headers=TOKEN,
        auth=basic("alice", factory.password),
    )
    assert done.status_code == 204
    pulled = client.get("/v1/repositories/alice/web/images", headers=TOKEN)
    assert pulled.status_code == 200
    assert pulled.json() == [{"id": IMAGE, "checksum": "sha256:" + "0" * 64}]
    read = TokenVerifier(hub.signer.public_key).verify(pulled.headers["x-docker-token"])
    assert (read.access, read.user) == ("read", "")


def test_push_needs_credentials_and_your_own_namespace(client: TestClient, factory: Factory) -> None:
    factory.user("alice")
    factory.user("bobby")
    anonymous = client.put("/v1/repositories/alice/web/", json=[], headers=TOKEN)
    assert anonymous.status_code == 401 and "Token" in anonymous.headers["www-authenticate"]
    other = client.put(
        "/v1/repositories/alice/web/", json=[], headers=TOKEN, auth=basic("bobby", factory.password)
    )
    assert other.status_code == 403
    library = client.put(
        "/v1/repositories/busybox/", json=[], headers=TOKEN, auth=basic("bobby", factory.password)
    )
    assert library.status_code == 403


def test_admins_push_official_images_to_the_root_namespace(
    client: TestClient, hub: Hub, factory: Factory
) -> None:
    factory.user("siteadmin", admin=True)
    response = client.put(
        "/v1/repositories/busybox/", json=[], headers=TOKEN, auth=basic("siteadmin", factory.password)
    )
    assert response.status_code == 200
    token = TokenVerifier(hub.signer.public_key).verify(response.headers["x-docker-token"])
    assert token.repository == "library/busybox"
    with hub.db.session() as s:
        repo = hub.repos.find(s, "library", "busybox")
        assert repo is not None and repo.is_official and repo.full_name == "busybox"
    assert client.get("/v1/repositories/library/busybox/images", headers=TOKEN).status_code == 200


def test_private_repositories_are_hidden_from_others(client: TestClient, factory: Factory) -> None:
    alice = factory.user("alice")
    factory.user("bobby")
    factory.repo(alice, "secret", private=True)
    path = "/v1/repositories/alice/secret/images"
    bobby = basic("bobby", factory.password)
    # anonymous and a stranger alike: the answer a missing repository gets, so nothing tells it exists
    for auth in (None, bobby):
        hidden = client.get(path, headers=TOKEN, auth=auth)
        missing = client.get("/v1/repositories/alice/nothing/images", headers=TOKEN, auth=auth)
        assert (hidden.status_code, missing.status_code) == (404, 404)
        assert hidden.json().replace("secret", "nothing") == missing.json()
        assert "x-docker-token" not in hidden.headers
    finished = client.put(f"{path[: -len('/images')]}/images", json=[], auth=bobby)
    assert finished.status_code == 404
    assert client.get(path, headers=TOKEN, auth=basic("alice", factory.password)).status_code == 200


@pytest.mark.parametrize(
    "path",
    [
        "/v1/repositories/../etc/images",
        "/v1/repositories/alice/%2e%2e/images",
        "/v1/repositories/alice/web/x/images",
    ],
)
def test_path_tricks_in_repository_names_are_refused(client: TestClient, path: str) -> None:
    assert client.get(path, headers=TOKEN).status_code in (400, 404)


def test_search_ranks_exact_then_official_then_stars(client: TestClient, hub: Hub, factory: Factory) -> None:
    admin = factory.user("siteadmin", admin=True)
    alice = factory.user("alice")
    factory.repo(alice, "web")
    factory.repo(alice, "webapp")
    factory.repo(admin, "webserver", namespace="library")
    popular = factory.repo(alice, "website")
    factory.repo(alice, "webhidden", private=True)
    with hub.db.session() as s:
        repo = s.merge(popular)
        hub.social.star(s, factory.reload(s, admin), repo)
    names = [r["name"] for r in client.get("/v1/search", params={"q": "alice/web"}).json()["results"]]
    assert names[0] == "alice/web"
    found = client.get("/v1/search", params={"q": "web"}).json()
    names = [r["name"] for r in found["results"]]
    assert names[:3] == ["alice/web", "webserver", "alice/website"]  # exact name, official, stars
    assert "alice/webhidden" not in names
    assert found["results"][1]["is_official"] is True
    assert set(found) >= {"num_pages", "num_results", "results", "page_size", "query", "page"}
    own = client.get("/v1/search", params={"q": "web"}, auth=basic("alice", factory.password)).json()
    assert "alice/webhidden" in [r["name"] for r in own["results"]]


def test_search_paginates_and_validates_limits(client: TestClient, factory: Factory) -> None:
    alice = factory.user("alice")
    for i in range(7):
        factory.repo(alice, f"tool{i}")
    page = client.get("/v1/search", params={"q": "tool", "n": 3, "page": 3}).json()
    assert (page["num_results"], page["num_pages"], len(page["results"])) == (7, 3, 1)
    assert client.get("/v1/search", params={"q": "tool", "n": 101}).status_code == 400
    assert client.get("/v1/search", params={"q": "tool", "n": 0}).status_code == 400


def test_delete_flow_gives_a_delete_token_then_removes(
    client: TestClient, hub: Hub, factory: Factory
) -> None:
    alice = factory.user("alice")
    factory.user("bobby")
    factory.repo(alice, "web")
    assert (
        client.delete("/v1/repositories/alice/web/", auth=basic("bobby", factory.password)).status_code == 403
    )
    step1 = client.delete("/v1/repositories/alice/web/", headers=TOKEN, auth=basic("alice", factory.password))
    assert step1.status_code == 202
    token = step1.headers["x-docker-token"]
    assert TokenVerifier(hub.signer.public_key).verify(token).access == "delete"
    check = client.put("/v1/repositories/alice/web/auth", headers={"Authorization": f"Token {token}"})
    assert check.status_code == 200
    forged = token.replace("signature=", "signature=x")
    assert (
        client.put(
            "/v1/repositories/alice/web/auth", headers={"Authorization": f"Token {forged}"}
        ).status_code
        == 401
    )
    assert (
        client.delete("/v1/repositories/alice/web/", auth=basic("alice", factory.password)).status_code == 200
    )
    with hub.db.session() as s:
        assert hub.repos.find(s, "alice", "web") is None


def test_update_user_changes_email_and_password(client: TestClient, factory: Factory) -> None:
    factory.user("alice")
    auth = basic("alice", factory.password)
    response = client.put("/v1/users/alice/", content=json.dumps({"password": "brand-new-secret"}), auth=auth)
    assert response.status_code == 204
    assert client.get("/v1/users/", auth=basic("alice", "brand-new-secret")).status_code == 200
    assert (
        client.put(
            "/v1/users/bobby/", json={"password": "x"}, auth=basic("alice", "brand-new-secret")
        ).status_code
        == 401
    )


def test_login_rate_limit_answers_429_with_retry_after(client: TestClient, factory: Factory) -> None:
    factory.user("alice")
    for _ in range(5):
        assert client.get("/v1/users/", auth=basic("alice", "wrong-password-1")).status_code == 401
    limited = client.get("/v1/users/", auth=basic("alice", factory.password))
    assert limited.status_code == 429 and int(limited.headers["retry-after"]) > 0


class FakeRegistry:
    """The registry as the hub reads it back: ``latest`` names :data:`IMAGE`."""

    def tags(self, remote: str) -> dict[str, str]:
        return {"latest": IMAGE}

    def sizes(self, remote: str, image_ids: list[str]) -> dict[str, int]:
        return dict.fromkeys(image_ids, 1234)


def _finish_push(client: TestClient, factory: Factory) -> None:
    auth = basic("alice", factory.password)
    assert (
        client.put("/v1/repositories/alice/web/", json=[{"id": IMAGE}], headers=TOKEN, auth=auth).status_code
        == 200
    )
    done = client.put("/v1/repositories/alice/web/images", json=[{"id": IMAGE, "Tag": "latest"}], auth=auth)
    assert done.status_code == 204


def _state(hub: Hub) -> tuple[list[str], dict[str, tuple[str, int]]]:
    with hub.db.session() as s:
        jobs = [j.kind for j in s.scalars(select(Job).order_by(Job.id))]
        tags = {t.name: (t.image_id, t.size) for t in s.scalars(select(Tag))}
    return jobs, tags


def test_push_end_publishes_its_tags_in_the_same_request(
    client: TestClient, hub: Hub, factory: Factory, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(hub.index, "reader", FakeRegistry())
    factory.user("alice")
    _finish_push(client, factory)
    jobs, tags = _state(hub)
    assert tags == {"latest": (IMAGE, 1234)}  # no job to wait for: the tag is there at once
    assert "repository.pushed" not in jobs


def test_push_end_leaves_the_read_back_to_the_worker_when_the_registry_is_down(
    client: TestClient, hub: Hub, factory: Factory
) -> None:
    factory.user("alice")
    _finish_push(client, factory)  # the hub's registry is 127.0.0.1:9: refused
    jobs, tags = _state(hub)
    assert tags == {}
    assert jobs[-1] == "repository.pushed"
