"""ContainerArchive (``docker cp``): stat, read as a tar, and extract a tar into a container path.

A running container is reached through /proc/<pid>/root, so its volumes are seen as it sees
them; a stopped one through its mounted root. Paths resolve inside the container (its
symlinks included) and never leave it. Where the host sees a container's files with host ids
(a running remapped root, layers chowned into the range), archives carry the ids the container
sees: shifted on the way in and out.
"""

from __future__ import annotations

import asyncio
import stat
import tarfile
import tempfile
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO, cast

from wharf_common.errors import InvalidArgument, NotFound
from wharf_common.tarfiles import ExtractLimits, extract_layer

from wharf_engine.build.paths import scoped
from wharf_engine.containers.container import Container
from wharf_engine.idmap import IdMap
from wharf_engine.layers.idmapped import MappedRootCredentials

from .rootfs import mount_rootfs, unmount_rootfs
from .userns import shift_tar, view_map

if TYPE_CHECKING:
    from .daemon import Daemon

GO_MODE_DIR = 1 << 31
GO_MODE_SYMLINK = 1 << 27


@asynccontextmanager
async def container_root(daemon: Daemon, container: Container) -> AsyncIterator[Path]:
    if container.state.running and container.state.pid:
        yield Path(f"/proc/{container.state.pid}/root")
        return
    async with container.lock:
        root = mount_rootfs(daemon, container)
        try:
            yield root
        finally:
            if not container.state.running:
                unmount_rootfs(container)


def _stat(path: Path, name: str) -> dict[str, Any]:
    st = path.lstat()
    mode = stat.S_IMODE(st.st_mode)
    if stat.S_ISDIR(st.st_mode):
        mode |= GO_MODE_DIR
    link = ""
    if stat.S_ISLNK(st.st_mode):
        mode |= GO_MODE_SYMLINK
        link = str(path.readlink())
    mtime = datetime.fromtimestamp(st.st_mtime, UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    return {"name": name, "size": st.st_size, "mode": mode, "mtime": mtime, "linkTarget": link}


def _resolve(root: Path, container: Container, path: str) -> Path:
    if not path:
        raise InvalidArgument("path is required")
    absolute = path if path.startswith("/") else "/" + path
    parent, _, name = absolute.rstrip("/").rpartition("/")
    # links on the way are followed inside the container; the path itself is taken as it is
    target = (
        scoped(root, parent or "/") / name if name and name not in (".", "..") else scoped(root, absolute)
    )
    if path.endswith("/") and target.is_symlink():
        target = scoped(root, absolute)
    if not target.exists() and not target.is_symlink():
        raise NotFound(f"Could not find the file {path} in container {container.name}")
    return target


async def path_stat(daemon: Daemon, ref: str, path: str) -> dict[str, Any]:
    container = daemon.containers.get(ref)
    async with container_root(daemon, container) as root:
        target = _resolve(root, container, path)
        return _stat(target, Path(path.rstrip("/") or "/").name or "/")


def _unshifted(remap: IdMap) -> Callable[[tarfile.TarInfo], tarfile.TarInfo]:
    def owner(member: tarfile.TarInfo) -> tarfile.TarInfo:
        member.uid, member.gid = remap.container_uid(member.uid), remap.container_gid(member.gid)
        member.uname = member.gname = ""
        return member

    return owner


async def read_archive(daemon: Daemon, ref: str, path: str, out: BinaryIO) -> None:
    container = daemon.containers.get(ref)
    remap = view_map(daemon, container)
    async with container_root(daemon, container) as root:
        target = _resolve(root, container, path)
        name = Path(path.rstrip("/")).name or "."

        def write() -> None:
            with tarfile.open(fileobj=out, mode="w|", format=tarfile.PAX_FORMAT) as tar:
                # the root of a running container is /proc/<pid>/root, itself a link: go through it
                source = str(target) + "/" if target == root else str(target)
                tar.add(source, arcname=name, recursive=True, filter=_unshifted(remap) if remap else None)

        await asyncio.to_thread(write)


async def write_archive(daemon: Daemon, ref: str, path: str, stream: BinaryIO) -> None:
    container = daemon.containers.get(ref)
    async with container_root(daemon, container) as root:
        target = _resolve(root, container, path)
        if not target.is_dir():
            raise InvalidArgument(f"extraction point is not a directory: {path}")
        remap = view_map(daemon, container)
        if remap is None:
            await asyncio.to_thread(extract_layer, stream, target, limits=daemon.layers.limits)
        else:
            await asyncio.to_thread(
                _extract_shifted, stream, target, remap, daemon.layers.tmp, daemon.layers.limits
            )


def _extract_shifted(stream: BinaryIO, target: Path, remap: IdMap, tmp: Path, limits: ExtractLimits) -> None:
    """Into a root seen through ``remap``: host ids, and files made as the remapped root."""
    with tempfile.SpooledTemporaryFile(max_size=1 << 24, dir=str(tmp)) as shifted:
        shift_tar(stream, cast(BinaryIO, shifted), remap.host_uid, remap.host_gid)
        shifted.seek(0)
        with MappedRootCredentials(remap):
            extract_layer(cast(BinaryIO, shifted), target, limits=limits)
