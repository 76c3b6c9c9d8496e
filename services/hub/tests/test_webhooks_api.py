"""The webhook endpoints through the real app: ``/api/v1/.../webhooks`` (owner only, problem
JSON errors) and the callback URL receivers POST to."""

from __future__ import annotations

import httpx
import pytest
from fastapi.testclient import TestClient
from wharf_hub.db.models import Repository, User
from wharf_hub.factories import PASSWORD, Factory
from wharf_hub.hub import Hub
from wharf_hub.webhooks.testing import Receiver

from services.hub.tests.webhook_helpers import callback_secret, chains, push, reload_repo, run_jobs

pytest_plugins = ["services.hub.tests.webhook_fixtures"]

HOOKS = "/api/v1/repositories/alice/web/webhooks"
ALICE = httpx.BasicAuth("alice", PASSWORD)


def add(client: TestClient, name: str, url: str) -> httpx.Response:
    response: httpx.Response = client.post(HOOKS, json={"name": name, "url": url}, auth=ALICE)
    return response


def test_add_shows_secret_once_and_list_keeps_order(
    client: TestClient, web: Repository, receiver: Receiver
) -> None:
    first = add(client, "build", receiver.url + "/build")
    assert first.status_code == 201, first.text
    created = first.json()
    assert set(created) == {"id", "name", "url", "position", "active", "date_created", "secret"}
    assert len(created["secret"]) == 64
    assert add(client, "deploy", receiver.url + "/deploy").json()["position"] == created["position"] + 1
    listed = client.get(HOOKS, auth=ALICE)
    assert listed.status_code == 200
    assert [h["name"] for h in listed.json()] == ["build", "deploy"]
    assert all("secret" not in h for h in listed.json())


def test_bearer_token_works_too(client: TestClient, hub: Hub, alice: User, web: Repository) -> None:
    with hub.unit() as s:
        token = hub.accounts.create_token(s, Factory.reload(s, alice), "ci").secret
    r = client.get(HOOKS, headers={"Authorization": f"Bearer {token}"})
    assert (r.status_code, r.json()) == (200, [])


@pytest.mark.parametrize(
    ("url", "detail"),
    [
        ("http://10.0.0.1/hook", "10.0.0.1 is a private address"),
        ("http://[::1]/hook", "::1 is a loopback address"),
        ("ftp://example.com/", "Only http:// and https://"),
        ("http://user:pw@127.0.0.1/", "credentials"),
    ],
)
def test_refused_targets_are_400_problems(client: TestClient, web: Repository, url: str, detail: str) -> None:
    r = add(client, "ci", url)
    assert r.status_code == 400
    assert r.headers["content-type"] == "application/problem+json"
    assert detail in r.json()["detail"]


def test_bad_body_and_duplicate_name(client: TestClient, web: Repository, receiver: Receiver) -> None:
    assert client.post(HOOKS, json={"name": "ci"}, auth=ALICE).status_code == 400
    assert client.post(HOOKS, json={"name": "ci", "url": 5}, auth=ALICE).status_code == 400
    assert add(client, " ", receiver.url).status_code == 400
    assert add(client, "ci", receiver.url).status_code == 201
    conflict = add(client, "ci", receiver.url)
    assert conflict.status_code == 409 and "already exists" in conflict.json()["detail"]


def test_only_the_owner_manages_webhooks(
    client: TestClient, hub: Hub, factory: Factory, alice: User, web: Repository
) -> None:
    bob = factory.user("bobby")
    with hub.unit() as s:
        hub.repos.add_collaborator(s, Factory.reload(s, alice), reload_repo(s, web), "bobby")
    hidden = factory.repo(alice, "secret", private=True)
    bob_auth = httpx.BasicAuth(bob.username, PASSWORD)
    assert client.get(HOOKS).status_code == 401
    assert client.get(HOOKS, auth=bob_auth).status_code == 403  # a collaborator may push, not manage
    assert (
        client.post(HOOKS, json={"name": "x", "url": "http://127.0.0.1/"}, auth=bob_auth).status_code == 403
    )
    other = client.get(
        f"/api/v1/repositories/alice/{hidden.name}/webhooks", auth=httpx.BasicAuth("carol", "x")
    )
    assert other.status_code == 401
    carol = httpx.BasicAuth(factory.user("carol").username, PASSWORD)
    assert client.get(f"/api/v1/repositories/alice/{hidden.name}/webhooks", auth=carol).status_code == 404


def test_delete_and_history(
    client: TestClient, hub: Hub, alice: User, web: Repository, receiver: Receiver
) -> None:
    hook_id = add(client, "ci", receiver.url).json()["id"]
    receiver.reply(500)
    push(hub, web, alice)
    run_jobs(hub, until=lambda: len(receiver.requests) == 2)
    history = client.get(f"{HOOKS}/{hook_id}/deliveries", auth=ALICE)
    assert history.status_code == 200
    assert [(d["attempt"], d["status"], d["response_code"]) for d in history.json()] == [
        (2, "success", 200),
        (1, "failed", 500),
    ]
    assert len(client.get(f"{HOOKS}/{hook_id}/deliveries?limit=1", auth=ALICE).json()) == 1
    recent = client.get(f"{HOOKS}/chains", auth=ALICE).json()
    assert [c["state"] for c in recent] == ["waiting"]
    assert recent[0]["payload"]["callback_url"] == ""
    assert client.delete(f"{HOOKS}/{hook_id}", auth=ALICE).status_code == 204
    assert client.get(f"{HOOKS}/{hook_id}/deliveries", auth=ALICE).status_code == 404
    assert client.delete(f"{HOOKS}/{hook_id}", auth=ALICE).status_code == 404


def test_test_endpoint_queues_a_delivery(
    client: TestClient, hub: Hub, web: Repository, receiver: Receiver
) -> None:
    hook_id = add(client, "ci", receiver.url).json()["id"]
    assert client.post(f"{HOOKS}/{hook_id}/test", auth=ALICE).status_code == 202
    run_jobs(hub)
    assert receiver.wait_for(1)[0].json()["push_data"]["tag"] == "latest"


def test_callback_url_over_http(
    client: TestClient, hub: Hub, alice: User, web: Repository, receiver: Receiver
) -> None:
    add(client, "ci", receiver.url)
    push(hub, web, alice)
    run_jobs(hub)
    [got] = receiver.wait_for(1)
    path = "/u/alice/web/hook/" + callback_secret(got) + "/"
    assert got.json()["callback_url"] == "http://hub.test" + path

    bad_json = client.post(path, content=b"{nope", headers={"Content-Type": "application/json"})
    assert bad_json.status_code == 400
    assert bad_json.headers["content-type"] == "application/problem+json"
    assert bad_json.json()["detail"] == "The callback body is not valid JSON"
    bad_state = client.post(path, json={"state": "done"})
    assert bad_state.status_code == 400 and "must be one of" in bad_state.json()["detail"]
    assert client.post("/u/alice/web/hook/" + "0" * 64 + "/", json={"state": "success"}).status_code == 404
    assert client.post(path.replace("/web/", "/other/"), json={"state": "success"}).status_code == 404

    ok = client.post(path, json={"state": "success", "description": "387 tests PASSED", "context": "CI"})
    assert (ok.status_code, ok.json()) == (200, {"state": "success", "description": "387 tests PASSED"})
    used = client.post(path, json={"state": "success"})
    assert used.status_code == 404 and used.json()["detail"] == "No such callback: unknown or already used"
    assert [c.state for c in chains(hub)] == ["success"]
