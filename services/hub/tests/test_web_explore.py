"""Finding things in the browser: the landing page, the dashboard with recent activity,
search with pages, user profiles with repositories and stars."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from wharf_hub.app import create_app
from wharf_hub.factories import Factory
from wharf_hub.hub import Hub
from wharf_hub.web.testing import Browser


@pytest.fixture
def browser(hub: Hub) -> Iterator[Browser]:
    with TestClient(create_app(hub.settings, hub), base_url="http://hub.test") as client:
        yield Browser(client)


def test_landing_page_offers_search_and_lists_public_repositories(browser: Browser, factory: Factory) -> None:
    alice = factory.user("alice")
    factory.repo(alice, "web")
    factory.repo(alice, "hidden", private=True)
    page = browser.get("/").text
    assert 'action="/search"' in page and 'href="/signup"' in page
    assert 'href="/u/alice/web/"' in page and "hidden" not in page


def test_dashboard_lists_own_and_shared_repositories_and_activity(browser: Browser, factory: Factory) -> None:
    alice, bobby = factory.user("alice"), factory.user("bobby")
    factory.repo(alice, "web")
    shared = factory.repo(bobby, "tools", private=True)
    with factory.hub.db.session() as s:
        owner = Factory.reload(s, bobby)
        hub = factory.hub
        hub.repos.add_collaborator(s, owner, hub.repos.get(s, owner, "bobby", shared.name), "alice")
    browser.login("alice", factory.password)
    page = browser.get("/").text
    assert "Your repositories" in page
    assert 'href="/u/alice/web/"' in page and 'href="/u/bobby/tools/"' in page
    activity = re.sub(r"\s+", " ", page.split("Recent activity", 1)[1])
    assert 'you created <a href="/u/alice/web/">alice/web</a>' in activity
    assert 'bobby changed the collaborators of <a href="/u/bobby/tools/">bobby/tools</a>' in activity
    assert "added alice" in activity and "just now" in activity


def test_search_pages_through_results(browser: Browser, factory: Factory) -> None:
    alice = factory.user("alice")
    for i in range(27):
        factory.repo(alice, f"app{i:02d}")
    first = browser.get("/search?q=app").text
    assert "27 repositories" in first and "Page 1 of 2" in first
    assert first.count('class="name"') == 25 and 'href="/search?q=app&amp;page=2"' in first
    second = browser.get("/search?q=app&page=2").text
    assert second.count('class="name"') == 2 and 'rel="prev"' in second and 'rel="next"' not in second
    assert "No repository matches." in browser.get("/search?q=nothing-like-this").text
    assert browser.get("/search?q=app&page=x").status_code == 400


def test_profile_shows_visible_repositories_and_stars(browser: Browser, factory: Factory, hub: Hub) -> None:
    alice, bobby = factory.user("alice"), factory.user("bobby")
    factory.repo(alice, "web")
    factory.repo(alice, "secret", private=True)
    liked = factory.repo(bobby, "tools")
    with hub.db.session() as s:
        hub.social.star(s, Factory.reload(s, alice), hub.repos.get(s, None, "bobby", liked.name))
    page = browser.get("/u/alice/").text
    repos, starred = page.split("<h2>Starred</h2>")
    assert 'href="/u/alice/web/"' in repos and "secret" not in page
    assert 'href="/u/bobby/tools/"' in starred and "★ 1" in starred
    browser.login("alice", factory.password)
    assert 'href="/u/alice/secret/"' in browser.get("/u/alice/").text
    r = browser.get("/u/nobody_here/")
    assert r.status_code == 404 and "No such user: nobody_here" in r.text
    assert browser.get("/no/such/page").status_code == 404
