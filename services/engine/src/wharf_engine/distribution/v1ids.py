"""V1IdStore: which v1 ids name which local layers, persisted in ``<root>/v1ids.json``.

Three maps: ``layers`` v1 id → ``{diff_id, parent}`` (a pull skips v1 images whose layer is
here), ``chains`` chain id → v1 id and ``images`` local image id → v1 id of its top (a push
reuses the ids a pull or an earlier push gave, so the registry recognizes what it has), and
``checksums`` v1 id → the payload checksum of this engine's own content under that id (as it
pushed it, or as a pull received and verified it): a push skips an image the registry says it
has only when the registry's checksum is this one, so it never tags content it did not push;
``jsons`` v1 id → the image JSON that went with it (a reused id goes out with its JSON).
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any


class V1IdStore:
    def __init__(self, root: Path) -> None:
        self.path = root / "v1ids.json"
        self.layers: dict[str, dict[str, Any]] = {}
        self.chains: dict[str, str] = {}
        self.images: dict[str, str] = {}
        self.checksums: dict[str, str] = {}
        self.jsons: dict[str, str] = {}
        if self.path.exists():
            data = json.loads(self.path.read_text())
            self.layers = data.get("layers", {})
            self.chains = data.get("chains", {})
            self.images = data.get("images", {})
            self.checksums = data.get("checksums", {})
            self.jsons = data.get("jsons", {})

    def diff_id(self, v1_id: str) -> str | None:
        entry = self.layers.get(v1_id)
        return str(entry["diff_id"]) if entry else None

    def _if_parent(self, v1_id: str | None, parent: str | None) -> str | None:
        entry = self.layers.get(v1_id or "")
        return v1_id if entry is not None and (entry.get("parent") or None) == parent else None

    def layer_id(self, chain_id: str, parent: str | None) -> str | None:
        return self._if_parent(self.chains.get(chain_id), parent)

    def image_id(self, image_id: str, parent: str | None) -> str | None:
        return self._if_parent(self.images.get(image_id), parent)

    def raw_json(self, v1_id: str) -> bytes | None:
        raw = self.jsons.get(v1_id)
        return raw.encode(errors="surrogateescape") if raw is not None else None

    def checksum(self, v1_id: str) -> str | None:
        """The payload checksum of this engine's content under ``v1_id``, if it knows one."""
        return self.checksums.get(v1_id)

    def remember_layer(
        self,
        v1_id: str,
        parent: str | None,
        diff_id: str,
        checksum: str | None = None,
        raw: bytes | None = None,
    ) -> None:
        """One pulled layer, as soon as it is registered (a retried pull then skips it)."""
        self.layers[v1_id] = {"diff_id": diff_id, "parent": parent}
        if checksum:
            self.checksums[v1_id] = checksum
        if raw is not None:
            self.jsons[v1_id] = raw.decode(errors="surrogateescape")
        self._save()

    def remember_pushed(self, checksums: dict[str, str], jsons: dict[str, bytes]) -> None:
        """v1 id → payload checksum of layers this engine pushed, and each v1 id's JSON."""
        self.checksums.update(checksums)
        self.jsons.update({v1_id: raw.decode(errors="surrogateescape") for v1_id, raw in jsons.items()})
        self._save()

    def record(
        self,
        layers: list[tuple[str, str | None, str, str]],
        image_id: str | None = None,
        *,
        prefer: bool = False,
    ) -> None:
        """Remember ``(v1 id, parent, diff id, chain id)`` rows, root first, and the image's top.

        ``prefer``: the ids came from a registry (a pull) and replace what a chain had.
        """
        for v1_id, parent, diff_id, chain_id in layers:
            self.layers[v1_id] = {"diff_id": diff_id, "parent": parent}
            if prefer:
                self.chains[chain_id] = v1_id
            else:
                self.chains.setdefault(chain_id, v1_id)
        if image_id is not None and layers:
            self.images[image_id] = layers[-1][0]
        self._save()

    def _save(self) -> None:
        data = {
            "layers": self.layers,
            "chains": self.chains,
            "images": self.images,
            "checksums": self.checksums,
        }
        tmp = self.path.with_name(f".{self.path.name}.{os.getpid()}.tmp")
        tmp.write_text(json.dumps(data, indent=1, sort_keys=True))
        tmp.replace(self.path)


__all__ = ["V1IdStore"]
