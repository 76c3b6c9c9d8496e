"""ImageStore: ``<root>/images/<hex>.json`` holds the exact config bytes; id = sha256 of them."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from wharf_engine.fsutil import write_atomic
from wharf_engine.shapes import Image

from .errors import AmbiguousImage, NoSuchImage


def canonical(config: Mapping[str, Any]) -> bytes:
    return json.dumps(config, separators=(",", ":"), sort_keys=True).encode()


class ImageStore:
    def __init__(self, root: Path) -> None:
        self.root = root / "images"
        self.root.mkdir(parents=True, exist_ok=True)
        self._cache: dict[str, Image] = {}

    def put_raw(self, raw: bytes) -> str:
        """Store config bytes as given (``docker load`` keeps ids stable this way)."""
        image_id = "sha256:" + hashlib.sha256(raw).hexdigest()
        path = self.root / (image_id[7:] + ".json")
        if not path.exists():
            json.loads(raw)  # refuse what is not JSON before it gets an id
            write_atomic(path, raw)
        return image_id

    def create(self, config: Mapping[str, Any]) -> str:
        return self.put_raw(canonical(config))

    def raw(self, image_id: str) -> bytes:
        try:
            return (self.root / (image_id.removeprefix("sha256:") + ".json")).read_bytes()
        except FileNotFoundError:
            raise NoSuchImage(image_id) from None

    def get(self, image_id: str) -> Image:
        if image_id not in self._cache:
            self._cache[image_id] = json.loads(self.raw(image_id))
        return self._cache[image_id]

    def exists(self, image_id: str) -> bool:
        return (self.root / (image_id.removeprefix("sha256:") + ".json")).exists()

    def ids(self) -> list[str]:
        return ["sha256:" + p.stem for p in self.root.glob("*.json")]

    def delete(self, image_id: str) -> None:
        self._cache.pop(image_id, None)
        (self.root / (image_id.removeprefix("sha256:") + ".json")).unlink(missing_ok=True)

    def search_prefix(self, prefix: str) -> str | None:
        """Full id for an id or unique id prefix (with or without ``sha256:``), else None."""
        hexpart = prefix.removeprefix("sha256:").lower()
        if not hexpart or any(c not in "0123456789abcdef" for c in hexpart):
            return None
        matches = [p.stem for p in self.root.glob(hexpart + "*.json")]
        if len(matches) > 1:
            raise AmbiguousImage(f"image id prefix {prefix} is ambiguous")
        return "sha256:" + matches[0] if matches else None
