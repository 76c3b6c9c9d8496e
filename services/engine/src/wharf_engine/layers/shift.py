"""Ownership shifted on disk, for ``--userns-remap`` where idmapped overlay roots are not possible.

As dockerd: a layer is chowned once, when it is unpacked, so that container id ``n`` is host
id ``start + n`` on disk; tars written from such a tree shift back (``write_tar(owner=...)``),
so a layer leaves the engine exactly as it came in. The ranges never overlap (``start`` is at
least the range's size), so an id below the size is an in-container one and an id inside the
range a host one: :func:`shift_tree` shifts the former and keeps the latter, which makes it
safe on a tree that mixes both (an upper dir the engine wrote into for a build step).
"""

from __future__ import annotations

import os
import stat
from collections.abc import Callable
from pathlib import Path

from wharf_common.errors import InvalidArgument

from wharf_engine.idmap import IdMap

CAPABILITY_XATTR = "security.capability"


class UnmappableId(InvalidArgument):
    def __init__(self, path: Path, uid: int, gid: int, idmap: IdMap) -> None:
        super().__init__(
            f"{path}: owner {uid}:{gid} cannot be mapped into the remapped range "
            f"({idmap.uids.size} uids, {idmap.gids.size} gids)"
        )


def _to_host(idmap: IdMap, path: Path, uid: int, gid: int) -> tuple[int, int]:
    in_uids = idmap.uids.start <= uid < idmap.uids.start + idmap.uids.size
    in_gids = idmap.gids.start <= gid < idmap.gids.start + idmap.gids.size
    if (not in_uids and uid >= idmap.uids.size) or (not in_gids and gid >= idmap.gids.size):
        raise UnmappableId(path, uid, gid, idmap)
    return (uid if in_uids else idmap.host_uid(uid)), (gid if in_gids else idmap.host_gid(gid))


def shift_tree(root: Path, idmap: IdMap) -> None:
    """Give ``root`` and everything under it host ids; set-id bits and file capabilities kept."""
    for dirpath, dirs, files in os.walk(root):
        here = Path(dirpath)
        if here == root:
            shift_entry(here, idmap)
        for name in [*dirs, *files]:
            shift_entry(here / name, idmap)


def shift_entry(path: Path, idmap: IdMap) -> None:
    """One entry (not what is under it) given host ids."""
    st = path.lstat()
    uid, gid = _to_host(idmap, path, st.st_uid, st.st_gid)
    if (uid, gid) == (st.st_uid, st.st_gid):
        return
    regular = stat.S_ISREG(st.st_mode)
    caps = None
    if regular:
        try:
            caps = os.getxattr(path, CAPABILITY_XATTR, follow_symlinks=False)
        except OSError:
            pass
    os.chown(path, uid, gid, follow_symlinks=False)  # clears set-id bits and capabilities: put back
    if not stat.S_ISLNK(st.st_mode) and st.st_mode & (stat.S_ISUID | stat.S_ISGID):
        path.chmod(stat.S_IMODE(st.st_mode))
    if caps is not None:
        os.setxattr(path, CAPABILITY_XATTR, caps, follow_symlinks=False)


def unshifted(idmap: IdMap) -> Callable[[int, int], tuple[int, int]]:
    """``write_tar``'s ``owner``: host ids back to the container's (others as they are)."""
    return lambda uid, gid: (idmap.container_uid(uid), idmap.container_gid(gid))
