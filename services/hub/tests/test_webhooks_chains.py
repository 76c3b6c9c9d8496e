"""Callback chains (protocols.md B): the next webhook only after the previous receiver's
``success``; ``failure``/``error`` and a delivery that gives up stop the chain; callbacks are
validated and single-use."""

from __future__ import annotations

import socket
from collections.abc import Iterator

import pytest
from wharf_hub.db.models import Repository, User
from wharf_hub.factories import Factory
from wharf_hub.hub import Hub
from wharf_hub.webhooks.errors import InvalidCallback, NoSuchCallback
from wharf_hub.webhooks.testing import Received, Receiver

from services.hub.tests.webhook_helpers import (
    add_hook,
    callback_secret,
    chains,
    deliveries,
    push,
    run_jobs,
    validate,
)

pytest_plugins = ["services.hub.tests.webhook_fixtures"]


@pytest.fixture
def second() -> Iterator[Receiver]:
    with Receiver() as r:
        yield r


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_second_hook_is_called_only_after_first_callback_succeeds(
    hub: Hub, alice: User, web: Repository, receiver: Receiver, second: Receiver
) -> None:
    add_hook(hub, alice, web, "build", receiver.url)
    add_hook(hub, alice, web, "deploy", second.url)
    push(hub, web, alice)
    run_jobs(hub)
    [first] = receiver.wait_for(1)
    assert second.requests == []
    assert chains(hub)[0].state == "waiting"

    chain = validate(hub, first, description="387 tests PASSED", context="CI", target_url="http://ci/1")
    assert (chain.state, chain.position) == ("pending", 1)
    run_jobs(hub)
    [then] = second.wait_for(1)
    one, two = first.json(), then.json()
    assert one["push_data"] == two["push_data"] and one["repository"] == two["repository"]
    assert callback_secret(first) != callback_secret(then)

    chain = validate(hub, then)
    assert (chain.state, chain.description) == ("success", "")
    assert len(receiver.requests) == 1 and len(second.requests) == 1
    for used in (first, then):
        with pytest.raises(NoSuchCallback):
            validate(hub, used)


def test_failure_stops_the_chain(
    hub: Hub, alice: User, web: Repository, receiver: Receiver, second: Receiver
) -> None:
    add_hook(hub, alice, web, "build", receiver.url)
    add_hook(hub, alice, web, "deploy", second.url)
    push(hub, web, alice)
    run_jobs(hub)
    chain = validate(hub, receiver.wait_for(1)[0], "failure", description="3 tests failed")
    assert (chain.state, chain.description, chain.position) == ("failure", "3 tests failed", 0)
    run_jobs(hub)
    assert second.requests == []
    with pytest.raises(NoSuchCallback):
        validate(hub, receiver.requests[0])


def test_error_stops_the_chain(
    hub: Hub, alice: User, web: Repository, receiver: Receiver, second: Receiver
) -> None:
    add_hook(hub, alice, web, "build", receiver.url)
    add_hook(hub, alice, web, "deploy", second.url)
    push(hub, web, alice)
    run_jobs(hub)
    assert validate(hub, receiver.wait_for(1)[0], "error").state == "error"
    run_jobs(hub)
    assert second.requests == []


def test_single_hook_chain_completes_on_its_callback(
    hub: Hub, alice: User, web: Repository, receiver: Receiver
) -> None:
    add_hook(hub, alice, web, "ci", receiver.url)
    push(hub, web, alice)
    run_jobs(hub)
    assert validate(hub, receiver.wait_for(1)[0]).state == "success"
    assert [c.state for c in chains(hub)] == ["success"]


def test_each_pushed_tag_starts_its_own_chain(
    hub: Hub, alice: User, web: Repository, receiver: Receiver
) -> None:
    add_hook(hub, alice, web, "ci", receiver.url)
    push(hub, web, alice, "v1")
    push(hub, web, alice, "v2")
    run_jobs(hub)
    assert sorted(r.json()["push_data"]["tag"] for r in receiver.wait_for(2)) == ["v1", "v2"]
    assert [c.state for c in chains(hub)] == ["waiting", "waiting"]


def test_gave_up_delivery_ends_chain_before_next_hook(
    hub: Hub, alice: User, web: Repository, second: Receiver
) -> None:
    hub.settings.webhooks.max_attempts = 2
    add_hook(hub, alice, web, "build", f"http://127.0.0.1:{closed_port()}/")
    add_hook(hub, alice, web, "deploy", second.url)
    push(hub, web, alice)
    run_jobs(hub)
    assert [d.status for d in deliveries(hub)] == ["failed", "gave_up"]
    [chain] = chains(hub)
    assert chain.state == "error" and "build: gave up after 2 attempts" in chain.description
    assert second.requests == []


def test_callback_during_delivery_is_not_overwritten(
    hub: Hub, alice: User, web: Repository, receiver: Receiver
) -> None:
    """A receiver that validates before it answers: the chain ends in success, not waiting."""
    add_hook(hub, alice, web, "ci", receiver.url)
    answered: list[str] = []

    def call_back(request: Received) -> None:
        answered.append(validate(hub, request).state)

    receiver.on_request = call_back
    push(hub, web, alice)
    run_jobs(hub)
    assert answered == ["success"]
    assert [c.state for c in chains(hub)] == ["success"]
    assert [d.status for d in deliveries(hub)] == ["success"]


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (["success"], "must be a JSON object"),
        ("success", "must be a JSON object"),
        ({}, '"state" is required'),
        ({"state": "SUCCESS"}, "must be one of"),
        ({"state": "pending"}, "must be one of"),
        ({"state": None}, "must be one of"),
        ({"state": "success", "description": "d" * 256}, '"description" may have at most 255'),
        ({"state": "success", "context": "c" * 101}, '"context" may have at most 100'),
        ({"state": "success", "description": 5}, '"description" must be a string'),
        ({"state": "success", "target_url": ["x"]}, '"target_url" must be a string'),
    ],
)
def test_invalid_callback_bodies_are_refused_and_change_nothing(
    hub: Hub, alice: User, web: Repository, receiver: Receiver, body: object, message: str
) -> None:
    add_hook(hub, alice, web, "ci", receiver.url)
    push(hub, web, alice)
    run_jobs(hub)
    [got] = receiver.wait_for(1)
    with pytest.raises(InvalidCallback, match=message), hub.unit() as s:
        hub.webhooks.callback(s, callback_secret(got), body)
    assert chains(hub)[0].state == "waiting"
    limits = {"state": "success", "description": "d" * 255, "context": "c" * 100, "target_url": "http://ci/"}
    with hub.unit() as s:
        assert hub.webhooks.callback(s, callback_secret(got), limits).description == "d" * 255


def test_unknown_secret_or_other_repository_is_not_found(
    hub: Hub, factory: Factory, alice: User, web: Repository, receiver: Receiver
) -> None:
    add_hook(hub, alice, web, "ci", receiver.url)
    push(hub, web, alice)
    run_jobs(hub)
    secret = callback_secret(receiver.wait_for(1)[0])
    with pytest.raises(NoSuchCallback), hub.unit() as s:
        hub.webhooks.callback(s, "0" * 64, {"state": "success"})
    with pytest.raises(NoSuchCallback), hub.unit() as s:
        hub.webhooks.callback(s, secret, {"state": "success"}, namespace="alice", name="other")
    with hub.unit() as s:
        chain = hub.webhooks.callback(s, secret, {"state": "success"}, namespace="alice", name="web")
        assert chain.state == "success"
