"""Fixtures: a real engine per module (busybox seeded), and one per test where it gets killed."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import buildstack
import pytest
from engines import BUSYBOX_TAR, REPO, Engine, make_engine
from remap import MODES, RemapUser, remap_user_on_host, remapped_engine
from seed import seed
from wharf_builder.testing import RedisServer

CLOSED_INDEX = "http://127.0.0.1:9"
"""The test engines' default index unless a module points them at its hub: nothing listens on the
discard port, so bare names fail fast and never reach a hub someone runs on 127.0.0.1:8080."""


@pytest.fixture(scope="session", autouse=True)
def closed_default_index() -> Iterator[None]:
    with pytest.MonkeyPatch.context() as env:
        env.setenv("WHARF_ENGINE_DEFAULT_INDEX", CLOSED_INDEX)
        yield


@pytest.fixture(scope="session")
def busybox_tar() -> Path:
    if not BUSYBOX_TAR.exists():
        subprocess.run(
            [
                sys.executable,
                str(REPO / "deploy/images/busybox/build.py"),
                "--if-missing",
                "--output",
                str(BUSYBOX_TAR),
            ],
            check=True,
        )
    return BUSYBOX_TAR


@contextmanager
def running_engine(busybox_tar: Path) -> Iterator[Engine]:
    if os.geteuid() != 0:
        pytest.skip("the engine needs root")
    eng = make_engine()
    try:
        eng.start()
        seed(str(eng.socket), busybox_tar)
        yield eng
    finally:
        eng.cleanup()


@pytest.fixture(scope="module")
def engine(busybox_tar: Path) -> Iterator[Engine]:
    """One engine per test module, with busybox:latest imported."""
    with running_engine(busybox_tar) as eng:
        yield eng


@pytest.fixture
def fresh_engine(busybox_tar: Path) -> Iterator[Engine]:
    """An engine of the test's own, for tests that kill or restart it."""
    with running_engine(busybox_tar) as eng:
        yield eng


@pytest.fixture(scope="module")
def engine_b() -> Iterator[Engine]:
    """A second engine of the module's own, empty: whatever it runs, it pulled."""
    eng = make_engine()
    try:
        eng.start()
        yield eng
    finally:
        eng.cleanup()


@pytest.fixture(scope="module")
def redis_server() -> Iterator[RedisServer]:
    """A throwaway Redis for the automated-build tests (the builders' queue)."""
    with buildstack.redis() as server:
        yield server


@pytest.fixture(scope="module")
def remap_user() -> Iterator[RemapUser]:
    """A user of the host's with subordinate ids, made for the module and removed after it."""
    with remap_user_on_host() as user:
        yield user


@pytest.fixture(scope="module", params=MODES)
def remapped(request: pytest.FixtureRequest, remap_user: RemapUser, busybox_tar: Path) -> Iterator[Engine]:
    """An engine with ``--userns-remap`` for that user, in each mode (idmapped layers, chowned)."""
    with remapped_engine(request.param, remap_user, busybox_tar) as eng:
        yield eng
