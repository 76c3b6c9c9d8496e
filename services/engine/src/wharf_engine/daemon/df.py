"""SystemDataUsage (``GET /system/df``): what images, containers, volumes and the build cache
take on disk, in Docker's shape (``docker system df [-v]`` reads it)."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING, Any

from wharf_common.errors import InvalidArgument

from wharf_engine.shapes import ImageSummary

from .images import image_list
from .inspect import container_list, dir_size

if TYPE_CHECKING:
    from .daemon import Daemon

KINDS = ("container", "image", "volume", "build-cache")


def _diff_ids(daemon: Daemon, image_id: str) -> list[str]:
    return list(daemon.images.get(image_id).get("rootfs", {}).get("diff_ids", []))


def _images(daemon: Daemon) -> tuple[list[ImageSummary], int]:
    """Images with their SharedSize (layers another image also uses), and LayersSize (every
    layer once)."""
    images = image_list(daemon, all=False, filters={})
    uses: Counter[str] = Counter()
    for image_id in daemon.images.ids():
        uses.update(set(_diff_ids(daemon, image_id)))
    sizes = {d: daemon.layers.get(d).size for d in uses if daemon.layers.has(d)}
    for image in images:
        layers = set(_diff_ids(daemon, image["Id"]))
        image["SharedSize"] = sum(sizes.get(d, 0) for d in layers if uses[d] > 1)
    return images, sum(sizes.values())


def _volumes(daemon: Daemon) -> list[dict[str, Any]]:
    refs: Counter[str] = Counter(
        str(m["Name"]) for c in daemon.containers.all() for m in c.mounts if m.get("Name")
    )
    out = []
    for record in daemon.volumes.all():
        volume = {k: v for k, v in record.items() if k != "Anonymous"}
        volume["UsageData"] = {
            "Size": dir_size(Path(record["Mountpoint"])),
            "RefCount": refs[record["Name"]],
        }
        out.append(volume)
    return out


def system_df(daemon: Daemon, kinds: list[str]) -> dict[str, Any]:
    """Every kind, or only those asked for with ``type=`` (API 1.42), as Docker."""
    for kind in kinds:
        if kind not in KINDS:
            raise InvalidArgument(f"unknown object type: {kind}")
    wanted = set(kinds or KINDS)
    out: dict[str, Any] = {}
    if "image" in wanted:
        out["Images"], out["LayersSize"] = _images(daemon)
    if "container" in wanted:
        out["Containers"] = container_list(daemon, all=True, limit=0, size=True, filters={})
    if "volume" in wanted:
        out["Volumes"] = _volumes(daemon)
    if "build-cache" in wanted:
        out["BuildCache"] = []  # the classic builder's cache is its images: counted there
    return out
