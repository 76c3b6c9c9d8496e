"""Webhooks through a real hub: a v1 push fires them from the hub's worker thread.

A real ``wharf-hub`` and a real ``wharf-registry`` in index mode (trusting the hub's key) run
on loopback. A push is played as an engine plays it, by HTTP: the index ``PUT
/v1/repositories/<name>/`` for a write token, the image and its tag into the registry with
that token, then ``PUT .../images`` on the hub; the worker then reads the tags back from the
registry and starts the webhook chains. Receivers are HTTP servers on 127.0.0.1 (the hub is
started with ``WHARF_HUB_WEBHOOKS__ALLOW=["127.0.0.0/8"]`` and a backoff of 0.2 s). Every
process started here is stopped by pid and its root removed, whatever happened.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
from hubstack import Stack, hub_stack
from wharf_hub.webhooks.signing import verify
from wharf_hub.webhooks.testing import HANG, Received, Receiver, Reply
from wharf_registry.testing import (
    image_json,
    make_layer,
    payload_checksum,
    random_image_id,
)

PASSWORD = "correct-horse-battery"
ALICE = httpx.BasicAuth("alice", PASSWORD)
TIMEOUT = 1.0
MAX_ATTEMPTS = 3


@pytest.fixture(scope="module")
def stack() -> Iterator[Stack]:
    env = {
        "WHARF_HUB_WEBHOOKS__TIMEOUT": str(TIMEOUT),
        "WHARF_HUB_WEBHOOKS__MAX_ATTEMPTS": str(MAX_ATTEMPTS),
        "WHARF_HUB_WEBHOOKS__POLL_INTERVAL": "0.05",
    }
    with hub_stack("wharf-hookstack-", {"alice": PASSWORD}, env) as built:
        yield built


@pytest.fixture
def hub(stack: Stack) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=stack.hub.url, timeout=30) as client:
        yield client


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with Receiver() as r:
        yield r


def wait_until(check: Callable[[], bool], timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.05)
    raise AssertionError("condition not met in time")


def add_hook(hub: httpx.Client, repo: str, name: str, url: str) -> dict[str, Any]:
    if hub.get(f"/api/v1/repositories/alice/{repo}", auth=ALICE).status_code == 404:
        created = hub.post("/api/v1/repositories", json={"namespace": "alice", "name": repo}, auth=ALICE)
        assert created.status_code == 201, created.text
    r = hub.post(f"/api/v1/repositories/alice/{repo}/webhooks", json={"name": name, "url": url}, auth=ALICE)
    assert r.status_code == 201, r.text
    hook: dict[str, Any] = r.json()
    return hook


def push(stack: Stack, hub: httpx.Client, repo: str, tag: str = "latest") -> tuple[str, float]:
    """An engine's v1 push (protocols.md A.7) by hand; the image id and how long the final
    ``PUT .../images`` (the one that fires the webhooks) took."""
    image_id = random_image_id()
    r = hub.put(
        f"/v1/repositories/alice/{repo}/",
        json=[{"id": image_id}],
        auth=ALICE,
        headers={"X-Docker-Token": "true"},
    )
    assert r.status_code == 200, r.text
    token = {"Authorization": f"Token {r.headers['x-docker-token']}"}
    raw, layer = image_json(image_id), make_layer({"hello": repo.encode()})
    with httpx.Client(base_url=stack.registry.url, headers=token, timeout=30) as registry:
        assert registry.put(f"/v1/images/{image_id}/json", content=raw).status_code == 200
        assert registry.put(f"/v1/images/{image_id}/layer", content=layer).status_code == 200
        checksum = {"X-Docker-Checksum-Payload": payload_checksum(raw, layer)}
        assert registry.put(f"/v1/images/{image_id}/checksum", headers=checksum).status_code == 200
        tagged = registry.put(f"/v1/repositories/alice/{repo}/tags/{tag}", content=json.dumps(image_id))
        assert tagged.status_code == 200, tagged.text
    started = time.monotonic()
    done = hub.put(f"/v1/repositories/alice/{repo}/images", json=[{"id": image_id, "Tag": tag}], auth=ALICE)
    assert done.status_code == 204, done.text
    return image_id, time.monotonic() - started


def history(hub: httpx.Client, repo: str, hook_id: int) -> list[dict[str, Any]]:
    r = hub.get(f"/api/v1/repositories/alice/{repo}/webhooks/{hook_id}/deliveries", auth=ALICE)
    assert r.status_code == 200, r.text
    found: list[dict[str, Any]] = r.json()
    return found


def test_push_delivers_signed_payload(stack: Stack, hub: httpx.Client, receiver: Receiver) -> None:
    hook = add_hook(hub, "web", "ci", receiver.url + "/docker")
    image_id, _ = push(stack, hub, "web", "v1")
    [got] = receiver.wait_for(1, timeout=20)
    assert got.path == "/docker"
    assert verify(hook["secret"], got.body, got.headers["x-wharf-signature-256"])
    assert (got.headers["x-wharf-event"], got.headers["user-agent"]) == ("push", "wharf-hub-webhooks/0.1")
    payload = got.json()
    assert payload["callback_url"].startswith(f"{stack.hub.url}/u/alice/web/hook/")
    push_data = payload["push_data"]
    assert (push_data["tag"], push_data["pusher"]) == ("v1", "alice")
    assert image_id in push_data["images"]
    assert isinstance(push_data["pushed_at"], float) and abs(push_data["pushed_at"] - time.time()) < 60
    repository = payload["repository"]
    assert (repository["repo_name"], repository["namespace"], repository["name"]) == (
        "alice/web",
        "alice",
        "web",
    )
    assert repository["repo_url"] == f"{stack.hub.url}/u/alice/web/"
    assert (repository["status"], repository["comment_count"], repository["is_private"]) == (
        "Active",
        0,
        False,
    )
    wait_until(lambda: [d["status"] for d in history(hub, "web", hook["id"])] == ["success"])


def test_chain_moves_on_after_callback_over_http(stack: Stack, hub: httpx.Client, receiver: Receiver) -> None:
    answers: list[int] = []

    def call_back(request: Received) -> None:
        url = request.json()["callback_url"]
        body = {"state": "success", "description": "387 tests PASSED", "context": "Acme CI"}
        answers.append(httpx.post(url, json=body, timeout=10).status_code)

    receiver.on_request = call_back
    with Receiver() as deploy:
        add_hook(hub, "chained", "build", receiver.url)
        add_hook(hub, "chained", "deploy", deploy.url)
        push(stack, hub, "chained")
        [first] = receiver.wait_for(1, timeout=20)
        [second] = deploy.wait_for(1, timeout=20)
    assert answers == [200]
    assert first.json()["push_data"] == second.json()["push_data"]

    def chains() -> list[tuple[str, int, str]]:
        found = hub.get("/api/v1/repositories/alice/chained/webhooks/chains", auth=ALICE).json()
        return [(c["state"], c["position"], c["description"]) for c in found]

    wait_until(lambda: chains() == [("waiting", 1, "387 tests PASSED")])


def test_failing_receiver_is_retried_then_given_up(
    stack: Stack, hub: httpx.Client, receiver: Receiver
) -> None:
    receiver.default = Reply(500, body=b"boom")
    hook = add_hook(hub, "failing", "ci", receiver.url)
    push(stack, hub, "failing")
    wait_until(lambda: len(history(hub, "failing", hook["id"])) == MAX_ATTEMPTS)
    attempts = history(hub, "failing", hook["id"])
    assert [(d["attempt"], d["status"], d["response_code"], d["body_excerpt"]) for d in attempts] == [
        (3, "gave_up", 500, "boom"),
        (2, "failed", 500, "boom"),
        (1, "failed", 500, "boom"),
    ]
    assert len(receiver.requests) == MAX_ATTEMPTS
    assert len({r.headers["x-wharf-delivery"] for r in receiver.requests}) == 1
    chains = hub.get("/api/v1/repositories/alice/failing/webhooks/chains", auth=ALICE).json()
    assert chains[0]["state"] == "error" and "gave up after 3 attempts" in chains[0]["description"]


def test_hanging_receiver_times_out_and_push_stays_fast(
    stack: Stack, hub: httpx.Client, receiver: Receiver
) -> None:
    receiver.reply(HANG)
    hook = add_hook(hub, "slow", "ci", receiver.url)
    _, took = push(stack, hub, "slow")
    assert took < TIMEOUT / 2
    receiver.wait_for(1, timeout=20)
    _, again = push(stack, hub, "slow", "v2")  # while the worker waits on the hanging receiver
    assert again < TIMEOUT / 2
    wait_until(lambda: sum(d["status"] == "success" for d in history(hub, "slow", hook["id"])) == 2)
    [first] = [d for d in history(hub, "slow", hook["id"]) if d["status"] == "failed"]
    assert first["attempt"] == 1
    assert first["error"] == f"timed out after {TIMEOUT:g} s"
    assert first["duration_ms"] >= TIMEOUT * 1000 * 0.9


def test_refused_address_is_a_clear_400(hub: httpx.Client) -> None:
    add_hook(hub, "web", "ok", "http://127.0.0.1:9/")
    r = hub.post(
        "/api/v1/repositories/alice/web/webhooks", json={"name": "x", "url": "http://10.1.2.3/"}, auth=ALICE
    )
    assert r.status_code == 400
    assert r.json()["detail"] == "Webhooks may not call this address: 10.1.2.3 is a private address"


def test_a_hanging_receiver_does_not_hold_other_deliveries(stack: Stack, hub: httpx.Client) -> None:
    with Receiver() as hanging, Receiver() as quick:
        hanging.reply(HANG)
        slow_hook = add_hook(hub, "stuck", "ci", hanging.url)
        add_hook(hub, "lively", "ci", quick.url)
        push(stack, hub, "stuck")
        hanging.wait_for(1, timeout=20)  # one worker thread now waits up to TIMEOUT on it
        push(stack, hub, "lively")
        quick.wait_for(1, timeout=20)
        # the other hook was called while the first attempt was still hanging (nothing recorded yet)
        assert history(hub, "stuck", slow_hook["id"]) == []
