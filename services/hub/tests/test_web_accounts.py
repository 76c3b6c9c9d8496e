"""Accounts in the browser (no JavaScript): sign-up → activation link from the outbox →
login, the same message for an unknown user and a wrong password, the rate limit, logout,
password reset and change, access tokens shown once, account deletion."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from wharf_hub.app import create_app
from wharf_hub.factories import Factory
from wharf_hub.hub import Hub
from wharf_hub.web.sessions import SESSION_COOKIE
from wharf_hub.web.testing import Browser, mail_links

NEW_PASSWORD = "another-long-secret"


@pytest.fixture
def browser(hub: Hub) -> Iterator[Browser]:
    with TestClient(create_app(hub.settings, hub), base_url="http://hub.test") as client:
        yield Browser(client)


def alert(html: str) -> str:
    found = re.search(r'<p class="error" role="alert">([^<]*)</p>', html)
    return found.group(1) if found else ""


def test_signup_then_activation_link_then_login_shows_the_dashboard(browser: Browser, hub: Hub) -> None:
    r = browser.submit(
        "/signup", {"username": "carol", "email": "carol@example.test", "password": "a-long-password-9"}
    )
    assert r.status_code == 200 and "Check your mail" in r.text and "carol@example.test" in r.text
    [link] = mail_links(hub.settings.outbox, "activate")
    assert link.startswith("http://hub.test/activate/")
    r = browser.submit(link, {})
    assert (r.status_code, r.headers["location"]) == (303, "/login?notice=activated")
    assert "Your account is active" in browser.get(r.headers["location"]).text
    r = browser.login("carol", "a-long-password-9")
    assert r.headers["location"] == "/"
    cookie = r.headers["set-cookie"]
    assert cookie.startswith(f"{SESSION_COOKIE}=") and "HttpOnly" in cookie and "SameSite=lax" in cookie
    assert "Secure" not in cookie
    page = browser.get("/").text
    assert "Your repositories" in page and 'href="/u/carol/"' in page
    assert browser.client.get(link).status_code == 400  # the link works once


def test_login_before_activation_says_so(browser: Browser, factory: Factory) -> None:
    factory.user("carol", active=False)
    r = browser.submit("/login", {"username": "carol", "password": factory.password})
    assert r.status_code == 403 and "not Active" in alert(r.text)


def test_signup_errors_show_the_form_again_with_the_entered_values(
    browser: Browser, factory: Factory
) -> None:
    factory.user("alice")
    r = browser.submit(
        "/signup", {"username": "alice", "email": "new@example.test", "password": "long-pass-99"}
    )
    assert r.status_code == 409 and alert(r.text) == "Username or email already exists"
    assert 'value="new@example.test"' in r.text
    r = browser.submit("/signup", {"username": "bob_2", "email": "bob@example.test", "password": "short"})
    assert r.status_code == 400 and "too short" in alert(r.text)


def test_wrong_password_and_unknown_user_get_the_same_message(browser: Browser, factory: Factory) -> None:
    factory.user("alice")
    wrong = browser.submit("/login", {"username": "alice", "password": "not-the-password"})
    unknown = browser.submit("/login", {"username": "nobody", "password": "not-the-password"})
    assert wrong.status_code == unknown.status_code == 400
    assert alert(wrong.text) == alert(unknown.text) == "Wrong login/password, please try again"
    assert SESSION_COOKIE not in browser.client.cookies


def test_repeated_failures_show_the_rate_limit_message(browser: Browser, factory: Factory, hub: Hub) -> None:
    factory.user("alice")
    for _ in range(hub.settings.login_limit.max_failures):
        assert browser.submit("/login", {"username": "alice", "password": "wrong-guess-1"}).status_code == 400
    r = browser.submit("/login", {"username": "alice", "password": factory.password})
    assert r.status_code == 429 and int(r.headers["retry-after"]) > 0
    assert alert(r.text) == "Too many failed login attempts; try again later"


def test_login_goes_back_to_a_local_next_page_only(browser: Browser, factory: Factory) -> None:
    factory.user("alice")
    assert (
        browser.client.get("/account", follow_redirects=False).headers["location"] == "/login?next=/account"
    )
    fields = {"username": "alice", "password": factory.password}
    assert browser.submit("/login", {**fields, "next": "/account"}).headers["location"] == "/account"
    browser.submit("/", {}, action="/logout")
    for evil in ("//evil.test/x", "https://evil.test/", "/\\evil.test"):
        assert browser.submit("/login", {**fields, "next": evil}).headers["location"] == "/"
        browser.submit("/", {}, action="/logout")


def test_logout_ends_the_session_on_the_server(browser: Browser, factory: Factory, hub: Hub) -> None:
    factory.user("alice")
    browser.login("alice", factory.password)
    stolen = browser.client.cookies[SESSION_COOKIE]
    r = browser.submit("/account", {}, action="/logout")
    assert r.status_code == 303 and f'{SESSION_COOKIE}=""' in r.headers["set-cookie"]
    assert SESSION_COOKIE not in browser.client.cookies
    with TestClient(create_app(hub.settings, hub), cookies={SESSION_COOKIE: stolen}) as replay:
        r = replay.get("/account", follow_redirects=False)
    assert (r.status_code, r.headers["location"]) == (303, "/login?next=/account")


def test_password_reset_by_mail_sets_a_new_password_once(browser: Browser, factory: Factory) -> None:
    factory.user("alice")
    r = browser.submit("/reset", {"email": "ALICE@example.test"})
    assert r.status_code == 200 and "If an account uses that address" in r.text
    unknown = browser.submit("/reset", {"email": "nobody@example.test"})
    assert "If an account uses that address" in unknown.text  # no hint whether the address exists
    [link] = mail_links(factory.hub.settings.outbox, "reset")
    path = link.removeprefix("http://hub.test")
    r = browser.submit(path, {"password": "short"})
    assert r.status_code == 400 and "too short" in alert(r.text)
    r = browser.submit(path, {"password": NEW_PASSWORD})
    assert (r.status_code, r.headers["location"]) == (303, "/login?notice=password_reset")
    assert browser.submit("/login", {"username": "alice", "password": factory.password}).status_code == 400
    browser.login("alice", NEW_PASSWORD)
    r = browser.submit(path, {"password": "yet-another-secret"})
    assert r.status_code == 400 and "invalid or has expired" in alert(r.text)


def test_password_change_keeps_this_browser_signed_in_and_others_out(
    browser: Browser, factory: Factory, hub: Hub
) -> None:
    factory.user("alice")
    browser.login("alice", factory.password)
    with TestClient(create_app(hub.settings, hub)) as other_client:
        other = Browser(other_client)
        other.login("alice", factory.password)
        r = browser.submit(
            "/account",
            {"old_password": "wrong-one-1", "new_password": NEW_PASSWORD},
            action="/account/password",
        )
        assert r.status_code == 400 and alert(r.text) == "Wrong login/password, please try again"
        r = browser.submit(
            "/account",
            {"old_password": factory.password, "new_password": NEW_PASSWORD},
            action="/account/password",
        )
        assert r.headers["location"] == "/account?notice=password_changed"
        assert browser.get("/account").status_code == 200
        assert other.client.get("/account", follow_redirects=False).status_code == 303
    browser.submit("/", {}, action="/logout")
    browser.login("alice", NEW_PASSWORD)


def test_access_token_secret_is_shown_once_and_works(browser: Browser, factory: Factory) -> None:
    factory.user("alice")
    browser.login("alice", factory.password)
    r = browser.submit("/account", {"name": "build-box"}, action="/account/tokens")
    assert r.status_code == 201
    [secret] = re.findall(r'class="secret-value" readonly value="(wharf_pat_[\w-]+)"', r.text)
    page = browser.get("/account").text
    assert "build-box" in page and secret[:14] in page and secret not in page
    me = browser.client.get("/api/v1/user", headers={"Authorization": f"Bearer {secret}"})
    assert me.status_code == 200 and me.json()["username"] == "alice"
    [token_id] = re.findall(r'action="/account/tokens/(\d+)/delete"', page)
    r = browser.submit("/account", {}, action=f"/account/tokens/{token_id}/delete")
    assert r.headers["location"] == "/account?notice=token_deleted"
    assert "build-box" not in browser.get("/account").text
    assert (
        browser.client.get("/api/v1/user", headers={"Authorization": f"Bearer {secret}"}).status_code == 401
    )


def test_account_deletion_needs_the_password(browser: Browser, factory: Factory, hub: Hub) -> None:
    alice = factory.user("alice")
    factory.repo(alice, "web")
    browser.login("alice", factory.password)
    r = browser.submit("/account", {"password": "wrong-one-1"}, action="/account/delete")
    assert r.status_code == 400 and alert(r.text) == "Wrong login/password, please try again"
    r = browser.submit("/account", {"password": factory.password}, action="/account/delete")
    assert r.headers["location"] == "/?notice=account_deleted"
    with hub.db.session() as s:
        assert hub.accounts.find(s, "alice") is None and hub.repos.find(s, "alice", "web") is None
    assert browser.get("/u/alice/").status_code == 404
