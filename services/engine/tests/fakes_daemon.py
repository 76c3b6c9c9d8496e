"""A real ``Daemon`` on temporary directories, and fakes for the parts that need root.

The stores (images, layers, containers, volumes, networks) are the engine's own, under a
temporary data root. What needs root is faked at the boundary with the host: overlayfs mounts
(``FakeOverlay``) and bridges, nftables and the DNS listener of user networks (``FakeHost``).
Nothing here starts a process, mounts anything or touches the host's network.
"""

from __future__ import annotations

import asyncio
import filecmp
import io
import os
import shutil
import stat
import tarfile
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, cast

import pytest
from wharf_engine.daemon import build, changes, discovery, rootfs
from wharf_engine.daemon.daemon import Daemon
from wharf_engine.network import bridges, netlink, pool
from wharf_engine.network.isolation import Isolation
from wharf_engine.network.model import Network
from wharf_engine.runtime.fake import FakeRuntime
from wharf_engine.settings import Settings
from wharf_engine.shapes import (
    CommitOptions,
    ContainerConfig,
    CreateOptions,
    CreateResponse,
    HostConfig,
    NetworkingConfig,
)

# in memory where the machine has it: the stores fsync and the tests make and remove many small
# directories, which on a busy disk costs several times what the tests themselves do
SCRATCH = "/dev/shm" if os.access("/dev/shm", os.W_OK) else None


@contextmanager
def new_daemon(monkeypatch: pytest.MonkeyPatch, **settings: Any) -> Iterator[Daemon]:
    """A daemon over a ``FakeRuntime`` (``daemon.runtime``) on a fresh temporary directory, with
    ``FakeOverlay`` and ``FakeHost`` in place (install another of either to look at what it
    recorded). The directory is short, as the exec root's unix socket paths must be."""
    FakeOverlay().install(monkeypatch)
    FakeHost().install(monkeypatch)
    scratch = Path(tempfile.mkdtemp(prefix="wharf-unit-", dir=SCRATCH))
    try:
        settings = {"data_root": scratch / "root", "exec_root": scratch / "run", **settings}
        yield Daemon(Settings(**settings), runtime=FakeRuntime())
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def layer_tar(files: dict[str, bytes | str]) -> io.BytesIO:
    """A layer tar: ``bytes`` values are files, ``str`` values symlinks to that target;
    parent directories are added as a client's tar would have them. Entries belong to the user
    running the tests: extracting a layer sets its owners, and only root may give files away."""
    buf = io.BytesIO()

    def entry(name: str) -> tarfile.TarInfo:
        info = tarfile.TarInfo(name)
        info.uid, info.gid = os.getuid(), os.getgid()
        return info

    with tarfile.open(fileobj=buf, mode="w") as out:
        dirs: set[str] = set()
        for name, content in files.items():
            parts = name.split("/")[:-1]
            for i in range(1, len(parts) + 1):
                directory = "/".join(parts[:i])
                if directory not in dirs:
                    dirs.add(directory)
                    info = entry(directory)
                    info.type, info.mode = tarfile.DIRTYPE, 0o755
                    out.addfile(info)
            info = entry(name)
            if isinstance(content, str):
                info.type, info.linkname = tarfile.SYMTYPE, content
                out.addfile(info)
            else:
                info.size, info.mode = len(content), 0o755
                out.addfile(info, io.BytesIO(content))
    buf.seek(0)
    return buf


BASE_FILES: dict[str, bytes | str] = {
    "bin/sh": b"#!not really a shell\n",
    "etc/passwd": b"root:x:0:0:root:/root:/bin/sh\nwww:x:33:33::/var/www:/bin/sh\n",
    "etc/group": b"root:x:0:\nwww:x:33:\n",
    "etc/motd": b"welcome\n",
}


async def create_container(daemon: Daemon, name: str | None, body: dict[str, Any]) -> CreateResponse:
    """``docker create``: a ``POST /containers/create`` body, split into options as the router does
    (so that the tests keep Docker's body when the options change shape)."""
    body = dict(body)
    host_config = cast(HostConfig, body.pop("HostConfig", None) or {})
    networking = cast(NetworkingConfig | None, body.pop("NetworkingConfig", None))
    options = CreateOptions(
        config=cast(ContainerConfig, body), host_config=host_config, networking=networking, name=name
    )
    return await daemon.container_create(options)


async def commit_container(
    daemon: Daemon,
    ref: str,
    *,
    repo: str | None = None,
    tag: str | None = None,
    comment: str = "",
    author: str = "",
    pause: bool = True,
    changes: list[str] | None = None,
    config: dict[str, Any] | None = None,
) -> str:
    """``docker commit``, with ``POST /commit``'s query parameters and body."""
    options = CommitOptions(
        repo=repo,
        tag=tag,
        comment=comment,
        author=author,
        pause=pause,
        changes=list(changes or []),
        config=cast(ContainerConfig, config or {}),
    )
    return await daemon.container_commit(ref, options)


async def import_image(
    daemon: Daemon,
    repo: str | None = "base",
    files: dict[str, bytes | str] | None = None,
    changes: list[str] | None = None,
) -> str:
    """``docker import`` of a tar made from ``files`` (a tiny root with /bin/sh by default)."""
    return await daemon.image_import(
        layer_tar(BASE_FILES if files is None else files),
        repo=repo,
        tag=None,
        changes=changes if changes is not None else ['CMD ["/bin/sh"]'],
        message="",
    )


async def events(daemon: Daemon, **filters: list[str]) -> list[dict[str, Any]]:
    """What ``docker events --since 0 --until now`` prints, as dicts."""
    stream = daemon.system_events(since=1, until=time.time() + 0.001, filters=dict(filters))
    return [event async for event in stream]


def run(coro: Any) -> Any:
    return asyncio.run(coro)


def fake_runtime(daemon: Daemon) -> FakeRuntime:
    assert isinstance(daemon.runtime, FakeRuntime)
    return daemon.runtime


async def settle(predicate: Callable[[], bool], timeout: float = 5.0) -> None:
    """Let the daemon's background work (an exit's handling) run until ``predicate`` holds."""
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "the daemon did not settle in time"
        await asyncio.sleep(0.001)


async def start(daemon: Daemon, name: str, **config: Any) -> str:
    """``docker run -d --network none`` of the base image: a container the fake runtime runs
    (with no network: a bridge endpoint needs a veth, so root)."""
    body = {"Image": "base", **config, "HostConfig": {"NetworkMode": "none", **config.get("HostConfig", {})}}
    created = await create_container(daemon, name, body)
    await daemon.container_start(created["Id"])
    return str(created["Id"])


class FakeOverlay:
    """overlayfs without mount(2), for the operations that read or write a stopped container's root.

    Mounting copies the lower layers and then the upper directory into the target; unmounting
    copies back into the upper directory what differs from the lower layers, then empties the
    target. A file deleted from a lower layer stays (a whiteout needs mknod, so root).
    """

    def __init__(self) -> None:
        self.mounted: dict[Path, tuple[list[Path], Path]] = {}

    def install(self, monkeypatch: pytest.MonkeyPatch) -> FakeOverlay:
        monkeypatch.setattr(rootfs, "mount_overlay", self.mount)
        monkeypatch.setattr(rootfs, "unmount", self.unmount)
        monkeypatch.setattr(rootfs, "is_mounted", self.is_mounted)
        monkeypatch.setattr(changes, "is_mounted", self.is_mounted)
        monkeypatch.setattr(build, "is_mounted", self.is_mounted)
        return self

    def mount(self, lowers: list[Path], upper: Path, work: Path, target: Path) -> None:
        for layer in [*reversed(lowers), upper]:
            shutil.copytree(layer, target, symlinks=True, dirs_exist_ok=True)
        self.mounted[target] = (lowers, upper)

    def is_mounted(self, target: Path) -> bool:
        return target in self.mounted

    def unmount(self, target: Path) -> None:
        lowers, upper = self.mounted.pop(target, ([], Path()))
        if not lowers:
            return
        for dirpath, dirs, files in os.walk(target):
            for name in [*dirs, *files]:
                path = Path(dirpath, name)
                relative = path.relative_to(target)
                if _same_as_lower(path, [lower / relative for lower in lowers]):
                    continue
                copy = upper / relative
                copy.parent.mkdir(parents=True, exist_ok=True)
                if path.is_symlink():
                    copy.unlink(missing_ok=True)
                    copy.symlink_to(path.readlink())
                elif path.is_dir():
                    copy.mkdir(exist_ok=True)
                else:
                    shutil.copy2(path, copy)
        shutil.rmtree(target)
        target.mkdir()


def _same_as_lower(path: Path, candidates: list[Path]) -> bool:
    """Whether the topmost lower entry at this path is the same as ``path`` (upper first)."""
    for lower in candidates:
        if not os.path.lexists(lower):
            continue
        mine, theirs = path.lstat(), lower.lstat()
        if stat.S_IFMT(mine.st_mode) != stat.S_IFMT(theirs.st_mode):
            return False
        if path.is_symlink():
            return path.readlink() == lower.readlink()
        if path.is_dir():
            return True
        return mine.st_mode == theirs.st_mode and filecmp.cmp(path, lower, shallow=False)
    return False


class FakeHost:
    """The host side of user networks: bridges, the isolation table and the DNS listener on each
    gateway, recorded instead of made."""

    def __init__(self) -> None:
        self.bridges: dict[str, str] = {}  # name -> gateway/prefix
        self.isolated: list[str] = []  # the bridges the isolation table keeps apart
        self.dns: set[str] = set()  # the gateways the DNS server listens on

    def install(self, monkeypatch: pytest.MonkeyPatch) -> FakeHost:
        monkeypatch.setattr(bridges, "create_bridge", self.create_bridge)
        monkeypatch.setattr(bridges, "delete_link", self.delete_link)
        monkeypatch.setattr(bridges, "exists", lambda name: name in self.bridges)
        monkeypatch.setattr(pool, "host_networks", list)
        monkeypatch.setattr(Isolation, "apply", lambda _iso, rules: self._isolate([r.name for r in rules]))
        monkeypatch.setattr(Isolation, "remove", lambda _iso: self._isolate([]))
        monkeypatch.setattr(discovery, "network_up", self.network_up)
        monkeypatch.setattr(discovery, "network_down", self.network_down)
        monkeypatch.setattr(netlink, "loopback_up", lambda pid: None)  # the fake's pids have no netns
        return self

    def create_bridge(self, name: str, gateway: str, prefixlen: int, mtu: int | None = None) -> None:
        self.bridges[name] = f"{gateway}/{prefixlen}"

    def delete_link(self, name: str) -> None:
        self.bridges.pop(name, None)

    def _isolate(self, names: list[str]) -> None:
        self.isolated = sorted(names)

    async def network_up(self, daemon: Daemon, network: Network) -> None:
        self.dns.add(network.gateway)

    async def network_down(self, daemon: Daemon, network: Network) -> None:
        self.dns.discard(network.gateway)
