"""Overlay roots on idmapped layers: a remapped container sees its image's files as its own.

The layers stay on disk as the image has them (uid 0 is 0): the overlay is built from an
idmapped clone of the data root (``mount_setattr(MOUNT_ATTR_IDMAP)``), so through it on-disk
id ``n`` is host id ``start + n``, and what the container writes lands in the upper dir with
its in-container ids. Nothing is chowned, a commit needs no shifting back, and one copy of a
layer serves remapped and host containers alike. The layers are handed to overlayfs as file
descriptors (``fsconfig(FSCONFIG_SET_FD, "lowerdir+")``, Linux 6.13+), so no idmapped mount
is ever attached where the host could see it. Overlayfs works the upper dir with its
mounter's credentials, which must be mapped there: the superblock is created with the
remapped root as file-system uid and gid (capabilities kept).
"""

from __future__ import annotations

import ctypes
import os
import shutil
import struct
from pathlib import Path

from wharf_common.errors import SystemFault

from wharf_engine.idmap import IdMap

from .mounts import unmount

_libc = ctypes.CDLL(None, use_errno=True)
_libc.syscall.restype = ctypes.c_long

# x86_64 and aarch64 share these (the new mount API came after the syscall table was unified)
SYS_CAPGET, SYS_CAPSET = (125, 126) if os.uname().machine == "x86_64" else (90, 91)
SYS_OPEN_TREE, SYS_MOVE_MOUNT, SYS_FSOPEN, SYS_FSCONFIG, SYS_FSMOUNT = 428, 429, 430, 431, 432
SYS_MOUNT_SETATTR = 442
OPEN_TREE_CLONE = 1
AT_EMPTY_PATH = 0x1000
MOUNT_ATTR_IDMAP = 0x00100000
FSOPEN_CLOEXEC = FSMOUNT_CLOEXEC = 1
FSCONFIG_SET_FD, FSCONFIG_CMD_CREATE = 5, 6
MOVE_MOUNT_F_EMPTY_PATH = 4
CLONE_NEWUSER = 0x10000000
CAP_VERSION_3 = 0x20080522


def _call(nr: int, *args: object, what: str) -> int:
    rc = int(_libc.syscall(ctypes.c_long(nr), *args))
    if rc < 0:
        err = ctypes.get_errno()
        raise OSError(err, f"{what}: {os.strerror(err)}")
    return rc


def userns_fd(idmap: IdMap) -> int:
    """An fd of a user namespace with ``idmap``'s mapping (its only process is gone at return)."""
    ready_r, ready_w = os.pipe()
    go_r, go_w = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child: unshare, say so, wait to be read, leave
        os.close(ready_r)
        os.close(go_w)
        ok = _libc.unshare(CLONE_NEWUSER) == 0
        os.write(ready_w, b"1" if ok else b"0")
        os.read(go_r, 1)
        os._exit(0 if ok else 1)
    os.close(ready_w)
    os.close(go_r)
    try:
        if os.read(ready_r, 1) != b"1":
            raise SystemFault("--userns-remap: cannot create a user namespace (unshare(CLONE_NEWUSER))")
        Path(f"/proc/{pid}/uid_map").write_text(f"0 {idmap.uids.start} {idmap.uids.size}\n")
        Path(f"/proc/{pid}/gid_map").write_text(f"0 {idmap.gids.start} {idmap.gids.size}\n")
        return os.open(f"/proc/{pid}/ns/user", os.O_RDONLY | os.O_CLOEXEC)
    finally:
        os.close(ready_r)
        os.close(go_w)
        os.waitpid(pid, 0)


class MappedRootCredentials:
    """This thread's file-system ids set to the remapped root, its capabilities kept effective."""

    def __init__(self, idmap: IdMap) -> None:
        self.idmap = idmap

    def __enter__(self) -> None:
        _libc.setfsgid(self.idmap.gid)
        _libc.setfsuid(self.idmap.uid)  # clears the file capabilities from the effective set
        header = ctypes.create_string_buffer(struct.pack("Ii", CAP_VERSION_3, 0))
        data = ctypes.create_string_buffer(24)
        _call(SYS_CAPGET, header, data, what="capget")
        _eff0, perm0, inh0, _eff1, perm1, inh1 = struct.unpack("6I", data.raw)
        raised = ctypes.create_string_buffer(struct.pack("6I", perm0, perm0, inh0, perm1, perm1, inh1))
        _call(SYS_CAPSET, header, raised, what="capset")

    def __exit__(self, *_exc: object) -> None:
        _libc.setfsuid(0)  # back to 0: the file capabilities return
        _libc.setfsgid(0)


class IdmappedOverlay:
    """Mounts overlay roots whose layers are seen through ``idmap`` (one user namespace, kept)."""

    def __init__(self, idmap: IdMap) -> None:
        self.idmap = idmap
        self._userns = userns_fd(idmap)

    def close(self) -> None:
        os.close(self._userns)

    def mount(self, base: Path, lowers: list[Path], upper: Path, work: Path, target: Path) -> None:
        """Mount ``lowers`` (topmost first) under ``upper`` at ``target``; all inside ``base``."""
        fds: list[int] = []
        try:
            tree = _call(
                SYS_OPEN_TREE,
                -100,
                str(base).encode(),
                OPEN_TREE_CLONE | os.O_CLOEXEC,
                what=f"open_tree {base}",
            )
            fds.append(tree)
            attr = ctypes.create_string_buffer(struct.pack("QQQQ", MOUNT_ATTR_IDMAP, 0, 0, self._userns))
            _call(SYS_MOUNT_SETATTR, tree, b"", AT_EMPTY_PATH, attr, 32, what=f"idmap {base}")
            fs = _call(SYS_FSOPEN, b"overlay", FSOPEN_CLOEXEC, what="fsopen overlay")
            fds.append(fs)
            layers = [*(("lowerdir+", p) for p in lowers), ("upperdir", upper), ("workdir", work)]
            for key, path in layers:
                fd = os.open(path.relative_to(base), os.O_PATH | os.O_DIRECTORY | os.O_CLOEXEC, dir_fd=tree)
                fds.append(fd)
                _call(SYS_FSCONFIG, fs, FSCONFIG_SET_FD, key.encode(), None, fd, what=f"overlay {key} {path}")
            with MappedRootCredentials(self.idmap):
                _call(SYS_FSCONFIG, fs, FSCONFIG_CMD_CREATE, None, None, 0, what="overlay create")
            mnt = _call(SYS_FSMOUNT, fs, FSMOUNT_CLOEXEC, 0, what="fsmount overlay")
            fds.append(mnt)
            _call(
                SYS_MOVE_MOUNT,
                mnt,
                b"",
                -100,
                str(target).encode(),
                MOVE_MOUNT_F_EMPTY_PATH,
                what=f"move_mount to {target}",
            )
        except OSError as exc:
            raise SystemFault(f"mount idmapped overlay at {target}: {exc.strerror}") from None
        finally:
            for fd in fds:
                os.close(fd)

    def probe(self, scratch: Path) -> None:
        """Mount and unmount a tiny root in ``scratch``: SystemFault naming what the host lacks."""
        dirs = [scratch / n for n in ("lower", "upper", "work", "merged")]
        for d in dirs:
            d.mkdir(parents=True, exist_ok=True)
        try:
            self.mount(scratch, dirs[:1], dirs[1], dirs[2], dirs[3])
            try:
                if dirs[3].stat().st_uid != self.idmap.uid:
                    raise SystemFault("idmapped overlay does not shift ownership here")
                if "rw" not in _super_options(dirs[3]):
                    raise SystemFault("idmapped overlay came up read-only (see the kernel log)")
            finally:
                unmount(dirs[3])
        finally:
            shutil.rmtree(scratch, ignore_errors=True)


def _super_options(target: Path) -> list[str]:
    with open("/proc/self/mountinfo") as f:
        for line in f:
            fields = line.split()
            if fields[4] == str(target):
                return fields[-1].split(",")
    return []
