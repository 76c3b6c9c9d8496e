"""Fixtures shared by the engine's unit tests."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from .daemon_harness import Engine, make_engine


@pytest.fixture
def engine(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Engine]:
    """A ``Daemon`` over a ``FakeRuntime`` with one image, ``busybox:latest`` (see ``daemon_harness``)."""
    run_dir = Path(tempfile.mkdtemp(prefix="wharf-unit-"))  # short: shim socket paths live here
    try:
        yield make_engine(tmp_path, run_dir, monkeypatch)
    finally:
        shutil.rmtree(run_dir, ignore_errors=True)
