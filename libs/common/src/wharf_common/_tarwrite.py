"""Write a directory as a Docker layer tar (private; exported by :mod:`wharf_common.tarfiles`)."""

from __future__ import annotations

import os
import stat
import tarfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import BinaryIO

from wharf_common._tarbase import OPAQUE_XATTR, WHITEOUT_OPAQUE_DIR, WHITEOUT_PREFIX, HashingWriter

_BUFSIZE = 1 << 16
_KEPT_XATTRS = ("security.capability",)  # what Docker's tar writer records, and only that
_DEVICE_TYPES = {stat.S_IFCHR: tarfile.CHRTYPE, stat.S_IFBLK: tarfile.BLKTYPE}


Owner = Callable[[int, int], tuple[int, int]]


def write_tar(src_dir: Path, out: BinaryIO, *, owner: Owner | None = None) -> str:
    """Write ``src_dir``'s content to ``out`` as a plain PAX tar; return its diff id.

    Entries are written depth first in lexical (byte) order, as Go's ``filepath.Walk``
    does, with names relative to ``src_dir`` (the root itself is not an entry),
    numeric owners and no user or group names, whole-second mtimes and no atimes, so
    the same tree always gives the same bytes. Files sharing an inode become
    hardlinks; sockets are skipped.

    overlayfs whiteouts become Docker's: a char device 0:0 ``name`` is written as an
    empty ``.wh.name`` file, and a directory with ``trusted.overlay.opaque=y`` is
    followed by a ``.wh..wh..opq`` entry. The returned id is ``sha256:<hex>`` of all
    bytes written, end-of-archive padding included. ``out`` is not closed. ``owner`` maps
    each entry's (uid, gid) on disk to the one written (a tree kept with shifted ids).
    """
    writer = HashingWriter(out)
    links: dict[tuple[int, int], str] = {}
    with tarfile.open(fileobj=writer, mode="w|", format=tarfile.PAX_FORMAT, bufsize=_BUFSIZE) as tar:
        for name, path, st in _walk(os.fspath(src_dir)):
            _add(tar, name, path, st, links, owner)
    return f"sha256:{writer.hexdigest()}"


def _walk(root: str) -> Iterator[tuple[str, str, os.stat_result]]:
    """Yield ``(archive name, path, lstat)`` depth first, each directory sorted by name bytes."""
    stack: list[tuple[str, Iterator[os.DirEntry[str]]]] = [("", _sorted_entries(root))]
    while stack:
        prefix, entries = stack[-1]
        entry = next(entries, None)
        if entry is None:
            stack.pop()
            continue
        st = entry.stat(follow_symlinks=False)
        name = prefix + entry.name
        yield name, entry.path, st
        if stat.S_ISDIR(st.st_mode):
            stack.append((name + "/", _sorted_entries(entry.path)))


def _sorted_entries(directory: str) -> Iterator[os.DirEntry[str]]:
    with os.scandir(directory) as scan:
        return iter(sorted(scan, key=lambda entry: os.fsencode(entry.name)))


def _header(name: str, st: os.stat_result, kind: bytes, owner: Owner | None = None) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type = kind
    info.mode = stat.S_IMODE(st.st_mode)
    info.uid, info.gid = owner(st.st_uid, st.st_gid) if owner is not None else (st.st_uid, st.st_gid)
    info.uname = info.gname = ""
    info.mtime = int(st.st_mtime)
    return info


def _add(
    tar: tarfile.TarFile,
    name: str,
    path: str,
    st: os.stat_result,
    links: dict[tuple[int, int], str],
    owner: Owner | None,
) -> None:
    mode = st.st_mode
    if stat.S_ISREG(mode):
        key = (st.st_dev, st.st_ino)
        if st.st_nlink > 1 and key in links:
            info = _header(name, st, tarfile.LNKTYPE, owner)
            info.linkname = links[key]
            tar.addfile(info)
            return
        if st.st_nlink > 1:
            links[key] = name
        info = _header(name, st, tarfile.REGTYPE, owner)
        info.size = st.st_size
        info.pax_headers = _xattr_records(path)
        with open(os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC), "rb") as content:
            tar.addfile(info, content)
    elif stat.S_ISDIR(mode):
        info = _header(name, st, tarfile.DIRTYPE, owner)
        info.pax_headers = _xattr_records(path)
        tar.addfile(info)
        if _is_opaque(path):
            marker = _header(f"{name}/{WHITEOUT_OPAQUE_DIR}", st, tarfile.REGTYPE, owner)
            tar.addfile(marker)
    elif stat.S_ISLNK(mode):
        info = _header(name, st, tarfile.SYMTYPE, owner)
        info.linkname = str(Path(path).readlink())
        tar.addfile(info)
    elif stat.S_ISCHR(mode) and st.st_rdev == 0:
        parent, _, base = name.rpartition("/")
        whiteout = _header(f"{parent}/{WHITEOUT_PREFIX}{base}".lstrip("/"), st, tarfile.REGTYPE, owner)
        whiteout.mode = 0o600
        tar.addfile(whiteout)
    elif stat.S_IFMT(mode) in _DEVICE_TYPES:
        info = _header(name, st, _DEVICE_TYPES[stat.S_IFMT(mode)], owner)
        info.devmajor, info.devminor = os.major(st.st_rdev), os.minor(st.st_rdev)
        tar.addfile(info)
    elif stat.S_ISFIFO(mode):
        tar.addfile(_header(name, st, tarfile.FIFOTYPE, owner))
    # sockets (and anything else) are not archived, as in Docker


def _is_opaque(path: str) -> bool:
    try:
        return os.getxattr(path, OPAQUE_XATTR, follow_symlinks=False) == b"y"
    except OSError:
        return False


def _xattr_records(path: str) -> dict[str, str]:
    records: dict[str, str] = {}
    for name in _KEPT_XATTRS:
        try:
            value = os.getxattr(path, name, follow_symlinks=False)
        except OSError:
            continue
        records[f"SCHILY.xattr.{name}"] = value.decode("utf-8", "surrogateescape")
    return records


__all__ = ["write_tar"]
