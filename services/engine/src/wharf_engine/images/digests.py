"""RepoDigestStore: ``repository@sha256:…`` → image id, for pulls and pushes over v2.

A v2 pull or push learns the digest of the manifest a registry holds for an image; Docker shows
it in ``RepoDigests`` (``docker images --digests``) and lets ``busybox@sha256:…`` name the image.
Kept apart from the tags (``repositories.json``) in ``repodigests.json``, rewritten atomically.
"""

from __future__ import annotations

import json
from pathlib import Path

from wharf_engine.fsutil import write_atomic


class RepoDigestStore:
    def __init__(self, root: Path) -> None:
        self.path = root / "repodigests.json"
        self.refs: dict[str, str] = {}
        if self.path.exists():
            self.refs = json.loads(self.path.read_text()).get("Digests", {})

    def _save(self) -> None:
        write_atomic(self.path, json.dumps({"Digests": self.refs}, indent=1, sort_keys=True).encode())

    def add(self, repository: str, digest: str, image_id: str) -> None:
        """``repository@digest`` names ``image_id`` (a digest names one manifest: a newer image
        pulled under the same digest cannot happen, but a re-pull after a delete can)."""
        key = f"{repository}@{digest}"
        if self.refs.get(key) != image_id:
            self.refs[key] = image_id
            self._save()

    def get(self, ref: str) -> str | None:
        return self.refs.get(ref)

    def delete(self, ref: str) -> bool:
        if self.refs.pop(ref, None) is None:
            return False
        self._save()
        return True

    def refs_for(self, image_id: str) -> list[str]:
        return sorted(r for r, i in self.refs.items() if i == image_id)


__all__ = ["RepoDigestStore"]
