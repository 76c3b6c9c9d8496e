"""Automated builds in the browser: create one from the settings page, the build list with a
Trigger button per rule, a build's page with its log (reloading while it runs), cancel; the
automated badge and the Dockerfile on the repository page; who may see what."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from wharf_hub.app import create_app
from wharf_hub.db.models import BuildRule
from wharf_hub.factories import Factory
from wharf_hub.hub import Hub
from wharf_hub.web.testing import Browser

SETTINGS = "/u/alice/web/settings/builds/"
RULES: dict[str, str | list[str]] = {
    "source_url": "/srv/git/web.git",
    "autobuild": "true",
    "source_type": ["branch", "tag", "branch"],
    "source_name": ["main", "/^v.*$/", ""],
    "dockerfile": ["Dockerfile", "Dockerfile", "Dockerfile"],
    "context": ["/", "/", "/"],
    "tag_template": ["latest", "{sourceref}", "x"],
}


def browser(hub: Hub, name: str, factory: Factory) -> Iterator[Browser]:
    with TestClient(create_app(hub.settings, hub), base_url="http://hub.test") as client:
        b = Browser(client)
        b.login(name, factory.password)
        yield b


@pytest.fixture
def alice(hub: Hub, factory: Factory) -> Iterator[Browser]:
    factory.repo(factory.user("alice"), "web")
    yield from browser(hub, "alice", factory)


def test_create_an_automated_build_then_trigger_and_follow_a_build(alice: Browser, hub: Hub) -> None:
    saved = alice.submit(SETTINGS, RULES)
    assert saved.status_code == 303, saved.text[:500]
    page = alice.get(SETTINGS).text
    assert "/trigger/" in page and "autobuild/push" in page and 'value="main"' in page
    listing = alice.get("/u/alice/web/builds/").text
    assert listing.count(">Trigger</button>") == 1  # the regex rule has no fixed ref to build
    rule_id = hub_rule_id(hub)
    started = alice.submit(
        "/u/alice/web/builds/", {"rule_id": str(rule_id)}, action="/u/alice/web/builds/trigger"
    )
    assert started.status_code == 303
    build_page = alice.get(started.headers["location"])
    assert build_page.status_code == 200
    assert 'http-equiv="refresh"' in build_page.text and "queued" in build_page.text
    cancelled = alice.submit(started.headers["location"], {}, action=started.headers["location"] + "cancel")
    assert cancelled.status_code == 303
    done = alice.get(started.headers["location"]).text
    assert "cancelled" in done and 'http-equiv="refresh"' not in done
    repo_page = alice.get("/u/alice/web/").text
    assert ">automated</span>" in repo_page and "/u/alice/web/builds/" in repo_page


def hub_rule_id(hub: Hub) -> int:
    with hub.db.session() as s:
        found = s.scalar(select(BuildRule.id).where(BuildRule.source_name == "main"))
        assert found is not None
        return found


def test_a_bad_rule_shows_the_error_on_the_form(alice: Browser) -> None:
    bad: dict[str, str | list[str]] = {
        **RULES,
        "source_name": ["/v([/", "", ""],
        "source_type": ["tag", "branch", "branch"],
    }
    r = alice.submit(SETTINGS, bad)
    assert r.status_code == 400 and "regular expression" in r.text


def test_collaborators_see_builds_but_not_settings_and_strangers_neither(
    alice: Browser, hub: Hub, factory: Factory
) -> None:
    assert alice.submit(SETTINGS, RULES).status_code == 303
    factory.user("carol")
    factory.user("mallory")
    added = alice.submit("/u/alice/web/settings/collaborators/", {"username": "carol"})
    assert added.status_code in (200, 201, 303), added.text[:300]
    for carol in browser(hub, "carol", factory):
        assert carol.get("/u/alice/web/builds/").status_code == 200
        assert carol.get(SETTINGS).status_code == 403
    for mallory in browser(hub, "mallory", factory):
        assert mallory.get("/u/alice/web/builds/").status_code == 403
