"""ContainerArchive (``docker cp``): stat, read as a tar, and extract a tar into a container path.

A running container is reached through /proc/<pid>/root, so its volumes are seen as it sees
them; a stopped one through its mounted root. That root is opened once, and every path is
resolved by the kernel inside it (``inroot.open_in_root``): the container may swap any directory
for a symlink to ``/`` at any moment, and the copy still never leaves it, either way.

Where the host sees a container's files with host ids (a running remapped root, layers chowned
into the range), archives carry the ids the container sees: shifted on the way in and out.
"""

from __future__ import annotations

import asyncio
import errno
import os
import stat
import tarfile
import tempfile
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO, cast

from wharf_common.errors import Forbidden, InvalidArgument, NotFound
from wharf_common.tarfiles import ExtractLimits, extract_layer

from wharf_engine.build.paths import scoped
from wharf_engine.containers.container import Container
from wharf_engine.idmap import IdMap
from wharf_engine.layers.idmapped import MappedRootCredentials
from wharf_engine.layers.mounts import bind_mount, unmount

from .inroot import open_in_root, pseudo_devices, tree_to_tar
from .rootfs import mount_rootfs, rootfs, unmount_rootfs
from .userns import shift_tar, view_map

if TYPE_CHECKING:
    from .daemon import Daemon

GO_MODE_DIR = 1 << 31
GO_MODE_SYMLINK = 1 << 27


_ROOT_FLAGS = os.O_PATH | os.O_DIRECTORY | os.O_CLOEXEC


@asynccontextmanager
async def container_root(daemon: Daemon, container: Container) -> AsyncIterator[int]:
    """An fd on the container's ``/``, to resolve paths in with ``open_in_root``."""
    if container.state.running and container.state.pid:
        gone = NotFound(f"container {container.name} is not running any more")
        try:
            fd = os.open(f"/proc/{container.state.pid}/root", _ROOT_FLAGS)
        except OSError:
            raise gone from None
        try:
            if not _same_file(os.fstat(fd), rootfs(container)):
                raise gone  # the pid outlived the container and now names another process
            yield fd
        finally:
            os.close(fd)
        return
    async with container.lock:
        root = mount_rootfs(daemon, container)
        volumes: list[Path] = []
        try:
            fd = os.open(root, _ROOT_FLAGS)
            try:
                volumes = _mount_volumes(container, root, fd)
                yield fd
            finally:
                os.close(fd)
        finally:
            for target in reversed(volumes):
                unmount(target)
            if not container.state.running:
                unmount_rootfs(container)


def _mount_volumes(container: Container, root: Path, root_fd: int) -> list[Path]:
    """A stopped container's volumes and binds, mounted in its root as a start would (so ``docker
    cp`` sees them, as Docker's ``mountVolumes``); returns the mount points to detach after."""
    mounted: list[Path] = []
    try:
        for mount in sorted(container.mounts, key=lambda m: len(str(m.get("Destination", "")))):
            source = Path(str(mount.get("Source") or ""))
            if mount.get("Type") not in ("bind", "volume") or not source.is_absolute() or not source.exists():
                continue
            destination = str(mount["Destination"])
            inside = scoped(root, destination)  # links on the way resolved inside the root
            if not inside.exists():
                if source.is_dir():
                    inside.mkdir(parents=True, exist_ok=True)
                else:
                    inside.parent.mkdir(parents=True, exist_ok=True)
                    inside.touch()
            fd = open_in_root(root_fd, destination, os.O_PATH)
            try:  # the kernel's resolution, inside the root: where the mount goes
                target = Path(f"/proc/self/fd/{fd}").readlink()
            finally:
                os.close(fd)
            if not target.is_relative_to(root):
                raise InvalidArgument(f"mount point {destination} leaves the container")
            bind_mount(source, target, read_only=not mount.get("RW", True))
            mounted.append(target)
    except BaseException:
        for target in reversed(mounted):
            unmount(target)
        raise
    return mounted


def _same_file(st: os.stat_result, path: Path) -> bool:
    try:
        other = path.stat()
    except OSError:
        return False
    return (st.st_dev, st.st_ino) == (other.st_dev, other.st_ino)


def _not_found(container: Container, path: str) -> NotFound:
    return NotFound(f"Could not find the file {path} in container {container.name}")


@contextmanager
def _located(
    root_fd: int, container: Container, path: str, flags: int = os.O_PATH
) -> Iterator[tuple[int, str]]:
    """(dir fd, name) of ``path``, or (the path's own fd, "") when it names a directory itself.

    Links on the way are followed inside the container; the last name is taken as it is,
    unless the path ends in ``/`` (then it must be, or lead to, a directory).
    """
    if not path:
        raise InvalidArgument("path is required")
    if "\x00" in path:  # the kernel takes none: os.stat would raise ValueError (a 500)
        raise InvalidArgument("path must not contain a NUL byte")
    absolute = path if path.startswith("/") else "/" + path
    parent, _, name = absolute.rstrip("/").rpartition("/")
    whole = not name or name in (".", "..") or path.endswith("/")
    try:
        fd = open_in_root(root_fd, absolute if whole else parent or "/", flags | os.O_DIRECTORY)
        if not whole:
            try:
                os.stat(name, dir_fd=fd, follow_symlinks=False)
            except BaseException:
                os.close(fd)
                raise
    except OSError as exc:
        if exc.errno in (errno.ENOENT, errno.ENOTDIR, errno.ELOOP):
            raise _not_found(container, path) from None
        raise
    try:
        yield fd, "" if whole else name
    finally:
        os.close(fd)


def _stat(dir_fd: int, name: str, shown: str) -> dict[str, Any]:
    st = os.stat(name, dir_fd=dir_fd, follow_symlinks=False) if name else os.fstat(dir_fd)
    mode = stat.S_IMODE(st.st_mode)
    if stat.S_ISDIR(st.st_mode):
        mode |= GO_MODE_DIR
    link = ""
    if stat.S_ISLNK(st.st_mode):
        mode |= GO_MODE_SYMLINK
        link = os.readlink(name, dir_fd=dir_fd)
    mtime = datetime.fromtimestamp(st.st_mtime, UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    return {"name": shown, "size": st.st_size, "mode": mode, "mtime": mtime, "linkTarget": link}


async def path_stat(daemon: Daemon, ref: str, path: str) -> dict[str, Any]:
    container = daemon.containers.get(ref)
    async with container_root(daemon, container) as root_fd:
        with _located(root_fd, container, path) as (dir_fd, name):
            return _stat(dir_fd, name, Path(path.rstrip("/") or "/").name or "/")


def _unshifted(remap: IdMap) -> Callable[[tarfile.TarInfo], tarfile.TarInfo]:
    def owner(member: tarfile.TarInfo) -> tarfile.TarInfo:
        member.uid, member.gid = remap.container_uid(member.uid), remap.container_gid(member.gid)
        member.uname = member.gname = ""
        return member

    return owner


async def read_archive(daemon: Daemon, ref: str, path: str, out: BinaryIO) -> None:
    container = daemon.containers.get(ref)
    arcname = Path(path.rstrip("/")).name or "."
    remap = view_map(daemon, container)
    owner = _unshifted(remap) if remap else None

    def write(dir_fd: int, name: str, pseudo: set[int]) -> None:
        with tarfile.open(fileobj=out, mode="w|", format=tarfile.PAX_FORMAT) as tar:
            tree_to_tar(tar, dir_fd, name, arcname, pseudo, owner)

    async with container_root(daemon, container) as root_fd:
        with _located(root_fd, container, path, os.O_RDONLY) as (dir_fd, name):
            await asyncio.to_thread(write, dir_fd, name, pseudo_devices(root_fd))


async def write_archive(daemon: Daemon, ref: str, path: str, stream: BinaryIO) -> None:
    container = daemon.containers.get(ref)
    async with container_root(daemon, container) as root_fd:
        absolute = path if path.startswith("/") else "/" + path
        try:
            dest = open_in_root(root_fd, absolute, os.O_RDONLY | os.O_DIRECTORY)
        except OSError as exc:
            if exc.errno == errno.ENOTDIR:
                raise InvalidArgument(f"extraction point is not a directory: {path}") from None
            if exc.errno in (errno.ENOENT, errno.ELOOP):
                raise _not_found(container, path) from None
            raise
        try:
            if os.fstatvfs(dest).f_flag & os.ST_RDONLY:  # a read-only volume, or a read-only root
                raise Forbidden("mounted volume is marked read-only")
            remap = view_map(daemon, container)
            if remap is None:
                await asyncio.to_thread(extract_layer, stream, dest, limits=daemon.layers.limits)
            else:
                await asyncio.to_thread(
                    _extract_shifted, stream, dest, remap, daemon.layers.tmp, daemon.layers.limits
                )
        finally:
            os.close(dest)


def _extract_shifted(stream: BinaryIO, dest: int, remap: IdMap, tmp: Path, limits: ExtractLimits) -> None:
    """Into a root seen through ``remap``: host ids, and files made as the remapped root."""
    with tempfile.SpooledTemporaryFile(max_size=1 << 24, dir=str(tmp)) as shifted:
        shift_tar(stream, cast(BinaryIO, shifted), remap.host_uid, remap.host_gid)
        shifted.seek(0)
        with MappedRootCredentials(remap):
            extract_layer(cast(BinaryIO, shifted), dest, limits=limits)
