"""ContainerChanges (``docker diff``) and ContainerExport, read off the overlay directories."""

from __future__ import annotations

import asyncio
import os
import stat
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO

from wharf_common.tarfiles import write_tar

from wharf_engine.containers.container import Container
from wharf_engine.idmap import IdMap
from wharf_engine.layers.mounts import is_mounted

from . import userns
from .rootfs import mount_rootfs, rootfs, unmount_rootfs

if TYPE_CHECKING:
    from .daemon import Daemon

MODIFIED, ADDED, DELETED = 0, 1, 2


def _lowers(daemon: Daemon, container: Container) -> list[Path]:
    diff_ids = daemon.images.get(container.image_id).get("rootfs", {}).get("diff_ids", [])
    return [daemon.layers.get(d).path for d in reversed(diff_ids)]


def _in_lowers(lowers: list[Path], relative: str) -> bool:
    """True if the lower layers, seen through overlayfs, still show ``relative``."""
    for lower in lowers:
        path = lower / relative
        if os.path.lexists(path):
            st = path.lstat()
            return not (stat.S_ISCHR(st.st_mode) and st.st_rdev == 0)  # a whiteout hides it
    return False


def container_changes(daemon: Daemon, container: Container) -> list[dict[str, Any]]:
    upper = container.dir / "fs" / "upper"
    if not upper.exists():
        return []
    lowers = _lowers(daemon, container)
    out = []
    for dirpath, dirs, files in os.walk(upper):
        dirs.sort()
        for name in sorted([*dirs, *files]):
            path = Path(dirpath, name)
            relative = str(path.relative_to(upper))
            st = path.lstat()
            if stat.S_ISCHR(st.st_mode) and st.st_rdev == 0:
                kind = DELETED
            elif _in_lowers(lowers, relative):
                kind = MODIFIED
            else:
                kind = ADDED
            out.append({"Path": "/" + relative, "Kind": kind})
    return sorted(out, key=lambda c: c["Path"])


async def container_export(daemon: Daemon, container: Container, out: BinaryIO) -> None:
    """The container's whole filesystem as one tar, mounting the root for the time it takes."""
    async with container.lock:
        mounted_here = not is_mounted(rootfs(container))
        root = mount_rootfs(daemon, container)
        remap = userns.view_map(daemon, container)
        try:
            if remap is None:
                await asyncio.to_thread(write_tar, root, out)
            else:
                await asyncio.to_thread(_export_unshifted, root, out, remap, daemon.layers.tmp)
        finally:
            if mounted_here and not container.state.running:
                unmount_rootfs(container)


def _export_unshifted(root: Path, out: BinaryIO, remap: IdMap, tmp: Path) -> None:
    """A root seen through ``remap`` shows host ids: the tar gets the container's own."""
    with tempfile.TemporaryFile(dir=tmp) as spool:
        write_tar(root, spool)
        spool.seek(0)
        userns.shift_tar(spool, out, remap.container_uid, remap.container_gid)
