"""Volumes: VolumeCreate/List/Inspect/Remove/Prune, and the mounts a container gets from them."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import TYPE_CHECKING, Any

import structlog
from wharf_common.errors import InvalidArgument, NotFound

from wharf_engine.build.paths import scoped
from wharf_engine.containers.container import Container
from wharf_engine.idmap import IdMap
from wharf_engine.shapes import ContainerConfig, HostConfig, MountPoint
from wharf_engine.volumes.errors import InvalidMount, VolumeInUse
from wharf_engine.volumes.mounts import parse_bind, parse_volumes_from
from wharf_engine.volumes.mountspec import MountSpec, by_target, parse_all

from .userns import give_to_root

if TYPE_CHECKING:
    from .daemon import Daemon

log = structlog.get_logger(__name__)


def referenced(daemon: Daemon, name: str) -> Container:
    """A container named by --link or --volumes-from; missing is a bad parameter (400), as Docker,
    so that clients do not take it for a missing image and try to pull."""
    try:
        return daemon.containers.get(name)
    except NotFound:
        raise InvalidArgument(f"could not get container for {name}: No such container: {name}") from None


def check_driver(driver: str, driver_opts: dict[str, str] | None) -> None:
    """Only the local driver, and without its mount options (type, device, o): 400 otherwise."""
    if driver not in ("", "local"):
        raise InvalidArgument(f'error looking up volume plugin {driver}: plugin "{driver}" not found')
    if driver_opts:
        raise InvalidArgument(
            f"DriverOpts {sorted(driver_opts)} are not supported: local volumes here are plain directories"
        )


def _users(daemon: Daemon, name: str) -> list[str]:
    return [c.id for c in daemon.containers.all() if any(m.get("Name") == name for m in c.mounts)]


def volume_inspect(daemon: Daemon, name: str) -> dict[str, Any]:
    record = dict(daemon.volumes.get(name))
    record.pop("Anonymous", None)
    return record


def volume_list(daemon: Daemon, filters: dict[str, list[str]]) -> dict[str, Any]:
    out = []
    for record in daemon.volumes.all():
        if filters.get("dangling"):  # a key without values filters nothing, as in Docker
            dangling = filters["dangling"][0].lower() in ("true", "1")
            if dangling != (not _users(daemon, record["Name"])):
                continue
        if "name" in filters and not any(v in record["Name"] for v in filters["name"]):
            continue
        if "driver" in filters and record.get("Driver") not in filters["driver"]:
            continue
        labels = record.get("Labels") or {}
        if not all(_label_match(spec, labels) for spec in filters.get("label", [])):
            continue
        record = dict(record)
        record.pop("Anonymous", None)
        out.append(record)
    return {"Volumes": out, "Warnings": []}


def _label_match(spec: str, labels: dict[str, str]) -> bool:
    """``key`` or ``key=value``, as ``docker volume ls --filter label=...``."""
    key, eq, value = spec.partition("=")
    return key in labels and (not eq or labels[key] == value)


def volume_remove(daemon: Daemon, name: str, *, force: bool) -> None:
    users = _users(daemon, name)
    if users:
        raise VolumeInUse(name, users)
    daemon.volumes.remove(name)


def volume_prune(daemon: Daemon, *, all_volumes: bool = False) -> dict[str, Any]:
    """Unused anonymous volumes go (Docker's default since API 1.42); with ``all=true`` named ones too."""
    deleted, reclaimed = [], 0
    for record in daemon.volumes.all():
        if (all_volumes or record.get("Anonymous")) and not _users(daemon, record["Name"]):
            reclaimed += _size(Path(record["Mountpoint"]))
            daemon.volumes.remove(record["Name"])
            deleted.append(record["Name"])
    return {"VolumesDeleted": deleted or None, "SpaceReclaimed": reclaimed}


def _size(path: Path) -> int:
    return sum(p.lstat().st_size for p in path.rglob("*") if p.is_file() and not p.is_symlink())


def _volume_mount(
    daemon: Daemon, name: str | None, destination: str, read_only: bool, labels: dict[str, str] | None = None
) -> MountPoint:
    record = daemon.volumes.create(name, anonymous=name is None, labels=labels)
    return {
        "Type": "volume",
        "Name": record["Name"],
        "Source": record["Mountpoint"],
        "Destination": destination,
        "Driver": "local",
        "Mode": "ro" if read_only else "",
        "RW": not read_only,
        "Propagation": "",
    }


def _api_mount(daemon: Daemon, spec: MountSpec) -> MountPoint:
    """A ``HostConfig.Mounts`` entry as inspect's ``Mounts`` lists it (Docker's MountPoint)."""
    if spec.type == "volume":
        return {
            **_volume_mount(daemon, spec.source or None, spec.target, spec.read_only, spec.labels),
            "Mode": "z",
        }
    propagation = spec.propagation or ("rprivate" if spec.type == "bind" else "")
    return {
        "Type": spec.type,
        "Source": spec.source,
        "Destination": spec.target,
        "Mode": "",
        "RW": not spec.read_only,
        "Propagation": propagation,
    }


def resolve_mounts(daemon: Daemon, config: ContainerConfig, host_config: HostConfig) -> list[MountPoint]:
    """The container's mounts: --volumes-from, then -v binds, then image and config VOLUMEs."""
    mounts: dict[str, MountPoint] = {}
    parse_all(host_config.get("Mounts"))  # every entry checked before any volume is made
    for spec in host_config.get("VolumesFrom") or []:
        name, mode = parse_volumes_from(str(spec))
        source = referenced(daemon, name)
        for mount in source.mounts:
            if mount["Type"] == "tmpfs":  # a tmpfs is the other container's own memory
                continue
            copied = mount.copy()
            if mode:
                copied["RW"] = mode == "rw"
                copied["Mode"] = mode
            mounts[copied["Destination"]] = copied
    from_others = set(mounts)
    for spec in host_config.get("Binds") or []:
        bind = parse_bind(str(spec))
        if bind.is_volume:
            mounts[bind.destination] = _volume_mount(
                daemon, bind.source or None, bind.destination, bind.read_only
            )
        else:
            mounts[bind.destination] = {
                "Type": "bind",
                "Source": bind.source,
                "Destination": bind.destination,
                "Mode": "ro" if bind.read_only else "",
                "RW": not bind.read_only,
                "Propagation": "rprivate",
            }
    for wanted in parse_all(host_config.get("Mounts")):
        if wanted.target in mounts and wanted.target not in from_others:
            raise InvalidMount(f"Duplicate mount point: {wanted.target}")
        mounts[wanted.target] = _api_mount(daemon, wanted)
    for destination in config.get("Volumes") or {}:
        if not str(destination).startswith("/"):
            raise InvalidMount(f"invalid mount path: '{destination}' mount path must be absolute")
        if destination not in mounts:
            mounts[destination] = _volume_mount(daemon, None, destination, False)
    return list(mounts.values())


def prepare_mounts(container: Container, root: Path, remap: IdMap | None = None) -> list[dict[str, Any]]:
    """OCI mounts for the container; binds get missing host dirs, fresh volumes the image's content.

    Under ``remap`` both belong to the remapped root, and the content copied up keeps the
    ownership the container sees (the root is mounted through the mapping).
    """
    spec_mounts = []
    specs = by_target(container.host_config.get("Mounts"))
    for mount in container.mounts:
        spec = specs.get(mount["Destination"])
        if spec is not None and spec.type != "bind":  # --mount volume and tmpfs: options of their own
            spec_mounts.append(mount_options(spec, mount, root, remap))
            continue
        source = Path(mount["Source"])
        if mount["Type"] == "bind" and not source.exists():
            source.mkdir(parents=True, exist_ok=True)  # as Docker does for -v /missing:/x
            give_to_root(remap, source)
        if mount["Type"] == "volume" and source.is_dir() and not any(source.iterdir()):
            give_to_root(remap, source)
            _copy_up(root, mount["Destination"], source)
        propagation = spec.propagation if spec is not None and spec.propagation else "rprivate"
        options = ["rbind", propagation, "ro" if not mount.get("RW", True) else "rw"]
        spec_mounts.append(
            {"destination": mount["Destination"], "type": "bind", "source": str(source), "options": options}
        )
    return spec_mounts


def mount_options(spec: MountSpec, mount: MountPoint, root: Path, remap: IdMap | None) -> dict[str, Any]:
    """The OCI mount of a ``--mount`` volume (its Subpath, NoCopy) or tmpfs (SizeBytes, Mode)."""
    mode = "ro" if spec.read_only else "rw"
    if spec.type == "tmpfs":
        options = ["nosuid", "nodev", "noexec", mode]
        if spec.tmpfs_size:
            options.append(f"size={spec.tmpfs_size}")
        if spec.tmpfs_mode:
            options.append(f"mode={spec.tmpfs_mode:o}")
        return {"destination": spec.target, "type": "tmpfs", "source": "tmpfs", "options": options}
    volume = Path(mount["Source"])
    if volume.is_dir() and not any(volume.iterdir()) and not spec.no_copy and not spec.subpath:
        give_to_root(remap, volume)
        _copy_up(root, spec.target, volume)
    source = volume
    if spec.subpath:
        source = scoped(volume, spec.subpath)
        if not source.is_dir() or source.is_symlink():
            raise InvalidMount(
                f"cannot access path {spec.subpath!r} in volume {mount.get('Name')}: no such directory"
            )
    return {
        "destination": spec.target,
        "type": "bind",
        "source": str(source),
        "options": ["rbind", "rprivate", mode],
    }


def _copy_up(root: Path, destination: str, volume: Path) -> None:
    """A fresh volume starts with what the image has at its mount point, as Docker does."""
    inside = scoped(root, destination)
    if inside.is_dir() and any(inside.iterdir()):
        result = subprocess.run(["cp", "-a", f"{inside}/.", str(volume)], capture_output=True)
        if result.returncode != 0:
            raise InvalidArgument(f"copying image content into volume: {result.stderr.decode().strip()}")


def remove_anonymous(daemon: Daemon, container: Container) -> None:
    """``rm -v``: the container's anonymous volumes that no other container uses."""
    for mount in container.mounts:
        name = mount.get("Name")
        if mount["Type"] != "volume" or not name or not daemon.volumes.exists(name):
            continue
        if daemon.volumes.get(name).get("Anonymous") and _users(daemon, name) in ([], [container.id]):
            daemon.volumes.remove(name)
            log.info("volume.removed", volume=name)
