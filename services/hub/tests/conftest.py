"""Fixtures for the hub's tests: every test that asks for ``hub`` runs twice, on SQLite and on
a real PostgreSQL started from the installed binaries, each time on a fresh migrated database."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from wharf_hub.app import build_hub, create_app
from wharf_hub.db import migrate
from wharf_hub.factories import Factory
from wharf_hub.hub import Hub
from wharf_hub.pgtesting import PostgresCluster, pg_bin
from wharf_hub.settings import PasswordSettings, Settings, WebhookSettings


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresCluster]:
    if pg_bin() is None:
        pytest.skip("PostgreSQL binaries are not installed")
    cluster = PostgresCluster().start()
    try:
        yield cluster
    finally:
        cluster.stop()


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("sqlite-template") / "hub.db"
    migrate.upgrade(f"sqlite:///{path}")
    return path


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path, sqlite_template: Path) -> str:
    if request.param == "sqlite":
        target = tmp_path / "hub.db"
        shutil.copyfile(sqlite_template, target)
        return f"sqlite:///{target}"
    cluster: PostgresCluster = request.getfixturevalue("postgres")
    return cluster.database()


@pytest.fixture
def hub_settings(tmp_path: Path, database_url: str) -> Settings:
    return Settings(
        data_root=tmp_path / "hub",
        database_url=database_url,
        public_url="http://hub.test",
        registry_url="http://127.0.0.1:9",
        passwords=PasswordSettings(time_cost=1, memory_cost=8192, parallelism=1),
        webhooks=WebhookSettings(worker=False, allow=["127.0.0.0/8"], backoff=0.05),
    )


@contextmanager
def _built(settings: Settings) -> Iterator[Hub]:
    built = build_hub(settings)
    try:
        yield built
    finally:
        built.db.dispose()


@pytest.fixture
def hub(hub_settings: Settings) -> Iterator[Hub]:
    with _built(hub_settings) as built:
        yield built


@pytest.fixture
def other(hub_settings: Settings) -> Iterator[Hub]:
    """A second hub on the same database, standing in for another process: its own pool and caches."""
    with _built(hub_settings) as built:
        yield built


@pytest.fixture
def factory(hub: Hub) -> Factory:
    return Factory(hub)


@pytest.fixture
def client(hub: Hub) -> Iterator[TestClient]:
    """The hub's app in process (lifespan run; the worker off: tests drain it themselves)."""
    with TestClient(create_app(hub.settings, hub)) as c:
        yield c
