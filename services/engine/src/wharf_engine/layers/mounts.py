"""mount(2) and umount(2) for overlay roots, without spawning /bin/mount."""

from __future__ import annotations

import ctypes
import os
from pathlib import Path

from wharf_common.errors import SystemFault

_libc = ctypes.CDLL(None, use_errno=True)
MNT_DETACH = 2


def mount_overlay(lowers: list[Path], upper: Path, work: Path, target: Path) -> None:
    """Mount ``lowers`` (topmost first) under ``upper`` at ``target``."""
    options = f"lowerdir={':'.join(str(p) for p in lowers)},upperdir={upper},workdir={work}"
    if len(options) >= 4096:
        raise SystemFault(f"too many layers to mount ({len(lowers)})")
    rc = _libc.mount(b"overlay", str(target).encode(), b"overlay", 0, options.encode())
    if rc != 0:
        err = ctypes.get_errno()
        raise SystemFault(f"mount overlay at {target}: {os.strerror(err)}")


def unmount(target: Path) -> None:
    """Lazily unmount ``target``; a path that is not mounted is fine."""
    rc = _libc.umount2(str(target).encode(), MNT_DETACH)
    if rc != 0:
        err = ctypes.get_errno()
        if err not in (22, 2):  # EINVAL: not a mount point; ENOENT: gone
            raise SystemFault(f"unmount {target}: {os.strerror(err)}")


def is_mounted(target: Path) -> bool:
    wanted = str(target)
    with open("/proc/self/mounts") as f:
        return any(line.split()[1] == wanted for line in f)


MS_RDONLY, MS_REMOUNT, MS_BIND, MS_REC = 1, 32, 4096, 16384


def bind_mount(source: Path, target: Path, *, read_only: bool = False) -> None:
    """Bind ``source`` (recursively) onto ``target``, read-only if asked."""
    rc = _libc.mount(str(source).encode(), str(target).encode(), None, MS_BIND | MS_REC, None)
    if rc == 0 and read_only:
        rc = _libc.mount(None, str(target).encode(), None, MS_BIND | MS_REMOUNT | MS_RDONLY, None)
        if rc != 0:
            err = ctypes.get_errno()
            unmount(target)
            raise SystemFault(f"bind mount {source} at {target} read-only: {os.strerror(err)}")
    if rc != 0:
        err = ctypes.get_errno()
        raise SystemFault(f"bind mount {source} at {target}: {os.strerror(err)}")
