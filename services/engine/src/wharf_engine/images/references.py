"""ReferenceStore: familiar ``name:tag`` → image id, in one atomically rewritten JSON file."""

from __future__ import annotations

import json
from pathlib import Path

from wharf_engine.fsutil import write_atomic


class ReferenceStore:
    def __init__(self, root: Path) -> None:
        self.path = root / "repositories.json"
        self.refs: dict[str, str] = {}
        if self.path.exists():
            self.refs = json.loads(self.path.read_text()).get("Refs", {})

    def _save(self) -> None:
        write_atomic(self.path, json.dumps({"Refs": self.refs}, indent=1, sort_keys=True).encode())

    def get(self, ref: str) -> str | None:
        return self.refs.get(ref)

    def add(self, ref: str, image_id: str) -> str | None:
        """Point ``ref`` at ``image_id``; returns the image it pointed at before, if another."""
        old = self.refs.get(ref)
        self.refs[ref] = image_id
        self._save()
        return old if old != image_id else None

    def delete(self, ref: str) -> None:
        if self.refs.pop(ref, None) is not None:
            self._save()

    def refs_for(self, image_id: str) -> list[str]:
        return sorted(r for r, i in self.refs.items() if i == image_id)

    def items(self) -> list[tuple[str, str]]:
        return sorted(self.refs.items())
