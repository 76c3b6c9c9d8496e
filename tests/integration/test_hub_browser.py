"""The hub's web pages in a real browser: Debian's chromium, headless, driven by Playwright.

A real ``wharf-hub`` and a real ``wharf-registry`` in index mode (trusting the hub's key) run
on loopback. In chromium a new user signs up, opens the activation link the hub left in its
outbox, logs in, creates a repository and adds a webhook pointing at a receiver thread on
127.0.0.1. Then the repository gets a push: by a real engine whose default index is the hub
(as root), or, without root, by the same HTTP calls an engine makes (index ``PUT``, image
and tag into the registry with the hub's token, index ``PUT .../images``). The webhook page
is reloaded until the delivery shows up. No page needs JavaScript, and none is run.

Every process started here is stopped by pid and its root removed, whatever happened.
"""

from __future__ import annotations

import base64
import json
import os
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from engines import Engine
from hubstack import Stack, hub_stack
from playwright.sync_api import Browser, Page, expect, sync_playwright
from wharf_hub.web.testing import mail_links
from wharf_hub.webhooks.testing import Receiver
from wharf_registry.testing import (
    image_json,
    make_layer,
    payload_checksum,
    random_image_id,
)

pytestmark = [pytest.mark.slow]

CHROMIUM = Path("/usr/bin/chromium")
DEFAULT_KEY = "https://index.docker.io/v1/"
USER, EMAIL, PASSWORD = "dora", "dora@example.test", "browser-pass-42"
DELIVERY_WAIT = 60.0


@pytest.fixture(scope="module", autouse=True)
def stack() -> Iterator[Stack]:
    """Hub + registry in index mode; engines started in this module use the hub as their
    default index (autouse, so the variable is set before the ``engine`` fixture starts one)."""
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} is missing: apt-get install chromium")
    with hub_stack("wharf-browser-", env={"WHARF_HUB_WEBHOOKS__POLL_INTERVAL": "0.1"}) as built:
        yield built


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=["--no-sandbox"]
        )
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(java_script_enabled=False)  # every flow works without it
    tab = context.new_page()
    tab.set_default_timeout(15_000)
    try:
        yield tab
    finally:
        context.close()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with Receiver() as r:
        yield r


def push_with_engine(engine: Engine, repository: str) -> None:
    """``docker push dora/web`` as the engine API does it, with the user's credentials."""
    assert engine.docker("tag", "busybox", f"{repository}:latest").returncode == 0
    auth = {"username": USER, "password": PASSWORD, "serveraddress": DEFAULT_KEY}
    header = base64.urlsafe_b64encode(json.dumps(auth).encode()).decode()
    name = repository.replace("/", "%2F")
    status, body = engine.request(
        "POST", f"/images/{name}/push?tag=latest", headers={"X-Registry-Auth": header}
    )
    messages = [json.loads(line) for line in body.splitlines() if line.strip()]
    assert status == 200 and not [m for m in messages if "error" in m], messages


def push_by_http(stack: Stack, repository: str) -> None:
    """The calls an engine makes for a v1 push (protocols.md A.7), played by httpx."""
    image_id = random_image_id()
    auth = httpx.BasicAuth(USER, PASSWORD)
    with httpx.Client(base_url=stack.hub.url, auth=auth, timeout=30) as hub:
        r = hub.put(
            f"/v1/repositories/{repository}/", json=[{"id": image_id}], headers={"X-Docker-Token": "true"}
        )
        assert r.status_code == 200, r.text
        token = {"Authorization": f"Token {r.headers['x-docker-token']}"}
        raw, layer = image_json(image_id), make_layer({"hello": b"from the browser test\n"})
        with httpx.Client(base_url=stack.registry.url, headers=token, timeout=30) as registry:
            assert registry.put(f"/v1/images/{image_id}/json", content=raw).status_code == 200
            assert registry.put(f"/v1/images/{image_id}/layer", content=layer).status_code == 200
            checksum = {"X-Docker-Checksum-Payload": payload_checksum(raw, layer)}
            assert registry.put(f"/v1/images/{image_id}/checksum", headers=checksum).status_code == 200
            tagged = registry.put(f"/v1/repositories/{repository}/tags/latest", content=json.dumps(image_id))
            assert tagged.status_code == 200, tagged.text
        done = hub.put(f"/v1/repositories/{repository}/images", json=[{"id": image_id, "Tag": "latest"}])
        assert done.status_code == 204, done.text


def test_sign_up_create_repository_add_webhook_and_see_a_delivery(
    stack: Stack, page: Page, receiver: Receiver, request: pytest.FixtureRequest
) -> None:
    hub = stack.hub.url

    page.goto(f"{hub}/signup")
    page.fill("input[name=username]", USER)
    page.fill("input[name=email]", EMAIL)
    page.fill("input[name=password]", PASSWORD)
    page.get_by_role("button", name="Sign up").click()
    expect(page.locator("h1")).to_have_text("Check your mail")

    [link] = mail_links(stack.hub.outbox, "activate")
    page.goto(link)  # the link opens a page; only its button activates
    page.get_by_role("button", name="Activate my account").click()
    expect(page).to_have_url(f"{hub}/login?notice=activated")
    expect(page.get_by_role("status")).to_contain_text("Your account is active")

    page.fill("input[name=username]", USER)
    page.fill("input[name=password]", PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page.locator("h1")).to_have_text("Your repositories")

    page.get_by_role("link", name="Create repository").first.click()
    page.fill("input[name=name]", "web")
    page.fill("input[name=description]", "Pages <served> by dora")
    page.get_by_role("button", name="Create", exact=True).click()
    expect(page).to_have_url(f"{hub}/u/{USER}/web/?notice=created")
    expect(page.locator("#pull-command")).to_have_value(f"docker pull {USER}/web")
    expect(page.locator(".lead")).to_have_text("Pages <served> by dora")  # escaped, shown as typed

    page.get_by_role("link", name="Settings").click()
    page.get_by_role("link", name="Webhooks").click()
    page.fill("input[name=hook_name]", "ci")
    page.fill("input[name=url]", f"{receiver.url}/wharf")
    page.get_by_role("button", name="Add webhook").click()
    secret = page.locator(".secret-value").input_value()
    assert len(secret) >= 20
    expect(page.locator(".no-deliveries")).to_be_visible()
    hooks_page = page.url

    if os.geteuid() == 0:
        push_with_engine(request.getfixturevalue("engine"), f"{USER}/web")
    else:
        push_by_http(stack, f"{USER}/web")

    [received] = receiver.wait_for(1, timeout=DELIVERY_WAIT)
    assert received.path == "/wharf" and received.json()["push_data"]["pusher"] == USER
    deadline = time.monotonic() + DELIVERY_WAIT
    delivered = page.locator("tr.delivery.status-success")
    while delivered.count() == 0:
        assert time.monotonic() < deadline, "no delivery on the webhook page"
        time.sleep(0.3)
        page.goto(hooks_page)
    row = delivered.first
    expect(row.locator(".status")).to_have_text("success")
    expect(row.locator(".code")).to_have_text("200")
    expect(row).to_contain_text('{"ok": true}')

    page.goto(f"{hub}/u/{USER}/web/tags/")
    expect(page.locator(".tag-name")).to_have_text(["latest"])
