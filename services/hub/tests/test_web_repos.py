"""Repositories in the browser: create → settings → collaborators → star; who sees what
(private repositories are 404 to others, settings 403 to collaborators); official images
under ``/_/``; the tags tab; deleting."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import timedelta

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from wharf_hub.app import create_app
from wharf_hub.db.base import utcnow
from wharf_hub.db.models import Tag
from wharf_hub.factories import Factory
from wharf_hub.hub import Hub
from wharf_hub.web.testing import Browser

SETTINGS_PAGES = ("settings/", "settings/collaborators/", "settings/webhooks/")


@pytest.fixture
def app(hub: Hub) -> FastAPI:
    return create_app(hub.settings, hub)


@pytest.fixture
def browsers(app: FastAPI, factory: Factory) -> Iterator[dict[str, Browser]]:
    """alice, bobby and carol, each logged in from their own browser, and an anonymous one."""
    clients = {
        name: TestClient(app, base_url="http://hub.test") for name in ("alice", "bobby", "carol", "anon")
    }
    found = {name: Browser(client) for name, client in clients.items()}
    for name in ("alice", "bobby", "carol"):
        factory.user(name)
        found[name].login(name, factory.password)
    yield found
    for client in clients.values():
        client.close()


def alert(html: str) -> str:
    found = re.search(r'<p class="error" role="alert">([^<]*)</p>', html)
    return found.group(1) if found else ""


def test_create_settings_collaborators_and_star(browsers: dict[str, Browser], hub: Hub) -> None:
    alice, bob, carol = browsers["alice"], browsers["bobby"], browsers["carol"]
    page = alice.get("/new").text
    assert '<option value="alice" selected>alice</option>' in page
    r = alice.submit("/new", {"namespace": "alice", "name": "web", "description": "A web server"})
    assert (r.status_code, r.headers["location"]) == (303, "/u/alice/web/?notice=created")
    page = alice.get(r.headers["location"]).text
    assert "Repository created" in page and "A web server" in page
    assert 'value="docker pull alice/web"' in page and 'href="/u/alice/web/settings/"' in page

    r = alice.submit(
        "/u/alice/web/settings/",
        {
            "description": "Serves pages",
            "full_description": "# Usage\n\nRun **it**.",
            "visibility": "private",
            "unlisted": "true",
        },
    )
    assert r.headers["location"] == "/u/alice/web/settings/?notice=saved"
    settings = alice.get("/u/alice/web/settings/").text
    assert 'value="private" checked' in settings and 'name="unlisted" value="true" checked' in settings
    page = alice.get("/u/alice/web/").text
    assert "<h1>Usage</h1>" in page and "<strong>it</strong>" in page and "private</span>" in page
    assert carol.get("/u/alice/web/").status_code == 404

    r = alice.submit("/u/alice/web/settings/collaborators/", {"username": "bobby"})
    assert r.headers["location"] == "/u/alice/web/settings/collaborators/?notice=collaborator_added"
    assert 'href="/u/bobby/">bobby</a>' in alice.get("/u/alice/web/settings/collaborators/").text
    r = alice.submit("/u/alice/web/settings/collaborators/", {"username": "bobby"})
    assert r.status_code == 409 and alert(r.text) == "bobby is already a collaborator"
    r = alice.submit("/u/alice/web/settings/collaborators/", {"username": "nobody"})
    assert r.status_code == 400 and alert(r.text) == "No such user: nobody"

    page = bob.get("/u/alice/web/").text
    assert "Serves pages" in page and "/settings/" not in page
    assert '<span class="star-count">0</span>' in page
    r = bob.submit("/u/alice/web/", {}, action="/u/alice/web/star")
    assert r.headers["location"] == "/u/alice/web/"
    page = bob.get("/u/alice/web/").text
    assert '<span class="star-count">1</span>' in page and ">Unstar</button>" in page
    assert "alice/web" in bob.get("/u/bobby/").text  # starred, on bob's profile
    bob.submit("/u/alice/web/", {}, action="/u/alice/web/unstar")
    assert '<span class="star-count">0</span>' in bob.get("/u/alice/web/").text

    r = alice.submit(
        "/u/alice/web/settings/collaborators/",
        {"username": "bobby"},
        action="/u/alice/web/settings/collaborators/remove",
    )
    assert r.headers["location"].endswith("?notice=collaborator_removed")
    assert bob.get("/u/alice/web/").status_code == 404
    with hub.db.session() as s:
        repo = hub.repos.find(s, "alice", "web")
        assert (
            repo is not None and repo.is_private and repo.is_unlisted and repo.description == "Serves pages"
        )


def test_private_repository_is_404_to_others_everywhere(
    browsers: dict[str, Browser], factory: Factory
) -> None:
    with factory.hub.db.session() as s:
        owner = factory.hub.accounts.get(s, "alice")
    factory.repo(owner, "secret", private=True)
    for who in ("carol", "anon"):
        b = browsers[who]
        for path in ("", "tags/", *SETTINGS_PAGES):
            r = b.client.get(f"/u/alice/secret/{path}", follow_redirects=False)
            expected = 303 if who == "anon" and path.startswith("settings") else 404
            assert r.status_code == expected, (who, path)
        assert "secret" not in b.get("/u/alice/").text
        assert "alice/secret" not in b.get("/search?q=secret").text
    r = browsers["carol"].submit("/u/carol/", {}, action="/u/alice/secret/star")
    assert r.status_code == 404 and "No such repository: alice/secret" in r.text
    assert "alice/secret" in browsers["alice"].get("/u/alice/").text


def test_collaborator_sees_the_repository_but_gets_403_on_settings(
    browsers: dict[str, Browser], factory: Factory, hub: Hub
) -> None:
    with hub.db.session() as s:
        owner = hub.accounts.get(s, "alice")
    repo = factory.repo(owner, "shared", private=True)
    with hub.db.session() as s:
        hub.repos.add_collaborator(
            s, Factory.reload(s, owner), hub.repos.get(s, owner, "alice", repo.name), "bobby"
        )
    bob = browsers["bobby"]
    assert bob.get("/u/alice/shared/").status_code == 200
    assert "alice/shared" in bob.get("/").text  # on bob's dashboard
    for path in SETTINGS_PAGES:
        r = bob.get(f"/u/alice/shared/{path}")
        assert r.status_code == 403 and "Only the owner" in r.text
    token_page = "/u/alice/shared/"  # a page bob may open, for a valid CSRF token
    posts = {
        "settings/": {"description": "hijacked", "visibility": "public"},
        "settings/delete": {"confirm": "shared"},
        "settings/collaborators/": {"username": "carol"},
        "settings/webhooks/": {"hook_name": "x", "url": "http://127.0.0.1:1/"},
    }
    for path, fields in posts.items():
        r = bob.submit(token_page, fields, action=f"/u/alice/shared/{path}")
        assert r.status_code == 403, path
    with hub.db.session() as s:
        found = hub.repos.find(s, "alice", "shared")
        assert found is not None and found.description == "" and found.is_private


def test_official_images_live_under_underscore(
    browsers: dict[str, Browser], factory: Factory, hub: Hub
) -> None:
    admin = factory.user("root_admin", admin=True)
    repo = factory.repo(admin, "busybox", namespace="library")
    with hub.db.session() as s:
        pushed = utcnow() - timedelta(hours=3)
        s.add(Tag(repository_id=repo.id, name="latest", image_id="a" * 64, size=2_345_678, pushed_at=pushed))
    anon = browsers["anon"]
    r = anon.client.get("/u/library/busybox/", follow_redirects=False)
    assert (r.status_code, r.headers["location"]) == (301, "/_/busybox/")
    page = anon.get("/_/busybox/").text
    assert 'value="docker pull busybox"' in page and "official</span>" in page
    tags = anon.get("/_/busybox/tags/").text
    assert '<td class="tag-name">latest</td>' in tags and "2.35 MB" in tags and "3 hours ago" in tags
    assert "docker pull busybox:latest" in tags
    assert 'href="/_/busybox/"' in anon.get("/search?q=busybox").text
    r = browsers["alice"].submit("/new", {"namespace": "library", "name": "mine"})
    assert r.status_code == 403 and "Only administrators" in alert(r.text)


def test_create_refuses_other_namespaces_and_bad_names(browsers: dict[str, Browser]) -> None:
    alice = browsers["alice"]
    r = alice.submit("/new", {"namespace": "bobby", "name": "web"})
    assert r.status_code == 403 and alert(r.text) == "You may not create repositories in the namespace bobby"
    r = alice.submit("/new", {"namespace": "alice", "name": "Bad Name"})
    assert r.status_code == 400 and "Invalid repository name" in alert(r.text)
    assert 'value="Bad Name"' in r.text
    alice.submit("/new", {"namespace": "alice", "name": "web"})
    r = alice.submit("/new", {"namespace": "alice", "name": "web"})
    assert r.status_code == 409 and "already exists" in alert(r.text)
    assert (
        browsers["anon"].client.get("/new", follow_redirects=False).headers["location"] == "/login?next=/new"
    )


def test_delete_needs_the_name_typed(browsers: dict[str, Browser], hub: Hub) -> None:
    alice = browsers["alice"]
    alice.submit("/new", {"namespace": "alice", "name": "old"})
    r = alice.submit("/u/alice/old/settings/", {"confirm": "wrong"}, action="/u/alice/old/settings/delete")
    assert r.status_code == 400 and "Type the repository name (old)" in alert(r.text)
    r = alice.submit("/u/alice/old/settings/", {"confirm": "old"}, action="/u/alice/old/settings/delete")
    assert r.headers["location"] == "/u/alice/?notice=deleted"
    assert alice.get("/u/alice/old/").status_code == 404
