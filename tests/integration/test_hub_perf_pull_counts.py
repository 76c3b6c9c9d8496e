"""Pull counts that a hub process adds up in memory are written when it is stopped (SIGTERM), with
one process and with two, and a search made after a change elsewhere shows the change."""

from __future__ import annotations

import base64
import json
import urllib.request
from pathlib import Path

import pytest
from sqlalchemy import select
from wharf_hub.app import build_hub
from wharf_hub.db.models import Repository
from wharf_hub.services.repositories import Settings as RepoSettings
from wharf_hub.testing import HubProcess

USER, PASSWORD = "pullcounter", "count-Pa55word-1"
PULLS = 12


def get(url: str, headers: dict[str, str] | None = None) -> tuple[int, bytes]:
    request = urllib.request.Request(url, headers=headers or {})
    with urllib.request.urlopen(request, timeout=30) as response:
        return response.status, response.read()


def seed(hub: HubProcess) -> None:
    hub.create_user(USER, PASSWORD)
    services = build_hub(hub.settings())
    try:
        with services.db.session() as s:
            services.repos.create(
                s, services.accounts.find(s, USER), USER, "counted", description="counted pulls"
            )
    finally:
        services.db.dispose()


def stored_count(hub: HubProcess) -> int:
    services = build_hub(hub.settings())
    try:
        with services.db.session() as s:
            return int(s.scalar(select(Repository.pull_count).where(Repository.name == "counted")) or 0)
    finally:
        services.db.dispose()


@pytest.mark.parametrize("workers", [1, 2])
def test_pulls_added_up_in_memory_are_written_at_shutdown(tmp_path: Path, workers: int) -> None:
    hub = HubProcess(
        tmp_path / "hub", worker=False, workers=workers, env={"WHARF_HUB_PULL_COUNT_INTERVAL": "60"}
    )
    hub.start()
    try:
        seed(hub)
        basic = "Basic " + base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()
        headers = {"Authorization": basic, "X-Docker-Token": "true"}
        for _ in range(PULLS):
            status, _ = get(f"{hub.url}/v1/repositories/{USER}/counted/images", headers)
            assert status == 200
        assert stored_count(hub) == 0  # still in memory: the timer is a minute
    finally:
        hub.stop()  # SIGTERM: each process writes what it added up
    assert stored_count(hub) == PULLS


def test_search_shows_a_change_made_by_another_process(tmp_path: Path) -> None:
    hub = HubProcess(tmp_path / "hub", worker=False)
    hub.start()
    try:
        seed(hub)
        url = f"{hub.url}/v1/search?q=counted"
        assert [r["name"] for r in json.loads(get(url)[1])["results"]] == [f"{USER}/counted"]
        services = build_hub(hub.settings())  # another process's write, straight to the database
        try:
            with services.db.session() as s:
                repo = services.repos.find(s, USER, "counted")
                assert repo is not None
                owner = services.accounts.find(s, USER)
                services.repos.update(s, owner, repo, RepoSettings(is_private=True))
        finally:
            services.db.dispose()
        assert json.loads(get(url)[1])["results"] == []
    finally:
        hub.stop()
