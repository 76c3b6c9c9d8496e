"""A real ``Daemon`` over a ``FakeRuntime``, for unit tests of the daemon's operations.

Everything is the engine's own code except what needs root: the runtime is in memory, the
container's root is its upper directory instead of an overlay mount (the one image,
``busybox:latest`` here, has no layers), and containers use ``NetworkMode: none`` unless a test
asks otherwise (no bridge, no veth, no loopback to bring up). The ``engine`` fixture
(``conftest.py``) builds one per test.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

import pytest
from wharf_engine.containers.container import Container
from wharf_engine.daemon import build, cp, monitor, remove, start
from wharf_engine.daemon import changes as changes_module
from wharf_engine.daemon.daemon import Daemon
from wharf_engine.daemon.rootfs import rootfs
from wharf_engine.layers.idmapped import IdmappedOverlay
from wharf_engine.network import netlink
from wharf_engine.runtime.fake import FakeRuntime
from wharf_engine.settings import Settings
from wharf_engine.shapes import ContainerConfig, CreateOptions, HostConfig

IMAGE = "busybox:latest"


@dataclass
class Engine:
    daemon: Daemon
    runtime: FakeRuntime
    image_id: str

    async def create(self, name: str | None = None, **config: Any) -> Container:
        """``docker create`` of the test image (``Cmd`` given or ``top``), with no network by default."""
        body: dict[str, Any] = {"Image": IMAGE, "Cmd": ["top"], **config}
        host_config: dict[str, Any] = {"NetworkMode": "none", **(body.pop("HostConfig", None) or {})}
        options = CreateOptions(
            config=cast(ContainerConfig, body), host_config=cast(HostConfig, host_config), name=name
        )
        created = await self.daemon.container_create(options)
        return self.daemon.containers.get(created["Id"])

    def events(self, cid: str) -> list[str]:
        """The actions of the events the daemon emitted for ``cid``, in order."""
        return [e["Action"] for e in self.daemon.events.history if e["Actor"]["ID"] == cid]

    async def run(self, name: str | None = None, **config: Any) -> Container:
        """``docker run -d``: create, then start."""
        container = await self.create(name, **config)
        await self.daemon.container_start(container.id)
        return container


def fake_mount(_daemon: Daemon, container: Container, *, idmapped: IdmappedOverlay | None = None) -> Path:
    """The container's root without overlayfs: the test image has no layers, so the root is the
    upper directory itself (``fs/merged`` a link to it), and what a step writes is in its diff."""
    fs = container.dir / "fs"
    (fs / "upper").mkdir(parents=True, exist_ok=True)
    if not rootfs(container).exists():
        rootfs(container).symlink_to("upper")
    return rootfs(container)


def fake_unmount(_container: Container) -> None:
    pass


def no_loopback(_pid: int) -> None:
    """``--network none`` still brings up the container's loopback, in a netns the fake has not."""


def make_engine(tmp_path: Path, run_dir: Path, monkeypatch: pytest.MonkeyPatch) -> Engine:
    monkeypatch.setattr(netlink, "loopback_up", no_loopback)
    for module in (start, cp, changes_module, build):
        monkeypatch.setattr(module, "mount_rootfs", fake_mount)
    for module in (start, monitor, remove, cp, changes_module, build):
        monkeypatch.setattr(module, "unmount_rootfs", fake_unmount)
    settings = Settings(
        data_root=tmp_path / "root",
        exec_root=run_dir,
        hosts=["unix:///nonexistent/engine.sock"],
        bridge="wharf-unit0",  # never made: containers here have no network
        stop_timeout=1,
    )
    runtime = FakeRuntime()
    daemon = Daemon(settings, runtime=runtime)
    image_id = daemon.images.create(
        {
            "architecture": "amd64",
            "os": "linux",
            "created": "2026-01-01T00:00:00Z",
            "config": {"Cmd": ["sh"], "Env": ["PATH=/usr/sbin:/usr/bin:/sbin:/bin"]},
            "rootfs": {"type": "layers", "diff_ids": []},
            "history": [{"created": "2026-01-01T00:00:00Z", "created_by": "test"}],
        }
    )
    daemon.references.add(IMAGE, image_id)
    return Engine(daemon, runtime, image_id)


async def until(predicate: Callable[[], bool], timeout: float = 5.0) -> None:
    """Let the daemon's background work (exit handling, restarts) run until ``predicate`` holds."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not predicate():
        if loop.time() > deadline:
            raise AssertionError("condition not reached in time")
        await asyncio.sleep(0.001)
