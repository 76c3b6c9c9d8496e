"""Open a path inside a container's root, the kernel keeping every step of the walk in it.

A running container changes its files while the engine looks at them: a path resolved once and
used later (``/proc/<pid>/root/...``) may by then lead through a symlink to the host's ``/``
(CVE-2018-15664). ``openat2(RESOLVE_IN_ROOT)`` resolves the whole path in one call, treating the
given directory fd as ``/``: absolute symlinks and ``..`` stay inside it whatever the container
swaps, and what comes back is an fd, not a path. Everything past it goes through fds with
O_NOFOLLOW, one name at a time (``tree_to_tar``, and ``extract_layer`` for the other way).
"""

from __future__ import annotations

import ctypes
import errno
import os
import stat
import tarfile
from collections.abc import Callable
from typing import BinaryIO

SYS_OPENAT2 = 437  # the same number on x86_64 and aarch64
RESOLVE_NO_MAGICLINKS = 0x02
RESOLVE_IN_ROOT = 0x10
Owner = Callable[[tarfile.TarInfo], tarfile.TarInfo]
PSEUDO_MOUNTS = ("/proc", "/sys", "/sys/fs/cgroup")
RETRIES = 32  # the kernel answers EAGAIN when a rename raced a ".." walk

_libc = ctypes.CDLL(None, use_errno=True)


class _OpenHow(ctypes.Structure):
    _fields_ = [("flags", ctypes.c_uint64), ("mode", ctypes.c_uint64), ("resolve", ctypes.c_uint64)]


def open_in_root(root_fd: int, path: str, flags: int) -> int:
    """``path`` opened as the container sees it, ``root_fd`` being its ``/``; OSError as open(2)."""
    how = _OpenHow(flags | os.O_CLOEXEC, 0, RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS)
    raw = os.fsencode(path or "/")
    err = errno.EAGAIN
    for _ in range(RETRIES):
        fd = int(
            _libc.syscall(
                ctypes.c_long(SYS_OPENAT2),
                ctypes.c_int(root_fd),
                ctypes.c_char_p(raw),
                ctypes.byref(how),
                ctypes.c_size_t(ctypes.sizeof(how)),
            )
        )
        if fd >= 0:
            return fd
        err = ctypes.get_errno()
        if err != errno.EAGAIN:
            break
    raise OSError(err, os.strerror(err), path)


_GONE = (errno.ENOENT, errno.ELOOP, errno.ENOTDIR, errno.ENXIO)  # changed under us: skip it


def _info(st: os.stat_result, arcname: str) -> tarfile.TarInfo:
    info = tarfile.TarInfo(arcname)
    info.mode = stat.S_IMODE(st.st_mode)
    info.uid, info.gid = st.st_uid, st.st_gid
    info.mtime = int(st.st_mtime)
    return info


class _TreeWriter:
    """Adds entries to ``tar`` from (dir fd, name) pairs, never following a symlink."""

    def __init__(self, tar: tarfile.TarFile, pseudo: set[int], owner: Owner | None) -> None:
        self.tar = tar
        self.pseudo = pseudo  # devices whose directories are archived empty
        self.owner = owner  # host ids -> the ids the container sees, where they differ
        self.links: dict[tuple[int, int], str] = {}

    def addfile(self, info: tarfile.TarInfo, f: BinaryIO | None = None) -> None:
        self.tar.addfile(self.owner(info) if self.owner else info, f)

    def add(self, parent_fd: int, name: str, arcname: str) -> None:
        try:
            st = os.stat(name, dir_fd=parent_fd, follow_symlinks=False)
            if stat.S_ISDIR(st.st_mode):
                fd = os.open(
                    name, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC, dir_fd=parent_fd
                )
                try:
                    self.add_dir(fd, arcname)
                finally:
                    os.close(fd)
            elif stat.S_ISREG(st.st_mode):
                self.add_file(parent_fd, name, arcname)
            elif stat.S_ISLNK(st.st_mode):
                info = _info(st, arcname)
                info.type = tarfile.SYMTYPE
                info.linkname = os.readlink(name, dir_fd=parent_fd)
                self.addfile(info)
            elif stat.S_ISFIFO(st.st_mode) or stat.S_ISCHR(st.st_mode) or stat.S_ISBLK(st.st_mode):
                info = _info(st, arcname)
                info.type = (
                    tarfile.FIFOTYPE
                    if stat.S_ISFIFO(st.st_mode)
                    else tarfile.CHRTYPE
                    if stat.S_ISCHR(st.st_mode)
                    else tarfile.BLKTYPE
                )
                info.devmajor, info.devminor = os.major(st.st_rdev), os.minor(st.st_rdev)
                self.addfile(info)
            # sockets are not archived, as in Docker
        except OSError as exc:
            if exc.errno not in _GONE:
                raise

    def add_dir(self, fd: int, arcname: str) -> None:
        st = os.fstat(fd)
        info = _info(st, arcname)
        info.type = tarfile.DIRTYPE
        self.addfile(info)
        if st.st_dev in self.pseudo:
            return
        for name in sorted(os.listdir(fd)):
            self.add(fd, name, f"{arcname.rstrip('/')}/{name}")

    def add_file(self, parent_fd: int, name: str, arcname: str) -> None:
        fd = os.open(name, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC, dir_fd=parent_fd)
        with open(fd, "rb") as f:
            st = os.fstat(fd)
            if not stat.S_ISREG(st.st_mode):
                return  # swapped for something else since the stat
            info = _info(st, arcname)
            key = (st.st_dev, st.st_ino)
            if st.st_nlink > 1 and key in self.links:
                info.type = tarfile.LNKTYPE
                info.linkname = self.links[key]
                self.addfile(info)
                return
            if st.st_nlink > 1:
                self.links[key] = arcname
            info.size = st.st_size
            self.addfile(info, f)


def pseudo_devices(root_fd: int) -> set[int]:
    """The devices of the container's /proc, /sys and cgroup mounts (the kernel's, not its files).

    A copy lists them as empty directories, as Docker's copy of the container's filesystem does,
    and never reads the host's kernel state as the engine's root.
    """
    root_dev = os.fstat(root_fd).st_dev
    found = set()
    for path in PSEUDO_MOUNTS:
        try:
            fd = open_in_root(root_fd, path, os.O_PATH | os.O_DIRECTORY | os.O_NOFOLLOW)
        except OSError:
            continue
        try:
            found.add(os.fstat(fd).st_dev)
        finally:
            os.close(fd)
    return found - {root_dev}


def tree_to_tar(
    tar: tarfile.TarFile,
    parent_fd: int,
    name: str,
    arcname: str,
    pseudo: set[int],
    owner: Owner | None = None,
) -> None:
    """Archive ``name`` in ``parent_fd`` (or, with ``name`` empty, the directory ``parent_fd``)."""
    writer = _TreeWriter(tar, pseudo, owner)
    if name:
        writer.add(parent_fd, name, arcname)
    else:
        writer.add_dir(parent_fd, arcname)
