"""What protects the pages: a CSRF token on every form post (checked for every POST route
the web areas declare), escaping of user text everywhere, markdown without raw HTML,
cookie flags and security headers."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from fastapi import FastAPI
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from wharf_hub import web
from wharf_hub.app import build_hub, create_app
from wharf_hub.factories import Factory
from wharf_hub.hub import Hub
from wharf_hub.settings import Settings
from wharf_hub.web.csrf import COOKIE, FIELD
from wharf_hub.web.sessions import SESSION_COOKIE
from wharf_hub.web.testing import Browser, csrf_token

XSS = "<script>alert(1)</script>"
ESCAPED = "&lt;script&gt;alert(1)&lt;/script&gt;"
CSRF_MESSAGE = "This form has expired or was not sent from this site"
PATH_VALUES = {
    "namespace": "alice",
    "name": "web",
    "token": "some-token",
    "token_id": "1",
    "webhook_id": "1",
    "build_id": "1",
}


@pytest.fixture
def app(hub: Hub) -> FastAPI:
    return create_app(hub.settings, hub)


@pytest.fixture
def alice(app: FastAPI, factory: Factory) -> Iterator[Browser]:
    factory.user("alice")
    with TestClient(app, base_url="http://hub.test") as client:
        browser = Browser(client)
        browser.login("alice", factory.password)
        yield browser


def form_posts(hub: Hub) -> list[str]:
    """Every POST route of every web area, with its path parameters filled in."""
    pages = web.pages(hub)
    paths = []
    for area in web.AREAS:
        for route in area.router(hub, pages).routes:
            assert isinstance(route, APIRoute)
            if "POST" in (route.methods or set()):
                paths.append(re.sub(r"\{(\w+)\}", lambda m: PATH_VALUES[m.group(1)], route.path))
    return paths


def test_every_form_post_without_a_valid_token_is_403(app: FastAPI, alice: Browser, hub: Hub) -> None:
    alice.submit("/new", {"namespace": "alice", "name": "web", "description": "kept"})
    with TestClient(app) as other_client:  # a valid token, but of another browser
        foreign = csrf_token(other_client.get("/login").text)
    posts = form_posts(hub)
    assert len(posts) >= 19 and "/logout" in posts and "/u/alice/web/settings/delete" in posts
    fields = {"description": "changed", "password": "x" * 12, "confirm": "web", "username": "alice"}
    for path in posts:
        for token in (None, "", "0" * 64, foreign):
            data = fields if token is None else {**fields, FIELD: token}
            r = alice.client.post(path, data=data, follow_redirects=False)
            assert r.status_code == 403, (path, token, r.status_code)
            assert CSRF_MESSAGE in r.text
    with hub.db.session() as s:
        repo = hub.repos.find(s, "alice", "web")
        assert repo is not None and repo.description == "kept"
    assert alice.get("/account").status_code == 200  # still logged in: /logout was refused too


def test_json_and_cookieless_posts_are_refused(app: FastAPI, factory: Factory) -> None:
    factory.user("alice")
    with TestClient(app) as client:
        token = csrf_token(client.get("/login").text)
        fields = {"username": "alice", "password": factory.password, FIELD: token}
        r = client.post("/login", json=fields, follow_redirects=False)
        assert r.status_code == 403
        client.cookies.clear()
        assert client.post("/login", data=fields, follow_redirects=False).status_code == 403


def test_token_changes_with_the_session(app: FastAPI, factory: Factory) -> None:
    """A token from before the login (bound to the pre-session cookie) is no good after it."""
    factory.user("alice")
    with TestClient(app) as client:
        before = csrf_token(client.get("/login").text)
        assert COOKIE in client.cookies
        browser = Browser(client)
        browser.login("alice", factory.password)
        assert client.post("/logout", data={FIELD: before}, follow_redirects=False).status_code == 403
        after = csrf_token(client.get("/").text)
        assert after != before
        assert client.post("/logout", data={FIELD: after}, follow_redirects=False).status_code == 303


def test_user_text_is_escaped_everywhere(alice: Browser, factory: Factory, hub: Hub) -> None:
    alice.submit("/new", {"namespace": "alice", "name": "web", "description": XSS})
    r = alice.submit(
        "/u/alice/web/settings/", {"description": XSS, "full_description": XSS, "visibility": "public"}
    )
    assert r.status_code == 303
    pages = ["/u/alice/web/", "/u/alice/", "/search?q=alert", "/", "/u/alice/web/settings/"]
    for path in pages:
        html = alice.get(path).text
        assert XSS not in html and ESCAPED in html, path
    r = alice.submit("/account", {"name": XSS}, action="/account/tokens")
    assert XSS not in r.text and ESCAPED in r.text
    r = alice.submit("/u/alice/web/settings/webhooks/", {"hook_name": XSS, "url": "http://127.0.0.1:9/"})
    assert r.status_code == 201 and XSS not in r.text and ESCAPED in r.text
    r = alice.submit("/u/alice/web/settings/collaborators/", {"username": XSS})
    assert r.status_code == 400 and XSS not in r.text and "No such user: " + ESCAPED in r.text
    html = alice.get(f"/search?q={XSS}").text
    assert XSS not in html and ESCAPED in html
    html = alice.get(f"/u/{XSS}/").text
    assert XSS not in html
    attribute = '"><script>alert(1)</script>'
    r = alice.submit("/signup", {"username": "new_user", "email": attribute, "password": "long-pass-99"})
    assert r.status_code == 400 and attribute not in r.text and 'value="&#34;&gt;&lt;script&gt;' in r.text


def test_full_description_markdown_has_no_raw_html_and_no_script_links(alice: Browser) -> None:
    alice.submit("/new", {"namespace": "alice", "name": "web"})
    text = (
        "## Run\n\n<img src=x onerror=alert(1)>\n\n"
        "[bad](javascript:alert(1)) [data](data:text/html,x) [ok](https://example.com/docs) "
        "[mail](mailto:ops@example.com)\n\n```\n<b>code</b>\n```\n"
    )
    alice.submit("/u/alice/web/settings/", {"full_description": text, "visibility": "public"})
    page = alice.get("/u/alice/web/").text
    [article] = re.findall(r'<article class="description">(.*?)</article>', page, re.S)
    assert "<h2>Run</h2>" in article
    assert "<img" not in article and "&lt;img src=x onerror=alert(1)&gt;" in article
    assert 'href="javascript:' not in article and 'href="data:' not in article
    assert "[bad](javascript:alert(1))" in article  # left as text
    assert '<a href="https://example.com/docs" rel="nofollow ugc noopener">ok</a>' in article
    assert 'href="mailto:ops@example.com"' in article
    assert "<code>&lt;b&gt;code&lt;/b&gt;\n</code>" in article


def test_pages_send_security_headers(alice: Browser) -> None:
    r = alice.get("/account")
    csp = r.headers["content-security-policy"]
    assert "script-src 'none'" in csp and "frame-ancestors 'none'" in csp and "form-action 'self'" in csp
    assert r.headers["x-frame-options"] == "DENY" and r.headers["cache-control"] == "no-store"
    assert r.headers["x-content-type-options"] == "nosniff"
    css = alice.get("/static/hub.css")
    assert css.status_code == 200 and css.headers["content-type"].startswith("text/css")
    assert "<script" not in alice.get("/").text  # no page needs JavaScript


def test_cookies_are_secure_when_configured(hub_settings: Settings, factory: Factory) -> None:
    factory.user("alice")
    secure = build_hub(hub_settings.model_copy(update={"secure_cookies": True}))
    try:
        with TestClient(create_app(secure.settings, secure), base_url="https://hub.test") as client:
            first = client.get("/login")
            assert "Secure" in first.headers["set-cookie"] and "HttpOnly" in first.headers["set-cookie"]
            r = Browser(client).login("alice", factory.password)
            cookie = r.headers["set-cookie"]
            assert cookie.startswith(SESSION_COOKIE) and "Secure" in cookie and "SameSite=lax" in cookie
    finally:
        secure.db.dispose()


def _cookie_flags(header: str) -> set[str]:
    return {part.strip().split("=")[0].lower() for part in header.split(";")[1:]}


@pytest.mark.parametrize("public_url", ["https://hub.example", "http://hub.test"])
def test_cookies_are_secure_by_default_when_the_public_url_is_https(
    hub_settings: Settings, factory: Factory, public_url: str
) -> None:
    """Both cookies (pre-session CSRF, then the session) and the sign-out's expiry."""
    factory.user("alice")
    built = build_hub(hub_settings.model_copy(update={"public_url": public_url}))
    secure = public_url.startswith("https")
    try:
        with TestClient(create_app(built.settings, built), base_url=public_url) as client:
            first = client.get("/login").headers["set-cookie"]
            assert first.startswith(COOKIE)
            login = Browser(client).login("alice", factory.password).headers["set-cookie"]
            assert login.startswith(SESSION_COOKIE)
            for header in (first, login):
                flags = _cookie_flags(header)
                assert {"httponly", "samesite"} <= flags and "samesite=lax" in header.lower()
                assert ("secure" in flags) is secure, header
    finally:
        built.db.dispose()
