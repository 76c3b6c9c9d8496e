"""ImageDelete (``rmi``: untag, delete, prune untagged parents) and ImagePrune."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from wharf_common.errors import Conflict

from .images import children, digest_key, normalize, resolve_image

if TYPE_CHECKING:
    from .daemon import Daemon


def _users(daemon: Daemon, image_id: str) -> tuple[list[str], list[str]]:
    running = [c.id for c in daemon.containers.all() if c.image_id == image_id and c.state.running]
    stopped = [c.id for c in daemon.containers.all() if c.image_id == image_id and not c.state.running]
    return running, stopped


async def image_delete(daemon: Daemon, ref: str, *, force: bool, prune: bool) -> list[dict[str, str]]:
    async with daemon.image_lock:
        image_id = resolve_image(daemon, ref)
        key = normalize(ref)
        tags = daemon.references.refs_for(image_id)
        running, stopped = _users(daemon, image_id)
        by_tag = key is not None and key in tags
        short = image_id[7:19]
        deleted: list[dict[str, str]] = []
        named = digest_key(ref)
        if named is not None and daemon.repo_digests.get(named) == image_id:  # rmi name@sha256:…
            daemon.repo_digests.delete(named)
            deleted.append({"Untagged": named})
            if tags or daemon.repo_digests.refs_for(image_id) or running or stopped:
                return deleted
        elif by_tag and key is not None:
            if len(tags) == 1 and (running or stopped) and not force:
                user = (running or stopped)[0][:12]
                raise Conflict(
                    f'conflict: unable to remove repository reference "{ref}" (must force) - '
                    f"container {user} is using its referenced image {short}"
                )
            daemon.references.delete(key)
            deleted.append({"Untagged": key})
            repository = key.rpartition(":")[0]
            if not any(t.rpartition(":")[0] == repository for t in tags if t != key):
                deleted += _untag_digests(daemon, image_id, repository)  # as moby: the repo's last tag
            if len(tags) > 1 or running or stopped or daemon.repo_digests.refs_for(image_id):
                return deleted
        else:
            if running:
                raise Conflict(
                    f"conflict: unable to delete {short} (cannot be forced) - "
                    f"image is being used by running container {running[0][:12]}"
                )
            if len(tags) > 1 and not force:
                raise Conflict(
                    f"conflict: unable to delete {short} (must be forced) - "
                    "image is referenced in multiple repositories"
                )
            if stopped and not force:
                raise Conflict(
                    f"conflict: unable to delete {short} (must be forced) - "
                    f"image is being used by stopped container {stopped[0][:12]}"
                )
            for tag in tags:
                daemon.references.delete(tag)
                deleted.append({"Untagged": tag})
            deleted += _untag_digests(daemon, image_id, None)
            if stopped:
                return deleted
        if children(daemon, image_id):
            raise Conflict(
                f"conflict: unable to delete {short} (cannot be forced) - image has dependent child images"
            )
        deleted.extend(_delete_chain(daemon, image_id, prune=prune))
        deleted.extend({"Deleted": d} for d in collect_layers(daemon))
        return deleted


def _untag_digests(daemon: Daemon, image_id: str, repository: str | None) -> list[dict[str, str]]:
    """Drop ``image_id``'s ``name@digest`` references (of ``repository`` only, unless None)."""
    gone = []
    for named in daemon.repo_digests.refs_for(image_id):
        if repository is None or named.partition("@")[0] == repository:
            daemon.repo_digests.delete(named)
            gone.append({"Untagged": named})
    return gone


def _unused(daemon: Daemon, image_id: str) -> bool:
    return not daemon.references.refs_for(image_id) and not any(
        c.image_id == image_id for c in daemon.containers.all()
    )


def _delete_chain(daemon: Daemon, image_id: str, *, prune: bool) -> list[dict[str, str]]:
    """Delete ``image_id`` and, with ``prune``, each parent left untagged, unused and childless."""
    deleted = []
    current: str | None = image_id
    while current:
        parent = daemon.images.get(current).get("parent") or None
        daemon.images.delete(current)
        deleted.append({"Deleted": current})
        if not (prune and parent and daemon.images.exists(parent)):
            break
        if not _unused(daemon, parent) or children(daemon, parent):
            break
        current = parent
    return deleted


async def image_prune(daemon: Daemon, *, dangling_only: bool = True) -> dict[str, Any]:
    """Remove dangling images (no tag, no container) — every unused image without ``dangling_only``."""
    async with daemon.image_lock:
        before = sum(daemon.layers.get(d).size for d in daemon.layers.all())
        deleted: list[dict[str, str]] = []
        changed = True
        while changed:  # removing a child can leave its parent dangling
            changed = False
            for image_id in daemon.images.ids():
                if children(daemon, image_id) or any(c.image_id == image_id for c in daemon.containers.all()):
                    continue
                tags = daemon.references.refs_for(image_id)
                if (tags or daemon.repo_digests.refs_for(image_id)) and dangling_only:
                    continue  # as moby: a name@digest reference keeps an image too
                for tag in tags:
                    daemon.references.delete(tag)
                    deleted.append({"Untagged": tag})
                deleted += _untag_digests(daemon, image_id, None)
                daemon.images.delete(image_id)
                deleted.append({"Deleted": image_id})
                changed = True
        deleted.extend({"Deleted": d} for d in collect_layers(daemon))
        after = sum(daemon.layers.get(d).size for d in daemon.layers.all())
        return {"ImagesDeleted": deleted or None, "SpaceReclaimed": before - after}


def collect_layers(daemon: Daemon) -> list[str]:
    """Remove layers no image refers to any more; returns their diff ids."""
    used = {
        d for i in daemon.images.ids() for d in daemon.images.get(i).get("rootfs", {}).get("diff_ids", [])
    }
    gone = [d for d in daemon.layers.all() if d not in used]
    for d in gone:
        daemon.layers.remove(d)
    return gone
