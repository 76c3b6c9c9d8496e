"""Webhooks in the browser: add (secret shown once), the policy's refusals, each hook's
delivery history (time, attempt, status, code, duration, excerpt), a test delivery to a
receiver on loopback, remove."""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from fastapi.testclient import TestClient
from wharf_hub.app import create_app
from wharf_hub.db.models import Delivery
from wharf_hub.factories import Factory
from wharf_hub.hub import Hub
from wharf_hub.web.testing import Browser


class Receiver(BaseHTTPRequestHandler):
    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("content-length", "0")))
        body = b"received <b>ok</b>"
        self.send_response(202)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def receiver() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), Receiver)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/hook"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


@pytest.fixture
def alice(hub: Hub, factory: Factory) -> Iterator[Browser]:
    factory.repo(factory.user("alice"), "web")
    with TestClient(create_app(hub.settings, hub), base_url="http://hub.test") as client:
        browser = Browser(client)
        browser.login("alice", factory.password)
        yield browser


HOOKS = "/u/alice/web/settings/webhooks/"


def test_add_shows_the_secret_once_and_lists_the_hook(alice: Browser, hub: Hub) -> None:
    r = alice.submit(HOOKS, {"hook_name": "ci", "url": "http://127.0.0.1:9/ci"})
    assert r.status_code == 201
    [secret] = re.findall(r'class="secret-value" readonly value="([^"]+)"', r.text)
    page = alice.get(HOOKS).text
    assert "<h2>ci</h2>" in page and "http://127.0.0.1:9/ci" in page and secret not in page
    assert "No deliveries yet" in page
    r = alice.submit(HOOKS, {"hook_name": "ci", "url": "http://127.0.0.1:9/other"})
    assert r.status_code == 409 and "already exists" in r.text


@pytest.mark.parametrize("url", ["http://10.1.2.3/hook", "ftp://127.0.0.1/x", "not a url"])
def test_refused_targets_show_the_reason(alice: Browser, url: str) -> None:
    r = alice.submit(HOOKS, {"hook_name": "bad", "url": url})
    assert r.status_code == 400 and 'class="error"' in r.text
    assert f'value="{url}"' in r.text  # the form keeps what was typed


def test_delivery_history_shows_every_attempt(alice: Browser, hub: Hub) -> None:
    alice.submit(HOOKS, {"hook_name": "ci", "url": "http://127.0.0.1:9/ci"})
    with hub.db.session() as s:
        repo = hub.repos.find(s, "alice", "web")
        assert repo is not None
        [hook] = hub.webhooks.list(s, hub.accounts.get(s, "alice"), repo)
        s.add(
            Delivery(
                webhook_id=hook.id,
                attempt=1,
                status="failed",
                response_code=500,
                duration_ms=12,
                body_excerpt="<script>boom</script>",
                error="HTTP 500",
            )
        )
        s.add(
            Delivery(
                webhook_id=hook.id,
                attempt=2,
                status="success",
                response_code=200,
                duration_ms=7,
                body_excerpt="thanks",
            )
        )
        hook_id = hook.id
    page = alice.get(HOOKS).text
    rows = re.findall(r'<tr class="delivery status-(\w+)">(.*?)</tr>', page, re.S)
    assert [status for status, _ in rows] == ["success", "failed"]  # newest first
    success, failed = (re.sub(r"\s+", " ", row) for _, row in rows)
    assert "<td>2</td>" in success and '<td class="code">200</td>' in success and "7 ms" in success
    assert "thanks" in success and "just now" in success
    assert '<td class="code">500</td>' in failed and "&lt;script&gt;boom&lt;/script&gt;" in failed
    assert "HTTP 500" in failed and "<script>boom" not in page
    history = alice.get(f"{HOOKS}{hook_id}/")
    assert history.status_code == 200 and history.text.count('<tr class="delivery') == 2
    assert alice.get(f"{HOOKS}999999/").status_code == 404


def test_test_delivery_reaches_the_receiver_and_shows_up(alice: Browser, hub: Hub, receiver: str) -> None:
    alice.submit(HOOKS, {"hook_name": "ci", "url": receiver})
    [hook_id] = re.findall(r'webhooks/(\d+)/test"', alice.get(HOOKS).text)
    r = alice.submit(HOOKS, {}, action=f"{HOOKS}{hook_id}/test")
    assert r.headers["location"] == f"{HOOKS}?notice=webhook_test"
    hub.worker.drain(timeout=20)
    page = alice.get(HOOKS).text
    [row] = re.findall(r'<tr class="delivery status-success">(.*?)</tr>', page, re.S)
    assert '<td class="code">202</td>' in row and "received &lt;b&gt;ok&lt;/b&gt;" in row


def test_remove_deletes_the_hook(alice: Browser) -> None:
    alice.submit(HOOKS, {"hook_name": "ci", "url": "http://127.0.0.1:9/ci"})
    [hook_id] = re.findall(r'webhooks/(\d+)/delete"', alice.get(HOOKS).text)
    r = alice.submit(HOOKS, {}, action=f"{HOOKS}{hook_id}/delete")
    assert r.headers["location"] == f"{HOOKS}?notice=webhook_removed"
    page = alice.get(r.headers["location"]).text
    assert "Webhook removed." in page and "No webhooks yet." in page
    assert alice.submit(HOOKS, {}, action=f"{HOOKS}{hook_id}/delete").status_code == 404
