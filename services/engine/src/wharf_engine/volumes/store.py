"""VolumeStore, the local driver: ``<root>/volumes/<name>/_data`` plus a small JSON record."""

from __future__ import annotations

import json
import re
import secrets
import shutil
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from wharf_engine.fsutil import write_atomic

from .errors import InvalidVolumeName, NoSuchVolume

VALID_NAME = re.compile(r"^[a-zA-Z0-9][a-zA-Z0-9_.-]+$")


class VolumeStore:
    def __init__(self, root: Path) -> None:
        self.root = root / "volumes"
        self.root.mkdir(parents=True, exist_ok=True)

    def _record(self, name: str) -> Path:
        return self.root / name / "volume.json"

    def create(
        self, name: str | None, *, labels: dict[str, str] | None = None, anonymous: bool = False
    ) -> dict[str, Any]:
        """Create (or, as Docker, return the existing) volume ``name``; a random name when None."""
        name = name or secrets.token_hex(32)
        if not VALID_NAME.match(name):
            raise InvalidVolumeName(name)
        if self._record(name).exists():
            return self.get(name)
        (self.root / name / "_data").mkdir(parents=True, exist_ok=True)
        record = {
            "Name": name,
            "Driver": "local",
            "Mountpoint": str(self.root / name / "_data"),
            "CreatedAt": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "Labels": labels or {},
            "Scope": "local",
            "Options": None,
            "Anonymous": anonymous,
        }
        write_atomic(self._record(name), json.dumps(record).encode())
        return self.get(name)

    def get(self, name: str) -> dict[str, Any]:
        if not VALID_NAME.match(name):
            raise NoSuchVolume(name)
        try:
            data: dict[str, Any] = json.loads(self._record(name).read_text())
        except FileNotFoundError:
            raise NoSuchVolume(name) from None
        return data

    def exists(self, name: str) -> bool:
        return bool(VALID_NAME.match(name)) and self._record(name).exists()

    def path(self, name: str) -> Path:
        return Path(self.get(name)["Mountpoint"])

    def all(self) -> list[dict[str, Any]]:
        return [self.get(p.name) for p in sorted(self.root.iterdir()) if (p / "volume.json").exists()]

    def remove(self, name: str) -> None:
        self.get(name)
        shutil.rmtree(self.root / name)
