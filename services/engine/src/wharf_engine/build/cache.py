"""The build cache: (parent image, instruction, content checksum) → the image that step made."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from wharf_engine.fsutil import write_atomic


def cache_key(parent: str | None, instruction: str, extra: Any = None) -> str:
    material = json.dumps([parent or "scratch", instruction, extra], sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(material.encode()).hexdigest()


class BuildCache:
    """One JSON file; entries pointing at images that are gone are ignored (and dropped)."""

    def __init__(self, root: Path) -> None:
        self.path = root / "build-cache.json"
        self.entries: dict[str, str] = {}
        if self.path.exists():
            try:
                self.entries = json.loads(self.path.read_text())
            except ValueError:
                self.entries = {}

    def get(self, key: str) -> str | None:
        return self.entries.get(key)

    def put(self, key: str, image_id: str) -> None:
        self.entries[key] = image_id
        write_atomic(self.path, json.dumps(self.entries).encode())

    def forget(self, key: str) -> None:
        if self.entries.pop(key, None) is not None:
            write_atomic(self.path, json.dumps(self.entries).encode())
