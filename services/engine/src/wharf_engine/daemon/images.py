"""ImageList, ImageInspect, ImageHistory, ImageTag and ImageDelete."""

from __future__ import annotations

import builtins
from typing import TYPE_CHECKING

from wharf_common.errors import InvalidArgument
from wharf_common.reference import InvalidReference, is_valid_tag, parse_reference

from wharf_engine.images.errors import NoSuchImage
from wharf_engine.logs.jsonfile import parse_time
from wharf_engine.shapes import ContainerConfig, HistoryResponseItem, Image, ImageInspect, ImageSummary

if TYPE_CHECKING:
    from .daemon import Daemon


def normalize(ref: str) -> str | None:
    """The familiar ``name:tag`` key a reference is stored under, or None if it is no name."""
    try:
        parsed = parse_reference(ref)
    except InvalidReference:
        return None
    if parsed.digest:
        return None
    return str(parsed.with_default_tag())


def digest_key(ref: str) -> str | None:
    """The ``name@digest`` key a digest reference is stored under, or None (a tag is ignored)."""
    try:
        parsed = parse_reference(ref)
    except InvalidReference:
        return None
    return f"{parsed.repository}@{parsed.digest}" if parsed.digest else None


def resolve_image(daemon: Daemon, ref: str) -> str:
    """Image id for a name[:tag], a name@digest, a full id or a unique id prefix."""
    key = normalize(ref)
    if key is not None and (image_id := daemon.references.get(key)):
        return image_id
    if (named := digest_key(ref)) is not None and (image_id := daemon.repo_digests.get(named)):
        return image_id
    found = daemon.images.search_prefix(ref)
    if found is not None:
        return found
    raise NoSuchImage(key or ref)


def _created(config: Image) -> int:
    created = config.get("created")
    return int(parse_time(created)) if created else 0


def _size(daemon: Daemon, config: Image) -> int:
    diff_ids = config.get("rootfs", {}).get("diff_ids", [])
    return sum(daemon.layers.get(d).size for d in diff_ids if daemon.layers.has(d))


SCRATCH_COMMENT = "wharf: the empty base of FROM scratch steps"


def children(daemon: Daemon, image_id: str) -> list[str]:
    return [i for i in daemon.images.ids() if daemon.images.get(i).get("parent") == image_id]


def image_list(daemon: Daemon, *, all: bool, filters: dict[str, list[str]]) -> list[ImageSummary]:
    out: list[ImageSummary] = []
    parents = {daemon.images.get(i).get("parent") for i in daemon.images.ids()}
    for image_id in daemon.images.ids():
        config = daemon.images.get(image_id)
        tags = daemon.references.refs_for(image_id)
        if not all and not tags and image_id in parents:  # an intermediate image: only with -a
            continue
        if config.get("comment") == SCRATCH_COMMENT:  # the builder's empty base, not a user image
            continue
        labels = (config.get("config") or {}).get("Labels") or {}
        if filters.get("dangling"):  # a key without values filters nothing, as in Docker
            want = filters["dangling"][0].lower() in ("true", "1")
            if want != (not tags):
                continue
        digests = daemon.repo_digests.refs_for(image_id)
        if "reference" in filters:  # as Docker: only the matching tags and digests are listed
            tags = [t for t in tags if any(_ref_match(p, t) for p in filters["reference"])]
            digests = [d for d in digests if any(_ref_match(p, d) for p in filters["reference"])]
            if not tags and not digests:
                continue
        if "label" in filters and not builtins.all(_label_match(v, labels) for v in filters["label"]):
            continue
        size = _size(daemon, config)
        out.append(
            {
                "Id": image_id,
                "ParentId": config.get("parent", ""),
                "RepoTags": tags,
                "RepoDigests": digests,
                "Created": _created(config),
                "Size": size,
                "SharedSize": -1,
                "VirtualSize": size,
                "Labels": labels,
                "Containers": sum(1 for c in daemon.containers.all() if c.image_id == image_id),
            }
        )
    out.sort(key=lambda i: i["Created"], reverse=True)
    return out


def _ref_match(pattern: str, ref: str) -> bool:
    """Docker's ``FamiliarMatch``: the pattern against the whole familiar reference or its name."""
    from fnmatch import fnmatchcase

    name = ref.split("@", 1)[0] if "@" in ref else ref.rsplit(":", 1)[0]
    return fnmatchcase(ref, pattern) or fnmatchcase(name, pattern)


def _label_match(spec: str, labels: dict[str, str]) -> bool:
    key, eq, value = spec.partition("=")
    return key in labels and (not eq or labels[key] == value)


EMPTY_CONTAINER_CONFIG: ContainerConfig = {
    "Hostname": "",
    "Domainname": "",
    "User": "",
    "AttachStdin": False,
    "AttachStdout": False,
    "AttachStderr": False,
    "Tty": False,
    "OpenStdin": False,
    "StdinOnce": False,
    "Env": None,
    "Cmd": None,
    "Image": "",
    "Volumes": None,
    "WorkingDir": "",
    "Entrypoint": None,
    "OnBuild": None,
    "Labels": None,
}
"""``ContainerConfig`` of an image no container made (imported, pulled from v2), as Docker shows it."""


def image_inspect(daemon: Daemon, ref: str) -> ImageInspect:
    image_id = resolve_image(daemon, ref)
    config = daemon.images.get(image_id)
    size = _size(daemon, config)
    fs = [str(daemon.layers.get(d).path) for d in reversed(config.get("rootfs", {}).get("diff_ids", []))]
    return {
        "Id": image_id,
        "RepoTags": daemon.references.refs_for(image_id),
        "RepoDigests": daemon.repo_digests.refs_for(image_id),
        "Parent": config.get("parent", ""),
        "Comment": config.get("comment", ""),
        "Created": config.get("created", ""),
        "DockerVersion": config.get("docker_version", ""),
        "Author": config.get("author", ""),
        "Config": config.get("config") or {},
        # Docker 26 (API 1.45) dropped these two, and docker-compose 1.29, which speaks the newest
        # version the engine offers, then fails every recreate (KeyError: 'ContainerConfig'): kept
        # at every version, as Docker 25 and podman send them
        "Container": config.get("container", ""),
        "ContainerConfig": config.get("container_config") or EMPTY_CONTAINER_CONFIG,
        "Architecture": config.get("architecture", "amd64"),
        "Os": config.get("os", "linux"),
        "Size": size,
        "VirtualSize": size,
        "GraphDriver": {
            "Name": "overlay2",
            "Data": {"LowerDir": ":".join(fs[1:]), "UpperDir": fs[0] if fs else ""},
        },
        "RootFS": {"Type": "layers", "Layers": config.get("rootfs", {}).get("diff_ids", [])},
        "Metadata": {"LastTagTime": "0001-01-01T00:00:00Z"},
    }


def image_history(daemon: Daemon, ref: str) -> list[HistoryResponseItem]:
    image_id = resolve_image(daemon, ref)
    config = daemon.images.get(image_id)
    diff_ids = list(config.get("rootfs", {}).get("diff_ids", []))
    entries: list[HistoryResponseItem] = []
    for item in config.get("history") or []:
        size = 0
        if not item.get("empty_layer") and diff_ids:
            layer = diff_ids.pop(0)
            size = daemon.layers.get(layer).size if daemon.layers.has(layer) else 0
        entries.append(
            {
                "Id": "<missing>",
                "Created": int(parse_time(item["created"])) if item.get("created") else 0,
                "CreatedBy": item.get("created_by", ""),
                "Tags": None,
                "Size": size,
                "Comment": item.get("comment", ""),
            }
        )
    entries.reverse()
    if entries:
        entries[0]["Id"] = image_id
        entries[0]["Tags"] = daemon.references.refs_for(image_id)
    return entries


async def image_tag(daemon: Daemon, ref: str, repo: str, tag: str | None) -> None:
    image_id = resolve_image(daemon, ref)
    if tag and not is_valid_tag(tag):
        raise InvalidArgument(f"invalid tag format: {tag}")
    try:
        target = parse_reference(repo if not tag else f"{repo}:{tag}")
    except InvalidReference as exc:
        raise InvalidArgument(str(exc)) from None
    if target.digest:
        raise InvalidArgument("refusing to create a tag with a digest reference")
    async with daemon.image_lock:
        daemon.references.add(str(target.with_default_tag()), image_id)
