"""Layer tarballs: safe extraction into an overlayfs layer directory, and the reverse.

This is wharf's ``pkg/archive`` (``Unpack`` with the overlay whiteout converter,
and ``TarWithOptions``), streaming throughout: a layer is never held in memory.

Whiteouts are converted between the two worlds::

    Docker layer tar                 overlayfs directory
    dir/.wh.name          <->        dir/name   char device 0:0
    dir/.wh..wh..opq      <->        dir        xattr trusted.overlay.opaque=y

Safety rules of :func:`extract_layer` (every refusal raises :class:`UnsafeArchive`
naming the member):

* a leading ``/`` is stripped (``/etc/passwd`` lands in ``dest/etc/passwd``); a
  path whose ``..`` climbs out of ``dest`` is refused;
* every parent directory is opened with ``O_NOFOLLOW``: a member written *through*
  a symlink (``lnk/etc/x`` after ``lnk -> /``) is refused, never followed;
* symlinks are created as-is when absolute (they resolve inside the container's
  root) and refused when relative and climbing out of ``dest`` (as Docker does);
* hardlink targets must already exist inside ``dest`` and not be directories;
* ``trusted.overlay.*`` xattrs in the archive are ignored, since only whiteout conversion
  may set them; other ``SCHILY.xattr.*`` records are applied best-effort.

Expansion is bounded by :class:`ExtractLimits` (file data and member count), checked before a
member is written: a decompression bomb stops with :class:`ArchiveTooLarge` and what this
extraction created is removed. Sparse members stay sparse and runs of zeros are not written
(see ``_tardata``), so the limit counts data, not holes.
"""

from __future__ import annotations

import errno
import os
import posixpath
import shutil
import stat
import tarfile
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import structlog

from wharf_common._tarbase import (
    OPAQUE_XATTR,
    WHITEOUT_META_PREFIX,
    WHITEOUT_OPAQUE_DIR,
    WHITEOUT_PREFIX,
    ArchiveTooLarge,
    ExtractLimits,
    HashingReader,
    InvalidArchive,
    UnsafeArchive,
    open_decompressed,
)
from wharf_common._tardata import copy_data, data_size, extract_archive
from wharf_common._tarwrite import write_tar

log = structlog.get_logger(__name__)

_BUFSIZE = 1 << 16
_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
_FILE_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
_XATTR_PAX_PREFIX = "SCHILY.xattr."
_DEVICE_TYPES = {tarfile.CHRTYPE: stat.S_IFCHR, tarfile.BLKTYPE: stat.S_IFBLK, tarfile.FIFOTYPE: stat.S_IFIFO}


@dataclass(frozen=True, slots=True)
class LayerStats:
    """What :func:`extract_layer` measured: the layer's diff id and content size."""

    diff_id: str
    """``sha256:<hex>`` of the uncompressed tar stream, trailing padding included."""
    size: int
    """Sum of the sizes of the regular files extracted (whiteouts and hardlinks excluded)."""


def extract_layer(
    fileobj: BinaryIO,
    dest: Path | int,
    *,
    allow_devices: bool = False,
    limits: ExtractLimits | None = None,
) -> LayerStats:
    """Extract the (plain, gzip, bzip2 or xz) layer tar read from ``fileobj`` into ``dest``.

    ``dest`` (a path, or an open directory fd such as one resolved inside a container's root)
    is created if missing; it is expected to be a fresh directory. It may instead be
    an open directory fd (kept open for the caller), one resolved safely by the caller. Docker
    whiteouts become overlayfs whiteouts (which needs ``CAP_MKNOD``, i.e. root).
    Device nodes and fifos are created only when ``allow_devices`` is true and are
    skipped silently otherwise. Ownership (numeric), mode, mtime and xattrs are kept.

    Beyond ``limits`` (default: :class:`ExtractLimits`'s) it raises :class:`ArchiveTooLarge`
    after removing every entry it created in ``dest`` (what it overwrote stays overwritten).
    On any other error (:class:`InvalidArchive` for a corrupt or truncated stream,
    :class:`UnsafeArchive` for a hostile member, ``OSError`` from the disk) ``dest``
    is left half-written: the caller extracts into a temporary directory, deletes it
    on failure and renames it into place on success.
    """
    limits = limits or ExtractLimits()
    if isinstance(dest, Path):
        dest.mkdir(parents=True, exist_ok=True)
    reader = HashingReader(open_decompressed(fileobj), window=2 * _BUFSIZE + tarfile.BLOCKSIZE, limits=limits)
    root_fd = os.dup(dest) if isinstance(dest, int) else os.open(dest, _DIR_FLAGS)
    try:
        extractor = _Extractor(root_fd, allow_devices=allow_devices, limits=limits)
        try:
            with tarfile.open(fileobj=reader, mode="r:") as tar:  # forward seeks only: see HashingReader.seek
                while (member := tar.next()) is not None:
                    # Streaming: do not accumulate every TarInfo (typeshed omits the attribute).
                    tar.members.clear()  # type: ignore[attr-defined]
                    extractor.extract(tar, member)
                end_offset = tar.offset
        except tarfile.TarError as exc:
            raise InvalidArchive(f"invalid tar archive: {exc}") from exc
        except ArchiveTooLarge:
            extractor.undo()
            raise
        _check_end_marker(reader, end_offset)
        reader.drain()
        extractor.finish()
    finally:
        os.close(root_fd)
    return LayerStats(diff_id=f"sha256:{reader.hexdigest()}", size=extractor.size)


def _check_end_marker(reader: HashingReader, offset: int) -> None:
    """Refuse a stream that ended (or turned to garbage) where a zero block was due.

    ``tarfile`` silently treats a missing, short or invalid header as the end of the
    archive; a real end-of-archive marker is an all-zero block.
    """
    block = reader.recent(offset, offset + tarfile.BLOCKSIZE)
    if block is None or len(block) < tarfile.BLOCKSIZE:
        raise InvalidArchive("invalid tar archive: unexpected end of data")
    if block.count(0) != tarfile.BLOCKSIZE:
        raise InvalidArchive(f"invalid tar archive: invalid header at offset {offset}")


def _escapes(cleaned: str) -> bool:
    return cleaned == ".." or cleaned.startswith("../")


def _member_parts(name: str, what: str, member: str) -> tuple[str, ...]:
    """Normalize an archive path to components below the root; refuse ``..`` escapes."""
    cleaned = posixpath.normpath(name.lstrip("/"))
    if _escapes(cleaned):
        raise UnsafeArchive(f"refusing to extract {member!r}: {what} {name!r} is outside the destination")
    return () if cleaned == "." else tuple(cleaned.split("/"))


def _times_ns(member: tarfile.TarInfo) -> tuple[int, int]:
    """(atime, mtime) in nanoseconds; atime falls back to mtime as in Docker."""
    mtime = round(float(member.mtime) * 1e9)
    try:
        atime = round(float(member.pax_headers["atime"]) * 1e9)
    except (KeyError, ValueError):
        atime = mtime
    return atime, mtime


def _xattrs(member: tarfile.TarInfo) -> dict[str, bytes]:
    """The member's ``SCHILY.xattr.*`` records, minus overlayfs' own attributes."""
    found: dict[str, bytes] = {}
    for key, value in member.pax_headers.items():
        if key.startswith(_XATTR_PAX_PREFIX):
            name = key.removeprefix(_XATTR_PAX_PREFIX)
            if not name.startswith("trusted.overlay."):
                found[name] = value.encode("utf-8", "surrogateescape")
    return found


def _set_xattrs(target: int | str, member: tarfile.TarInfo) -> None:
    for name, value in _xattrs(member).items():
        try:
            if isinstance(target, int):
                os.setxattr(target, name, value)
            else:
                os.setxattr(target, name, value, follow_symlinks=False)
        except OSError as exc:
            log.debug("tar.xattr_skipped", member=member.name, xattr=name, error=str(exc))


class _Extractor:
    """Applies members one at a time below ``root_fd``, every lookup relative to a held fd."""

    def __init__(self, root_fd: int, *, allow_devices: bool, limits: ExtractLimits) -> None:
        self._root_fd = root_fd
        self._allow_devices = allow_devices
        self._limits = limits
        self._dir_times: list[tuple[tuple[str, ...], int, int]] = []
        self._files = 0
        self._written = 0
        # what to remove if the limits stop us: everything when dest started empty, else what we created
        self._was_empty = not os.listdir(root_fd)
        self._created: set[tuple[str, ...]] = set()
        self.size = 0

    def extract(self, tar: tarfile.TarFile, member: tarfile.TarInfo) -> None:
        self._files += 1
        if self._files > self._limits.max_files:
            raise self._limits.too_many_files()
        if member.isreg():
            self._written += data_size(member)
            if self._written > self._limits.max_bytes:
                raise self._limits.too_many_bytes()
        parts = _member_parts(member.name, "path", member.name)
        if parts and parts[0].startswith(WHITEOUT_META_PREFIX) and parts != (WHITEOUT_OPAQUE_DIR,):
            return  # AUFS metadata (.wh..wh.plnk, .wh..wh.aufs): never part of the rootfs
        if not parts:
            self._extract_root(member)
            return
        parent_fd = self._open_dir(parts[:-1], member.name, create=True)
        try:
            name = parts[-1]
            self._note_created(parent_fd, parts)
            if name == WHITEOUT_OPAQUE_DIR:
                os.setxattr(parent_fd, OPAQUE_XATTR, b"y")
            elif name.startswith(WHITEOUT_PREFIX):
                self._whiteout(parent_fd, name.removeprefix(WHITEOUT_PREFIX), member)
            else:
                self._extract_entry(tar, member, parts, parent_fd)
        finally:
            os.close(parent_fd)

    def _note_created(self, parent_fd: int, parts: tuple[str, ...]) -> None:
        if self._was_empty or any(parts[:depth] in self._created for depth in range(1, len(parts))):
            return  # removed with the whole destination, or with a directory we created
        try:
            os.stat(parts[-1], dir_fd=parent_fd, follow_symlinks=False)
        except FileNotFoundError:
            self._created.add(parts)

    def undo(self) -> None:
        """Remove what this extraction created (all of ``dest``'s content if it started empty)."""
        if self._was_empty:
            targets: list[tuple[str, ...]] = [(name,) for name in os.listdir(self._root_fd)]  # noqa: PTH208 - an fd
        else:
            targets = sorted(self._created, key=len, reverse=True)
        for parts in targets:
            try:
                parent_fd = self._open_dir(parts[:-1], "/".join(parts), create=False)
            except (InvalidArchive, OSError):
                continue
            try:
                _clear(parent_fd, parts[-1], keep_dir=False)
            except OSError as exc:
                log.warning("tar.undo_failed", path="/".join(parts), error=str(exc))
            finally:
                os.close(parent_fd)

    def finish(self) -> None:
        """Set directory times last: creating their children changed them."""
        for parts, atime, mtime in reversed(self._dir_times):
            try:
                fd = self._open_dir(parts, "/".join(parts), create=False)
            except (InvalidArchive, OSError):
                continue  # replaced by a later member
            try:
                os.utime(fd, ns=(atime, mtime))
            finally:
                os.close(fd)

    def _open_dir(self, parts: tuple[str, ...], member: str, *, create: bool) -> int:
        """Open ``parts`` below the root without following any symlink; may create them."""
        fd = os.dup(self._root_fd)
        try:
            for index, part in enumerate(parts):
                try:
                    child = os.open(part, _DIR_FLAGS, dir_fd=fd)
                except FileNotFoundError:
                    if not create:
                        raise
                    self._note_created(fd, parts[: index + 1])
                    os.mkdir(part, 0o755, dir_fd=fd)
                    child = os.open(part, _DIR_FLAGS, dir_fd=fd)
                    os.fchmod(child, 0o755)  # implicit parents are 0755 root:root whatever the umask
                except OSError as exc:
                    if exc.errno not in (errno.ELOOP, errno.ENOTDIR):
                        raise
                    where = "/".join(parts[: index + 1])
                    if stat.S_ISLNK(os.stat(part, dir_fd=fd, follow_symlinks=False).st_mode):
                        raise UnsafeArchive(
                            f"refusing to extract {member!r}: {where!r} is a symlink and is never followed"
                        ) from exc
                    raise InvalidArchive(f"cannot extract {member!r}: {where!r} is not a directory") from exc
                os.close(fd)
                fd = child
        except BaseException:
            os.close(fd)
            raise
        return fd

    def _extract_root(self, member: tarfile.TarInfo) -> None:
        if not member.isdir():
            raise UnsafeArchive(f"refusing to extract {member.name!r}: the root must be a directory")
        self._apply_fd_metadata(self._root_fd, member)
        self._dir_times.append(((), *_times_ns(member)))

    def _whiteout(self, parent_fd: int, name: str, member: tarfile.TarInfo) -> None:
        if name in ("", ".", ".."):
            raise UnsafeArchive(f"refusing to extract {member.name!r}: invalid whiteout")
        _clear(parent_fd, name, keep_dir=False)
        os.mknod(name, stat.S_IFCHR, os.makedev(0, 0), dir_fd=parent_fd)
        os.chown(name, member.uid, member.gid, dir_fd=parent_fd, follow_symlinks=False)

    def _extract_entry(
        self, tar: tarfile.TarFile, member: tarfile.TarInfo, parts: tuple[str, ...], parent_fd: int
    ) -> None:
        name = parts[-1]
        if member.islnk():
            self._hardlink(member, parts, parent_fd)
        elif member.isdir():
            if not _clear(parent_fd, name, keep_dir=True):
                os.mkdir(name, 0o700, dir_fd=parent_fd)
            fd = os.open(name, _DIR_FLAGS, dir_fd=parent_fd)
            try:
                self._apply_fd_metadata(fd, member)
            finally:
                os.close(fd)
            self._dir_times.append((parts, *_times_ns(member)))
        elif member.isreg():
            _clear(parent_fd, name, keep_dir=False)
            fd = os.open(name, _FILE_FLAGS, 0o600, dir_fd=parent_fd)
            try:
                copy_data(tar, member, fd)
                self._apply_fd_metadata(fd, member)
                os.utime(fd, ns=_times_ns(member))
            finally:
                os.close(fd)
            self.size += member.size
        elif member.issym():
            self._symlink(member, parts, parent_fd)
        elif member.type in _DEVICE_TYPES:
            if not self._allow_devices:
                log.debug("tar.device_skipped", member=member.name)
                return
            _clear(parent_fd, name, keep_dir=False)
            kind = _DEVICE_TYPES[member.type]
            os.mknod(name, kind | 0o600, os.makedev(member.devmajor, member.devminor), dir_fd=parent_fd)
            os.chown(name, member.uid, member.gid, dir_fd=parent_fd, follow_symlinks=False)
            os.chmod(name, member.mode & 0o7777, dir_fd=parent_fd)
            _set_xattrs(f"/proc/self/fd/{parent_fd}/{name}", member)
            os.utime(name, ns=_times_ns(member), dir_fd=parent_fd, follow_symlinks=False)
        else:
            raise InvalidArchive(f"cannot extract {member.name!r}: unhandled tar header type {member.type!r}")

    def _symlink(self, member: tarfile.TarInfo, parts: tuple[str, ...], parent_fd: int) -> None:
        target = member.linkname
        if not target.startswith("/") and _escapes(posixpath.normpath(posixpath.join(*parts[:-1], target))):
            raise UnsafeArchive(
                f"refusing to extract {member.name!r}: symlink target {target!r} is outside the destination"
            )
        name = parts[-1]
        _clear(parent_fd, name, keep_dir=False)
        os.symlink(target, name, dir_fd=parent_fd)
        os.chown(name, member.uid, member.gid, dir_fd=parent_fd, follow_symlinks=False)
        # /proc/self/fd/N resolves to the parent itself; the link's own name is not followed.
        _set_xattrs(f"/proc/self/fd/{parent_fd}/{name}", member)
        os.utime(name, ns=_times_ns(member), dir_fd=parent_fd, follow_symlinks=False)

    def _hardlink(self, member: tarfile.TarInfo, parts: tuple[str, ...], parent_fd: int) -> None:
        target = _member_parts(member.linkname, "hardlink target", member.name)
        if target == parts:
            return
        missing = UnsafeArchive(
            f"refusing to extract {member.name!r}: hardlink target {member.linkname!r} "
            "does not exist in the layer"
        )
        if not target:
            raise missing
        try:
            target_fd = self._open_dir(target[:-1], member.name, create=False)
        except FileNotFoundError:
            raise missing from None
        try:
            try:
                mode = os.stat(target[-1], dir_fd=target_fd, follow_symlinks=False).st_mode
            except FileNotFoundError:
                raise missing from None
            if stat.S_ISDIR(mode):
                raise UnsafeArchive(f"refusing to extract {member.name!r}: hardlink target is a directory")
            _clear(parent_fd, parts[-1], keep_dir=False)
            os.link(target[-1], parts[-1], src_dir_fd=target_fd, dst_dir_fd=parent_fd, follow_symlinks=False)
        finally:
            os.close(target_fd)

    def _apply_fd_metadata(self, fd: int, member: tarfile.TarInfo) -> None:
        """Owner, then mode (chown clears set-id bits), then xattrs (chown clears caps)."""
        os.fchown(fd, member.uid, member.gid)
        os.fchmod(fd, member.mode & 0o7777)
        _set_xattrs(fd, member)


def _clear(parent_fd: int, name: str, *, keep_dir: bool) -> bool:
    """Remove whatever ``name`` is, unless it is a directory and ``keep_dir`` (then merge)."""
    try:
        mode = os.stat(name, dir_fd=parent_fd, follow_symlinks=False).st_mode
    except FileNotFoundError:
        return False
    if stat.S_ISDIR(mode):
        if keep_dir:
            return True
        shutil.rmtree(name, dir_fd=parent_fd)
    else:
        os.unlink(name, dir_fd=parent_fd)
    return False


__all__ = [
    "OPAQUE_XATTR",
    "WHITEOUT_OPAQUE_DIR",
    "WHITEOUT_PREFIX",
    "ArchiveTooLarge",
    "ExtractLimits",
    "InvalidArchive",
    "LayerStats",
    "UnsafeArchive",
    "extract_archive",
    "extract_layer",
    "open_decompressed",
    "write_tar",
]
