"""Login throttling that an attacker cannot turn against the owner, forwarded addresses
from configured proxies only, and rate limits on sign-up and reset mails."""

from __future__ import annotations

from datetime import timedelta

import httpx
import pytest
from fastapi.testclient import TestClient
from starlette.requests import Request
from wharf_hub.api.deps import client_address
from wharf_hub.db.base import utcnow
from wharf_hub.db.models import LoginThrottle
from wharf_hub.factories import Factory
from wharf_hub.hub import Hub
from wharf_hub.services import throttle
from wharf_hub.services.errors import TooManyAttempts, WrongCredentials
from wharf_hub.web.testing import Browser, mail_links


def fail(hub: Hub, address: str, times: int, username: str = "alice") -> None:
    for _ in range(times):
        with hub.db.session() as s, pytest.raises((WrongCredentials, TooManyAttempts)):
            hub.accounts.authenticate(s, username, "wrong-password-1", address)


def test_an_attacker_elsewhere_does_not_lock_the_owner_out(hub: Hub, factory: Factory) -> None:
    """The attack: five wrong passwords from anywhere locked the account for everyone."""
    factory.user("alice")
    fail(hub, "203.0.113.9", 20)
    with hub.db.session() as s:
        assert hub.accounts.authenticate(s, "alice", factory.password, "198.51.100.7").username == "alice"


def test_failures_from_one_address_back_off_exponentially(hub: Hub, factory: Factory) -> None:
    factory.user("alice")
    limit = hub.settings.login_limit
    fail(hub, "203.0.113.9", limit.max_failures)
    waits = []
    for _ in range(3):
        with hub.db.session() as s, pytest.raises(TooManyAttempts) as caught:
            hub.accounts.authenticate(s, "alice", factory.password, "203.0.113.9")
        waits.append(caught.value.retry_after)
        hub.accounts.throttle.fail("alice", "203.0.113.9")  # one more failure after the wait
    assert waits[0] >= limit.backoff and waits[1] > waits[0] and waits[2] > waits[1]


def test_valid_tokens_keep_working_while_passwords_are_throttled(
    client: TestClient, hub: Hub, factory: Factory
) -> None:
    factory.user("alice")
    with hub.db.session() as s:
        secret = hub.accounts.create_token(s, hub.accounts.get(s, "alice"), "ci").secret
    for _ in range(hub.settings.login_limit.max_failures):
        assert client.get("/v1/users/", auth=httpx.BasicAuth("alice", "wrong-password-1")).status_code == 401
    assert client.get("/v1/users/", auth=httpx.BasicAuth("alice", factory.password)).status_code == 429
    assert client.get("/v1/users/", auth=httpx.BasicAuth("alice", secret)).status_code == 200


def request(peer: str, forwarded: str | None) -> Request:
    headers = [(b"x-forwarded-for", forwarded.encode())] if forwarded else []
    return Request({"type": "http", "method": "GET", "path": "/", "headers": headers, "client": (peer, 5000)})


def test_forwarded_addresses_count_only_from_configured_proxies(hub: Hub) -> None:
    """The attack: any client on loopback (or anywhere) sends ``X-Forwarded-For`` with a new
    address per try, and each try starts a fresh count."""
    assert client_address(hub, request("127.0.0.1", "203.0.113.5")) == "127.0.0.1"
    assert client_address(hub, request("192.0.2.1", "203.0.113.5")) == "192.0.2.1"
    hub.settings.trusted_proxies = ["10.0.0.0/8"]
    assert client_address(hub, request("127.0.0.1", "203.0.113.5")) == "127.0.0.1"
    assert client_address(hub, request("10.1.2.3", "203.0.113.5")) == "203.0.113.5"
    # the client may write anything left of what the proxy added: only the nearest hop counts
    assert client_address(hub, request("10.1.2.3", "1.2.3.4, 203.0.113.5, 10.9.9.9")) == "203.0.113.5"


def test_reset_mails_are_limited_per_address_and_per_source(
    client: TestClient, hub: Hub, factory: Factory
) -> None:
    factory.user("alice")
    limit = hub.settings.mail_limit
    for _ in range(limit.per_address + 2):
        with hub.db.session() as s:
            hub.accounts.request_reset(s, "alice@example.test", "198.51.100.1")  # silent when over
    assert len(mail_links(hub.settings.outbox, "reset")) == limit.per_address
    for i in range(limit.per_source):
        factory.user(f"user{i:02d}")
        with hub.db.session() as s:
            hub.accounts.request_reset(s, f"user{i:02d}@example.test", "198.51.100.2")
    with hub.db.session() as s, pytest.raises(TooManyAttempts):
        hub.accounts.request_reset(s, "alice@example.test", "198.51.100.2")


def test_sign_up_mails_are_limited_per_source(client: TestClient, hub: Hub) -> None:
    for i in range(hub.settings.mail_limit.per_source):
        body = {"username": f"newbie{i:02d}", "email": f"n{i}@example.test", "password": "a-long-password-9"}
        assert client.post("/api/v1/users", json=body).status_code == 201
    body = {"username": "newbie_x", "email": "nx@example.test", "password": "a-long-password-9"}
    over = client.post("/api/v1/users", json=body)
    assert over.status_code == 429 and int(over.headers["retry-after"]) > 0
    with TestClient(client.app, base_url="http://hub.test") as web:
        page = Browser(web).submit("/signup", body)
    assert page.status_code == 429 and int(page.headers["retry-after"]) > 0
    with hub.db.session() as s:
        assert hub.accounts.find(s, "newbie_x") is None


def test_long_quiet_counts_are_pruned(hub: Hub, factory: Factory, monkeypatch: pytest.MonkeyPatch) -> None:
    """Failures for made-up names from many addresses do not pile up for ever."""
    fail(hub, "203.0.113.1", 1, username="nobody_1")
    with hub.db.session() as s:
        row = s.get(LoginThrottle, hub.accounts.throttle.key("nobody_1", "203.0.113.1"))
        assert row is not None
        row.last_failure_at = utcnow() - timedelta(days=2)
    monkeypatch.setattr(throttle, "PRUNE_EVERY", 1)
    fail(hub, "203.0.113.2", 1, username="nobody_2")
    with hub.db.session() as s:
        assert s.get(LoginThrottle, hub.accounts.throttle.key("nobody_1", "203.0.113.1")) is None
        assert s.get(LoginThrottle, hub.accounts.throttle.key("nobody_2", "203.0.113.2")) is not None
