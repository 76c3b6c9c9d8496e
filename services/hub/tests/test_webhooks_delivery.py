"""Deliveries by the worker to a real HTTP receiver on 127.0.0.1: headers and signature,
retries with backoff, giving up, timeouts, redirects, the policy again at delivery time."""

from __future__ import annotations

import itertools
import socket
import threading
import time

import pytest
from sqlalchemy import select
from wharf_hub.db.models import Job, Repository, User
from wharf_hub.factories import Factory
from wharf_hub.hub import Hub
from wharf_hub.settings import Settings
from wharf_hub.webhooks.signing import verify
from wharf_hub.webhooks.testing import HANG, Receiver, Reply

from services.hub.tests.webhook_helpers import (
    IMAGES,
    add_hook,
    chains,
    deliveries,
    push,
    reload_repo,
    run_jobs,
)

pytest_plugins = ["services.hub.tests.webhook_fixtures"]

TIMEOUT = 1.0
BACKOFF = 0.05


@pytest.fixture
def hub_settings(hub_settings: Settings) -> Settings:
    hooks = hub_settings.webhooks.model_copy(
        update={"timeout": TIMEOUT, "max_attempts": 3, "backoff": BACKOFF}
    )
    return hub_settings.model_copy(update={"webhooks": hooks})


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_push_delivers_signed_docker_hub_payload(
    hub: Hub, alice: User, web: Repository, receiver: Receiver
) -> None:
    hook = add_hook(hub, alice, web, "ci", receiver.url + "/hook?x=1")
    push(hub, web, alice, "v1")
    run_jobs(hub)
    [got] = receiver.wait_for(1)
    assert (got.method, got.path) == ("POST", "/hook?x=1")
    assert got.headers["content-type"] == "application/json"
    assert got.headers["user-agent"] == "wharf-hub-webhooks/0.1"
    assert got.headers["x-wharf-event"] == "push"
    assert len(got.headers["x-wharf-delivery"]) == 32
    assert verify(hook.secret, got.body, got.headers["x-wharf-signature-256"])
    payload = got.json()
    assert payload["push_data"]["tag"] == "v1"
    assert payload["push_data"]["pusher"] == "alice"
    assert payload["push_data"]["images"] == IMAGES
    assert isinstance(payload["push_data"]["pushed_at"], float)
    assert payload["repository"]["repo_name"] == "alice/web"
    assert payload["repository"]["repo_url"] == "http://hub.test/u/alice/web/"
    assert payload["callback_url"].startswith("http://hub.test/u/alice/web/hook/")
    [delivery] = deliveries(hub)
    assert (delivery.status, delivery.response_code, delivery.attempt) == ("success", 200, 1)
    assert delivery.body_excerpt == '{"ok": true}'
    assert delivery.duration_ms >= 0 and delivery.error == ""
    assert delivery.request_body is not None
    assert delivery.request_body["callback_url"] == "http://hub.test/u/alice/web/hook/<secret>/"
    assert delivery.request_body["push_data"] == payload["push_data"]
    assert [c.state for c in chains(hub)] == ["waiting"]


def test_push_without_webhooks_starts_nothing(hub: Hub, alice: User, web: Repository) -> None:
    push(hub, web, alice)
    assert chains(hub) == []
    with hub.db.session() as s:
        assert s.scalars(select(Job)).all() == []


def test_failed_attempts_are_retried_with_doubling_backoff(
    hub: Hub, alice: User, web: Repository, receiver: Receiver
) -> None:
    hook = add_hook(hub, alice, web, "ci", receiver.url)
    receiver.reply(500, Reply(503, body=b"busy"))
    push(hub, web, alice)
    run_jobs(hub, until=lambda: len(deliveries(hub)) == 3)
    attempts = deliveries(hub, hook.id)
    assert [(d.attempt, d.status, d.response_code) for d in attempts] == [
        (1, "failed", 500),
        (2, "failed", 503),
        (3, "success", 200),
    ]
    assert attempts[1].error == "HTTP 503" and attempts[1].body_excerpt == "busy"
    gaps = [(b.created_at - a.created_at).total_seconds() for a, b in itertools.pairwise(attempts)]
    assert gaps[0] >= BACKOFF and gaps[1] >= 2 * BACKOFF
    ids = {r.headers["x-wharf-delivery"] for r in receiver.wait_for(3)}
    assert len(ids) == 1  # a retry is the same delivery: receivers can drop duplicates
    assert [c.state for c in chains(hub)] == ["waiting"]


def test_gives_up_after_max_attempts_and_ends_chain(
    hub: Hub, alice: User, web: Repository, receiver: Receiver
) -> None:
    receiver.default = Reply(500, body=b"x" * 5000)
    add_hook(hub, alice, web, "ci", receiver.url)
    push(hub, web, alice)
    run_jobs(hub)
    assert [(d.attempt, d.status) for d in deliveries(hub)] == [(1, "failed"), (2, "failed"), (3, "gave_up")]
    assert all(len(d.body_excerpt) == 1024 for d in deliveries(hub))
    [chain] = chains(hub)
    assert chain.state == "error"
    assert "gave up after 3 attempts" in chain.description
    assert len(receiver.requests) == 3


def test_hanging_receiver_times_out_and_is_retried(
    hub: Hub, alice: User, web: Repository, receiver: Receiver
) -> None:
    add_hook(hub, alice, web, "ci", receiver.url)
    receiver.reply(HANG)
    push(hub, web, alice)
    run_jobs(hub, until=lambda: len(deliveries(hub)) == 2)
    first, second = deliveries(hub)
    assert (first.status, first.response_code) == ("failed", None)
    assert first.error == f"timed out after {TIMEOUT:g} s"
    assert first.duration_ms >= TIMEOUT * 1000 * 0.9
    assert second.status == "success"


def test_delivery_holds_no_write_lock_while_receiver_hangs(
    hub: Hub, factory: Factory, alice: User, web: Repository, receiver: Receiver
) -> None:
    add_hook(hub, alice, web, "ci", receiver.url)
    receiver.reply(HANG)
    push(hub, web, alice)
    worker = threading.Thread(target=hub.worker.run_once)
    worker.start()
    try:
        receiver.wait_for(1)
        started = time.monotonic()
        factory.repo(alice, "other")  # a request's write, while the attempt hangs
        assert time.monotonic() - started < TIMEOUT / 2
    finally:
        worker.join()


def test_redirects_are_not_followed(hub: Hub, alice: User, web: Repository, receiver: Receiver) -> None:
    with Receiver() as elsewhere:
        receiver.default = Reply(307, headers={"Location": elsewhere.url + "/stolen"})
        add_hook(hub, alice, web, "ci", receiver.url)
        push(hub, web, alice)
        run_jobs(hub)
        assert [(d.status, d.response_code) for d in deliveries(hub)] == [
            ("failed", 307),
            ("failed", 307),
            ("gave_up", 307),
        ]
        assert elsewhere.requests == []


def test_connection_refused_is_a_failed_attempt(hub: Hub, alice: User, web: Repository) -> None:
    add_hook(hub, alice, web, "ci", f"http://127.0.0.1:{closed_port()}/")
    push(hub, web, alice)
    run_jobs(hub)
    attempts = deliveries(hub)
    assert [d.status for d in attempts] == ["failed", "failed", "gave_up"]
    assert all(d.error.startswith("ConnectError") for d in attempts)


def test_connects_to_the_checked_address_with_the_name_as_host(
    hub: Hub, alice: User, web: Repository, receiver: Receiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    asked: list[str] = []

    def resolve(host: str, _port: int) -> list[str]:
        asked.append(host)
        return ["127.0.0.1"]

    monkeypatch.setattr(hub.webhooks.policy, "resolver", resolve)
    add_hook(hub, alice, web, "ci", f"http://hooks.example.test:{receiver.port}/in")
    push(hub, web, alice)
    run_jobs(hub)
    [got] = receiver.wait_for(1)
    assert got.headers["host"] == f"hooks.example.test:{receiver.port}"
    assert asked == ["hooks.example.test", "hooks.example.test"]  # when added, before the attempt


def test_address_refused_at_delivery_time_is_not_called(
    hub: Hub, alice: User, web: Repository, receiver: Receiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    answers = iter([["127.0.0.1"], ["10.0.0.7"]])  # the name moves to a private address (rebinding)
    monkeypatch.setattr(hub.webhooks.policy, "resolver", lambda _host, _port: next(answers))
    add_hook(hub, alice, web, "ci", f"http://hooks.example.test:{receiver.port}/")
    push(hub, web, alice)
    run_jobs(hub)
    [refused] = deliveries(hub)
    assert (refused.status, refused.response_code) == ("refused", None)
    assert "10.0.0.7 is a private address" in refused.error
    assert receiver.requests == []
    [chain] = chains(hub)
    assert chain.state == "error" and "10.0.0.7" in chain.description


def test_unresolvable_name_at_delivery_time_is_retried(
    hub: Hub, alice: User, web: Repository, receiver: Receiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    answers = iter([["127.0.0.1"], [], ["127.0.0.1"]])
    monkeypatch.setattr(hub.webhooks.policy, "resolver", lambda _host, _port: next(answers))
    add_hook(hub, alice, web, "ci", f"http://hooks.example.test:{receiver.port}/")
    push(hub, web, alice)
    run_jobs(hub, until=lambda: len(deliveries(hub)) == 2)
    first, second = deliveries(hub)
    assert (first.status, first.error) == ("failed", "Cannot resolve the host hooks.example.test")
    assert second.status == "success"


def test_test_delivery_sends_a_sample_once(
    hub: Hub, alice: User, web: Repository, receiver: Receiver
) -> None:
    hook = add_hook(hub, alice, web, "ci", receiver.url)
    receiver.default = Reply(500)
    with hub.unit() as s:
        hub.webhooks.test(s, Factory.reload(s, alice), reload_repo(s, web), hook.id)
    run_jobs(hub)
    [got] = receiver.wait_for(1)
    assert verify(hook.secret, got.body, got.headers["x-wharf-signature-256"])
    assert got.json()["push_data"]["pusher"] == "alice"
    [delivery] = deliveries(hub)
    assert (delivery.status, delivery.chain_id, delivery.response_code) == ("failed", None, 500)
    assert chains(hub) == []


def test_removed_webhook_ends_its_chain(hub: Hub, alice: User, web: Repository, receiver: Receiver) -> None:
    hook = add_hook(hub, alice, web, "ci", receiver.url)
    push(hub, web, alice)
    with hub.unit() as s:
        hub.webhooks.remove(s, Factory.reload(s, alice), reload_repo(s, web), hook.id)
    run_jobs(hub)
    assert receiver.requests == []
    [chain] = chains(hub)
    assert (chain.state, chain.description) == ("error", "The webhook was removed")
