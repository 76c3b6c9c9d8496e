"""ContainerCommit: the container's changes as a new layer on top of its image."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from wharf_engine.containers.container import Container, now_rfc3339
from wharf_engine.containers.errors import ContainerNotRunning
from wharf_engine.images.changes import apply_changes
from wharf_engine.runtime.errors import ContainerNotFound, NotRunning, RuntimeFailure
from wharf_engine.settings import ENGINE_VERSION

from .archive import target_ref
from .signals import runtime_exited

if TYPE_CHECKING:
    from wharf_engine.shapes import CommitOptions, Image, ImageConfig
    from wharf_engine.shapes.images import HistoryEntry

    from .daemon import Daemon

# what a commit keeps of the container's config (Docker's merge of container over image)
COMMITTED = (
    "Cmd",
    "Entrypoint",
    "Env",
    "WorkingDir",
    "User",
    "Labels",
    "ExposedPorts",
    "Volumes",
    "StopSignal",
)


def committed_config(image_config: ImageConfig, container: Container) -> ImageConfig:
    config = image_config.copy()
    for key in COMMITTED:
        value = container.config.get(key)
        if value not in (None, "", [], {}):
            config[key] = value  # type: ignore[literal-required]  # a key of both, with its value
    return config


async def container_commit(daemon: Daemon, ref: str, options: CommitOptions) -> str:
    container = daemon.containers.get(ref)
    target = target_ref(options.repo, options.tag)
    parent = daemon.images.get(container.image_id)
    merged: ImageConfig = {**committed_config(parent.get("config") or {}, container), **options.config}
    config = apply_changes(merged, options.changes)
    pause, author, comment = options.pause, options.author, options.comment
    upper = container.dir / "fs" / "upper"
    upper.mkdir(parents=True, exist_ok=True)
    paused = pause and container.state.status == "running"
    if paused:
        try:
            await daemon.runtime.pause(container.id)
        except (NotRunning, ContainerNotFound):  # it exited meanwhile: Docker's 409, not the runtime's words
            raise ContainerNotRunning(container.id) from None
        except RuntimeFailure:
            if not container.state.running or await runtime_exited(daemon, container):
                raise ContainerNotRunning(container.id) from None
            raise
    try:
        layer = await asyncio.to_thread(daemon.layers.register_dir, upper, move=False)
    finally:
        if paused:
            try:
                await daemon.runtime.resume(container.id)
            except (NotRunning, ContainerNotFound):
                pass
            except RuntimeFailure:
                if not await runtime_exited(daemon, container):
                    raise
    created = now_rfc3339()
    history_entry: HistoryEntry = {
        "created": created,
        "created_by": " ".join([container.path, *container.args]),
    }
    if author:
        history_entry["author"] = author
    if comment:
        history_entry["comment"] = comment
    image: Image = {
        "architecture": parent.get("architecture", "amd64"),
        "os": parent.get("os", "linux"),
        "created": created,
        "author": author,
        "comment": comment,
        "container": container.id,
        "container_config": container.config,
        "docker_version": ENGINE_VERSION,
        "parent": container.image_id,
        "config": config,
        "rootfs": {
            "type": "layers",
            "diff_ids": [*parent.get("rootfs", {}).get("diff_ids", []), layer.diff_id],
        },
        "history": [*(parent.get("history") or []), history_entry],
    }
    async with daemon.image_lock:
        image_id = daemon.images.create(image)
        if target:
            daemon.references.add(target, image_id)
    return image_id
