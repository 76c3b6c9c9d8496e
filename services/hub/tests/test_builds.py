"""Automated builds on the hub: settings and who may change them, triggers and dedupe, the builders'
claim/report API, the per-build push credential at the index, the reaper (SQLite and PostgreSQL)."""

from __future__ import annotations

from datetime import timedelta

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from wharf_hub.db.base import utcnow
from wharf_hub.db.models import Build, Job, User
from wharf_hub.factories import Factory, assert_problem
from wharf_hub.hub import Hub
from wharf_hub.services.builds import ENQUEUE

TOKEN = {"X-Docker-Token": "true"}
RULES = [
    {"source_type": "branch", "source_name": "main", "tag_template": "latest"},
    {"source_type": "tag", "source_name": "/^v[0-9.]+$/", "tag_template": "{sourceref}"},
]


def auth(name: str, factory: Factory) -> httpx.BasicAuth:
    return httpx.BasicAuth(name, factory.password)


@pytest.fixture
def automated(client: TestClient, factory: Factory) -> TestClient:
    alice = factory.user("alice")
    factory.user("carol")
    factory.user("mallory")
    factory.repo(alice, "web")
    body = {"source_url": "https://git.example.test/alice/web.git", "rules": RULES}
    r = client.put("/api/v1/repositories/alice/web/autobuild", json=body, auth=auth("alice", factory))
    assert r.status_code == 200, r.text
    added = client.post(
        "/api/v1/repositories/alice/web/collaborators",
        json={"username": "carol"},
        auth=auth("alice", factory),
    )
    assert added.status_code in (200, 201), added.text
    return client


def internal(hub: Hub) -> dict[str, str]:
    return {"Authorization": f"Bearer {hub.builder_secret}"}


def start(client: TestClient, factory: Factory, **body: object) -> list[dict[str, object]]:
    r = client.post("/api/v1/repositories/alice/web/builds", json=body, auth=auth("alice", factory))
    assert r.status_code == 201, r.text
    builds: list[dict[str, object]] = r.json()
    return builds


def test_owners_configure_collaborators_see_builds_strangers_see_nothing(
    automated: TestClient, factory: Factory
) -> None:
    body = {"source_url": "/srv/git/web.git", "rules": RULES}
    carol = automated.put("/api/v1/repositories/alice/web/autobuild", json=body, auth=auth("carol", factory))
    assert_problem(carol, 403)
    seen = automated.get("/api/v1/repositories/alice/web/autobuild", auth=auth("carol", factory)).json()
    assert seen["trigger_url"] is None and seen["webhook_secret"] is None
    assert (
        automated.get("/api/v1/repositories/alice/web/builds", auth=auth("carol", factory)).status_code == 200
    )
    assert_problem(automated.get("/api/v1/repositories/alice/web/builds", auth=auth("mallory", factory)), 403)
    found = automated.get("/v1/search", params={"q": "web"}).json()["results"]
    assert found[0]["is_automated"] is True


@pytest.mark.parametrize(
    ("rule", "detail"),
    [
        ({"source_type": "tag", "source_name": "/v([0-9/"}, "regular expression"),
        ({"source_name": "main", "tag_template": "bad tag!"}, "valid tag"),
        ({"source_name": "main", "context": "../.."}, "inside the repository"),
        ({"source_type": "commit", "source_name": "main"}, "source_type"),
    ],
)
def test_bad_rules_are_refused_at_save(
    automated: TestClient, factory: Factory, rule: dict[str, str], detail: str
) -> None:
    body = {"source_url": "/srv/git/web.git", "rules": [rule]}
    r = automated.put("/api/v1/repositories/alice/web/autobuild", json=body, auth=auth("alice", factory))
    assert_problem(r, 400, detail)


@pytest.mark.parametrize("url", ["--upload-pack=evil", "ftp://x/y", "relative/path", ""])
def test_bad_source_urls_are_refused(automated: TestClient, factory: Factory, url: str) -> None:
    body = {"source_url": url, "rules": RULES}
    r = automated.put("/api/v1/repositories/alice/web/autobuild", json=body, auth=auth("alice", factory))
    assert_problem(r, 400)


def test_rules_match_refs_and_fill_in_the_tag(automated: TestClient, factory: Factory, hub: Hub) -> None:
    [tagged] = start(automated, factory, source_type="Tag", source_name="v1.2")
    assert tagged["tags"] == ["v1.2"] and tagged["status"] == "queued"
    assert start(automated, factory, source_type="tag", source_name="nightly") == []
    [main] = start(automated, factory)  # every fixed-name rule
    assert main["source_ref"] == "main" and main["tags"] == ["latest"]
    with hub.db.session() as s:
        queued = s.scalars(select(Job.payload).where(Job.kind == ENQUEUE)).all()
    assert {p["build_id"] for p in queued} == {tagged["id"], main["id"]}


def test_the_trigger_url_builds_once_per_commit_and_a_regenerated_token_retires_the_old(
    automated: TestClient, factory: Factory
) -> None:
    info = automated.get("/api/v1/repositories/alice/web/autobuild", auth=auth("alice", factory)).json()
    url = info["trigger_url"].split("://", 1)[1].split("/", 1)[1]
    body = {"source_type": "Branch", "source_name": "main", "commit": "a" * 40}
    first = automated.post(f"/{url}", json=body)
    assert first.status_code == 202 and len(first.json()["builds"]) == 1
    assert automated.post(f"/{url}", json=body).json() == {"builds": []}
    assert_problem(automated.post(f"/{url}", json={**body, "commit": "not-a-sha"}), 400)
    automated.post("/api/v1/repositories/alice/web/autobuild/trigger-token", auth=auth("alice", factory))
    assert_problem(automated.post(f"/{url}", json=body), 401)
    assert_problem(automated.post(f"/{url}", content=b"{not json"), 400)


def test_claim_report_and_the_push_credential(automated: TestClient, factory: Factory, hub: Hub) -> None:
    [queued] = start(automated, factory)
    build_id = queued["id"]
    assert_problem(automated.post(f"/api/builder/builds/{build_id}/claim", json={"worker": "w"}), 401)
    claim = automated.post(
        f"/api/builder/builds/{build_id}/claim", json={"worker": "w1"}, headers=internal(hub)
    )
    assert claim.status_code == 200, claim.text
    spec = claim.json()
    assert spec["image"] == "alice/web" and spec["tags"] == ["latest"] and spec["ref"] == "main"
    again = automated.post(
        f"/api/builder/builds/{build_id}/claim", json={"worker": "w2"}, headers=internal(hub)
    )
    assert_problem(again, 409, "running on w1")

    creds = httpx.BasicAuth(spec["push_username"], spec["push_password"])
    pushed = automated.put("/v1/repositories/alice/web/", json=[], headers=TOKEN, auth=creds)
    assert pushed.status_code == 200 and "access=write" in pushed.headers["x-docker-token"]
    factory.repo(
        factory.reload_user("alice") if hasattr(factory, "reload_user") else hub_user(hub, "alice"), "other"
    )
    assert (
        automated.put("/v1/repositories/alice/other/", json=[], headers=TOKEN, auth=creds).status_code == 403
    )
    wrong = httpx.BasicAuth(spec["push_username"], "guess")
    assert automated.put("/v1/repositories/alice/web/", json=[], headers=TOKEN, auth=wrong).status_code == 401

    log = automated.post(f"/api/builder/builds/{build_id}/log", content=b"Step 1/1\n", headers=internal(hub))
    assert log.json() == {"cancelled": False}
    done = automated.post(
        f"/api/builder/builds/{build_id}/status",
        json={"status": "success", "image_id": "sha256:" + "b" * 64, "commit_sha": "c" * 40},
        headers=internal(hub),
    )
    assert done.json() == {"cancelled": False}
    shown = automated.get(
        f"/api/v1/repositories/alice/web/builds/{build_id}", auth=auth("carol", factory)
    ).json()
    assert shown["status"] == "success" and shown["log"] == "Step 1/1\n" and shown["commit_sha"] == "c" * 40
    tail = automated.get(
        f"/api/v1/repositories/alice/web/builds/{build_id}", params={"offset": 5}, auth=auth("alice", factory)
    ).json()
    assert tail["log"] == "1/1\n" and tail["log_size"] == 9
    # the credential dies with the build; a redelivered task cannot claim it again
    assert automated.put("/v1/repositories/alice/web/", json=[], headers=TOKEN, auth=creds).status_code == 401
    redelivered = automated.post(
        f"/api/builder/builds/{build_id}/claim", json={"worker": "w3"}, headers=internal(hub)
    )
    assert_problem(redelivered, 409, "success")


def hub_user(hub: Hub, name: str) -> User:
    with hub.db.session() as s:
        user = hub.accounts.find(s, name)
        assert user is not None
        return user


def test_cancel_ends_a_queued_build_and_tells_a_running_one(
    automated: TestClient, factory: Factory, hub: Hub
) -> None:
    [first, second] = [start(automated, factory)[0], start(automated, factory)[0]]
    cancelled = automated.post(
        f"/api/v1/repositories/alice/web/builds/{first['id']}/cancel", auth=auth("carol", factory)
    )
    assert cancelled.json()["status"] == "cancelled"
    claim = automated.post(
        f"/api/builder/builds/{first['id']}/claim", json={"worker": "w"}, headers=internal(hub)
    )
    assert_problem(claim, 409, "cancelled")

    automated.post(f"/api/builder/builds/{second['id']}/claim", json={"worker": "w"}, headers=internal(hub))
    automated.post(
        f"/api/v1/repositories/alice/web/builds/{second['id']}/cancel", auth=auth("alice", factory)
    )
    told = automated.post(f"/api/builder/builds/{second['id']}/log", content=b"x", headers=internal(hub))
    assert told.json() == {"cancelled": True}


def test_the_reaper_fails_a_build_whose_worker_went_silent(
    automated: TestClient, factory: Factory, hub: Hub
) -> None:
    [queued] = start(automated, factory)
    automated.post(f"/api/builder/builds/{queued['id']}/claim", json={"worker": "w"}, headers=internal(hub))
    with hub.db.session() as s:
        build = s.get(Build, queued["id"])
        assert build is not None
        build.heartbeat_at = utcnow() - hub.builder.lost_after - timedelta(seconds=1)
    with hub.db.session() as s:
        assert hub.builder.reap(s) == 1
    shown = automated.get(
        f"/api/v1/repositories/alice/web/builds/{queued['id']}", auth=auth("alice", factory)
    ).json()
    assert shown["status"] == "failed" and "lost" in shown["error"]
