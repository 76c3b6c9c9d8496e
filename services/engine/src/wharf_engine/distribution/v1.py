"""v1 images from local images and back: ids, image JSON, payload checksums (protocols.md A.2, A.6).

A local image is a config plus ``rootfs.diff_ids``; a v1 registry stores one *v1 image* per
layer, chained by ``parent``. Going out, each layer gets a v1 JSON: the top one carries the
image's ``config``, the others what their history entry says (``created``,
``container_config.Cmd``). Ids are reused from earlier pulls and pushes when the parent
matches (:class:`KnownIds`); otherwise they are derived from the content, as moby's
``image/v1.CreateID`` does: sha256 over the parent id, the diff id and the JSON, so pushing the
same image twice names the same v1 images. Coming in, the v1 JSONs (root first) and the diff
ids of the registered layers make a local config whose id depends only on that content.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol


def canonical(data: Any) -> bytes:
    return json.dumps(data, separators=(",", ":"), sort_keys=True).encode()


def chain_ids(diff_ids: list[str]) -> list[str]:
    """OCI chain ids: the first diff id, then sha256("<previous chain id> <diff id>")."""
    chain: list[str] = []
    for diff_id in diff_ids:
        if chain:
            diff_id = "sha256:" + hashlib.sha256(f"{chain[-1]} {diff_id}".encode()).hexdigest()
        chain.append(diff_id)
    return chain


def derive_id(parent: str | None, diff_id: str, body: dict[str, Any]) -> str:
    """A v1 id from the content: stable for the same parent, layer and JSON."""
    return hashlib.sha256(canonical({"parent": parent or "", "layer_id": diff_id, "json": body})).hexdigest()


class KnownIds(Protocol):
    """v1 ids this engine has seen for a layer chain (pulled or pushed before)."""

    def layer_id(self, chain_id: str, parent: str | None) -> str | None: ...
    def image_id(self, image_id: str, parent: str | None) -> str | None: ...
    def raw_json(self, v1_id: str) -> bytes | None: ...


@dataclass(frozen=True, slots=True)
class V1Layer:
    v1_id: str
    parent: str | None
    diff_id: str
    chain_id: str
    raw: bytes  # the v1 image JSON as pushed


def _layer_history(config: Mapping[str, Any], count: int) -> list[dict[str, Any]]:
    """One history entry per layer (entries with ``empty_layer`` carry no layer)."""
    entries = [h for h in config.get("history") or [] if isinstance(h, dict) and not h.get("empty_layer")]
    return [*entries[:count], *({} for _ in range(count - len(entries)))]


def layer_bodies(config: Mapping[str, Any], sizes: list[int]) -> list[dict[str, Any]]:
    """The v1 JSON (without ``id`` and ``parent``) of each layer, root first."""
    created = config.get("created") or "1970-01-01T00:00:00Z"
    bodies = []
    history = _layer_history(config, len(sizes))
    for index, (entry, size) in enumerate(zip(history, sizes, strict=True)):
        top = index == len(sizes) - 1
        created_by = str(entry.get("created_by") or "")
        body: dict[str, Any] = {
            "created": created if top else (entry.get("created") or created),
            "container_config": {"Cmd": [created_by] if created_by else None},
            "architecture": config.get("architecture") or "amd64",
            "os": config.get("os") or "linux",
            "Size": size,
        }
        if entry.get("comment"):
            body["comment"] = entry["comment"]
        if top:
            body["config"] = config.get("config") or {}
            for key in ("author", "docker_version"):
                if config.get(key):
                    body[key] = config[key]
        elif entry.get("author"):
            body["author"] = entry["author"]
        bodies.append(body)
    return bodies


def v1_chain(image_id: str, config: Mapping[str, Any], sizes: list[int], known: KnownIds) -> list[V1Layer]:
    """The v1 images for a local image, root first (``sizes``: each layer's size)."""
    diff_ids = list(config.get("rootfs", {}).get("diff_ids", []))
    chain: list[V1Layer] = []
    parent: str | None = None
    bodies = layer_bodies(config, sizes)
    rows = zip(diff_ids, chain_ids(diff_ids), bodies, strict=True)
    for index, (diff_id, chain_id, body) in enumerate(rows):
        top = index == len(diff_ids) - 1
        reused = known.image_id(image_id, parent) if top else known.layer_id(chain_id, parent)
        v1_id = reused or derive_id(parent, diff_id, body)
        document = {"id": v1_id, **({"parent": parent} if parent else {}), **body}
        # an id names one JSON: a reused id goes out with the JSON it had (a registry that has
        # the image takes it from another repository only with its very JSON and layer)
        raw = (known.raw_json(v1_id) if reused else None) or canonical(document)
        chain.append(V1Layer(v1_id, parent, diff_id, chain_id, raw))
        parent = v1_id
    return chain


def check_json(v1_id: str, parent: str | None, data: dict[str, Any]) -> str | None:
    """Why a pulled v1 JSON does not fit its place in the ancestry, or None if it does."""
    if data.get("id") != v1_id:
        return f"image JSON of {v1_id} names id {data.get('id')!r}"
    if (data.get("parent") or None) != parent:
        return f"image JSON of {v1_id} names parent {data.get('parent')!r}, ancestry says {parent!r}"
    return None


def image_config(jsons: list[dict[str, Any]], diff_ids: list[str]) -> dict[str, Any]:
    """A local image config from the v1 JSONs (root first) and the registered layers' diff ids."""
    top = jsons[-1]
    history = []
    for data in jsons:
        cmd = (data.get("container_config") or {}).get("Cmd") or []
        entry = {
            "created": data.get("created") or top.get("created") or "",
            "created_by": " ".join(str(c) for c in cmd) if isinstance(cmd, list) else str(cmd),
        }
        for key in ("author", "comment"):
            if data.get(key):
                entry[key] = data[key]
        history.append(entry)
    config: dict[str, Any] = {
        "architecture": top.get("architecture") or "amd64",
        "os": top.get("os") or "linux",
        "created": top.get("created") or "",
        "config": top.get("config") or {},
        "rootfs": {"type": "layers", "diff_ids": diff_ids},
        "history": history,
    }
    for key in ("author", "comment", "docker_version"):
        if top.get(key):
            config[key] = top[key]
    return config


__all__ = [
    "KnownIds",
    "V1Layer",
    "chain_ids",
    "check_json",
    "derive_id",
    "image_config",
    "layer_bodies",
    "v1_chain",
]
