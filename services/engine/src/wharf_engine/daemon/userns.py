"""The daemon's side of ``--userns-remap``: which containers are remapped, and what they may use.

A remapped container's root is the remap user's first subordinate id on the host. Its root
file system is an overlay of idmapped layers where the kernel can mount one (layers stay as
the image has them), else, as dockerd, of layers chowned once at unpack into the range, kept
under ``<data-root>/<uid>.<gid>``. What the engine makes for it on the host (the /etc files
bound in, a missing bind source, a fresh volume) belongs to that id, as dockerd does; the
data root must let it through to its root file system (o+x), as dockerd requires.
"""

from __future__ import annotations

import os
import stat
import tarfile
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO

import structlog
from wharf_common.errors import InvalidArgument

from wharf_engine.containers.container import Container
from wharf_engine.idmap import IdMap, RemapUnavailable, resolve
from wharf_engine.layers.idmapped import IdmappedOverlay
from wharf_engine.settings import Settings

if TYPE_CHECKING:
    from .daemon import Daemon

log = structlog.get_logger(__name__)

PRIVILEGED_WITH_USERNS = (
    "privileged mode is incompatible with user namespaces.  "
    "You must run the container in the host namespace when running privileged mode"
)


def setup(settings: Settings, scratch: Path) -> tuple[IdMap, IdmappedOverlay | None] | None:
    """At start-up: resolve ``--userns-remap`` and open up the data root; an idmapped overlay
    when the kernel can mount one (tried in ``scratch``), else None: layers get chowned."""
    if not settings.userns_remap:
        return None
    idmap = resolve(settings.userns_remap)
    root = settings.data_root
    for parent in root.resolve().parents:
        if not _searchable_by_others(parent):
            raise RemapUnavailable(
                f"--userns-remap: {parent} (a parent of the data root {root}) does not let the remapped "
                f"root (uid {idmap.uid}) through: allow o+x on it"
            )
    _let_through(root)
    overlay = None
    if settings.userns_remap_idmapped:
        try:
            overlay = IdmappedOverlay(idmap)
            overlay.probe(scratch)
        except Exception as exc:
            if overlay is not None:
                overlay.close()
                overlay = None
            log.warning("engine.userns_remap_chown", reason=str(exc))
    log.info(
        "engine.userns_remap",
        user=idmap.user,
        group=idmap.group,
        uid=idmap.uid,
        gid=idmap.gid,
        size=idmap.uids.size,
        layers="idmapped" if overlay is not None else "chowned",
    )
    return idmap, overlay


def range_root(data_root: Path, idmap: IdMap) -> Path:
    """``<data-root>/<uid>.<gid>``: where layers chowned into ``idmap``'s range live."""
    root = data_root / f"{idmap.uid}.{idmap.gid}"
    root.mkdir(exist_ok=True)
    _let_through(root)
    return root


def _let_through(path: Path) -> None:
    mode = stat.S_IMODE(path.stat().st_mode)
    if not mode & 0o001:
        path.chmod(mode | 0o001)  # as dockerd: the remapped root passes through to its containers


def _searchable_by_others(path: Path) -> bool:
    return bool(path.stat().st_mode & 0o001)


def validate(daemon: Daemon, host_config: Mapping[str, Any]) -> None:
    """At create: ``--userns`` is empty or ``host``; privileged needs ``host`` under remap (as Docker)."""
    mode = str(host_config.get("UsernsMode") or "")
    if mode not in ("", "host"):
        raise InvalidArgument(f"invalid USER mode: {mode!r} (only 'host' is supported)")
    if daemon.remap is not None and host_config.get("Privileged") and mode != "host":
        raise InvalidArgument(PRIVILEGED_WITH_USERNS)


def view_map(daemon: Daemon, container: Container) -> IdMap | None:
    """The mapping the host sees ``container``'s files through: layers chowned into the range
    always; an idmapped root while it runs (stopped, its root is mounted plain)."""
    if daemon.layers.shift is not None:
        return daemon.layers.shift
    return remap_of(daemon, container) if container.state.running and container.state.pid else None


def remap_of(daemon: Daemon, container: Container) -> IdMap | None:
    """The mapping ``container`` runs under, or None when it shares the host's ids."""
    if daemon.remap is None or container.host_config.get("UsernsMode") == "host":
        return None
    return daemon.remap


def joined_userns(daemon: Daemon, container: Container) -> str | None:
    """``--net container:X``: a remapped X's user namespace, which owns the network one joined."""
    mode = str(container.host_config.get("NetworkMode") or "")
    if remap_of(daemon, container) is None or not mode.startswith("container:"):
        return None
    other = daemon.containers.get(mode.split(":", 1)[1])
    if remap_of(daemon, other) is None or not other.state.pid:
        return None
    return f"/proc/{other.state.pid}/ns/user"


def give_to_root(idmap: IdMap | None, *paths: Path) -> None:
    """Make ``paths`` the remapped root's (a no-op without a mapping)."""
    if idmap is None:
        return
    for path in paths:
        os.chown(path, idmap.uid, idmap.gid, follow_symlinks=False)


PAX_OWNER = ("uid", "gid", "uname", "gname")


def shift_tar(src: BinaryIO, dst: BinaryIO, uid: Callable[[int], int], gid: Callable[[int], int]) -> None:
    """Copy the tar ``src`` to ``dst`` with every member's owner passed through ``uid``/``gid``."""
    with (
        tarfile.open(fileobj=src, mode="r|*") as tin,
        tarfile.open(fileobj=dst, mode="w|", format=tarfile.PAX_FORMAT) as tout,
    ):
        while (member := tin.next()) is not None:
            tin.members.clear()  # type: ignore[attr-defined]  # streaming: keep no TarInfo
            member.uid, member.gid = uid(member.uid), gid(member.gid)
            member.pax_headers = {k: v for k, v in member.pax_headers.items() if k not in PAX_OWNER}
            member.uname = member.gname = ""
            tout.addfile(member, tin.extractfile(member) if member.isreg() else None)


def security_options(daemon: Daemon) -> list[str]:
    return ["name=userns"] if daemon.remap is not None else []
