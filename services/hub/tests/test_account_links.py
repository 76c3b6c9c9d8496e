"""Mailed links and the first admin's password: activation only by a POST from the page the
link opens (a mail scanner's GET changes nothing), reset links that die with any password
change, and ``initial-admin.json`` removed once that admin has signed in or changed it."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from wharf_hub.app import create_app
from wharf_hub.factories import Factory
from wharf_hub.hub import Hub
from wharf_hub.services.accounts import INITIAL_ADMIN
from wharf_hub.services.errors import InvalidName
from wharf_hub.web.csrf import FIELD
from wharf_hub.web.testing import Browser, mail_links


@pytest.fixture
def browser(hub: Hub) -> Iterator[Browser]:
    with TestClient(create_app(hub.settings, hub), base_url="http://hub.test") as client:
        yield Browser(client)


def active(hub: Hub, name: str) -> bool:
    with hub.db.session() as s:
        return hub.accounts.get(s, name).is_active


def test_opening_the_activation_link_does_not_activate(browser: Browser, hub: Hub) -> None:
    with hub.db.session() as s:
        hub.accounts.signup(s, "carol", "carol@example.test", "a-long-password-9")
    [link] = mail_links(hub.settings.outbox, "activate")
    for _ in range(2):  # a link preview, a mail scanner
        page = browser.get(link)
        assert page.status_code == 200 and 'method="post"' in page.text and "carol" in page.text
    assert not active(hub, "carol")
    forged = browser.client.post(link, data={FIELD: "forged"}, follow_redirects=False)
    assert forged.status_code == 403 and not active(hub, "carol")
    r = browser.submit(link, {})
    assert r.headers["location"] == "/login?notice=activated" and active(hub, "carol")


def test_reset_links_die_with_any_password_change(browser: Browser, hub: Hub, factory: Factory) -> None:
    """The attack: a reset link read from an old mail still works after the owner changed
    the password (or used another link)."""
    factory.user("alice")
    for _ in range(2):
        with hub.db.session() as s:
            hub.accounts.request_reset(s, "alice@example.test")
    first, second = (link.rsplit("/", 1)[1] for link in mail_links(hub.settings.outbox, "reset"))
    with hub.db.session() as s:
        hub.accounts.reset_password(s, first, "a-new-long-secret-1")
    with hub.db.session() as s, pytest.raises(InvalidName):
        hub.accounts.reset_password(s, second, "mallory-was-here-2")
    with hub.db.session() as s:
        hub.accounts.request_reset(s, "alice@example.test")
    third = mail_links(hub.settings.outbox, "reset")[-1].rsplit("/", 1)[1]
    with hub.db.session() as s:
        user = hub.accounts.get(s, "alice")
        hub.accounts.change_password(s, user, "a-new-long-secret-1", "changed-by-owner-3")
    r = browser.submit(f"/reset/{third}", {"password": "mallory-was-here-2"})
    assert r.status_code == 400
    with hub.db.session() as s:
        assert hub.accounts.authenticate(s, "alice", "changed-by-owner-3").username == "alice"


def write_record(hub: Hub, username: str) -> None:
    record = hub.settings.data_root / INITIAL_ADMIN
    record.write_text(json.dumps({"username": username, "password": Factory.password}))


def test_initial_admin_record_goes_after_that_admins_first_login(
    browser: Browser, hub: Hub, factory: Factory
) -> None:
    factory.user("siteadmin", admin=True)
    factory.user("other_admin", admin=True)
    write_record(hub, "siteadmin")
    record = hub.settings.data_root / INITIAL_ADMIN
    # a docker login (the seeding scripts) keeps it; another admin's login too
    assert browser.client.get("/v1/users/", auth=("siteadmin", factory.password)).status_code == 200
    browser.login("other_admin", factory.password)
    assert record.exists()
    browser.client.cookies.clear()
    browser.login("siteadmin", factory.password)
    assert not record.exists()


def test_initial_admin_record_goes_after_a_password_change(hub: Hub, factory: Factory) -> None:
    factory.user("siteadmin", admin=True)
    write_record(hub, "siteadmin")
    with hub.db.session() as s:
        hub.accounts.change_password(
            s, hub.accounts.get(s, "siteadmin"), factory.password, "brand-new-secret-4"
        )
    assert not (hub.settings.data_root / INITIAL_ADMIN).exists()
