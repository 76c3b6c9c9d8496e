"""BlobMetadataStore: which registry blobs hold a local layer, as moby's v2 metadata service.

A layer pulled from or pushed to a v2 registry is remembered as ``diff id → [(blob digest,
registry, repository)]`` in ``<root>/v2metadata.json``. A later push to that registry asks the
target repository for the blob first (``Layer already exists``), then tries to mount it from a
repository that had it (``Mounted from …``), and uploads only when neither works.
"""

from __future__ import annotations

import json
import os
import threading
from dataclasses import dataclass
from pathlib import Path

MAX_ENTRIES = 50  # per layer: the newest are kept


@dataclass(frozen=True, slots=True)
class BlobRecord:
    digest: str
    registry: str  # host[:port]
    repository: str  # the path there: library/busybox


class BlobMetadataStore:
    def __init__(self, root: Path) -> None:
        self.path = root / "v2metadata.json"
        self._lock = threading.Lock()
        self.layers: dict[str, list[dict[str, str]]] = {}
        if self.path.exists():
            self.layers = json.loads(self.path.read_text()).get("layers", {})

    def records(self, diff_id: str) -> list[BlobRecord]:
        """What is known for ``diff_id``, newest first."""
        return [
            BlobRecord(e["digest"], e["registry"], e["repository"])
            for e in reversed(self.layers.get(diff_id, []))
        ]

    def add(self, diff_id: str, record: BlobRecord) -> None:
        entry = {"digest": record.digest, "registry": record.registry, "repository": record.repository}
        with self._lock:
            entries = [e for e in self.layers.get(diff_id, []) if e != entry]
            self.layers[diff_id] = [*entries, entry][-MAX_ENTRIES:]
            tmp = self.path.with_name(f".{self.path.name}.{os.getpid()}.tmp")
            tmp.write_text(json.dumps({"layers": self.layers}, sort_keys=True))
            tmp.replace(self.path)


__all__ = ["BlobMetadataStore", "BlobRecord"]
