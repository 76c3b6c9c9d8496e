"""``GET /v2/<name>/tags/list``, ``GET /v2/_catalog`` (``n``/``last`` pagination) and the referrers API."""

from __future__ import annotations

import json
from typing import Any

from ..names import RepositoryName
from ..storage import paths
from ..storage.base import PathNotFound, StorageDriver, get_bytes
from ..tags import TagService
from .errors import NameUnknown, PaginationInvalid
from .names import Digest
from .uploads import V2Limits


def page(items: list[str], n: int | None, last: str | None, max_page: int) -> tuple[list[str], bool]:
    """The items after ``last`` (lexically), at most ``n``; and whether more follow."""
    if n is not None and n < 0:
        raise PaginationInvalid("n must be a non-negative number", {"n": n})
    limit = max_page if n is None else min(n, max_page)
    after = [i for i in sorted(items) if last is None or i > last]
    return after[:limit], len(after) > limit


class Listing:
    def __init__(self, storage: StorageDriver, tags: TagService, limits: V2Limits) -> None:
        self.storage = storage
        self.tags = tags
        self.limits = limits

    async def tag_list(
        self, repo: RepositoryName, name: str, n: int | None, last: str | None
    ) -> tuple[list[str], bool]:
        tags = await self.tags.tag_names(repo)
        if not tags and not await self.storage.list(paths.repository_manifests(repo.namespace, repo.repo)):
            raise NameUnknown(name)
        return page(tags, n, last, self.limits.max_page)

    async def catalog(self, n: int | None, last: str | None) -> tuple[list[str], bool]:
        """Repositories with a tag or a manifest, as ``namespace/name``."""
        found: list[str] = []
        for namespace in await self.storage.list(paths.REPOSITORIES):
            for repo in await self.storage.list(f"{paths.REPOSITORIES}/{namespace}"):
                entries = await self.storage.list(paths.repository(namespace, repo))
                if any(e.startswith(paths.TAG_PREFIX) for e in entries) or "_manifests" in entries:
                    found.append(f"{namespace}/{repo}")
        return page(found, n, last, self.limits.max_page)

    async def referrers(
        self, repo: RepositoryName, subject: Digest, artifact_type: str | None
    ) -> list[dict[str, Any]]:
        """Descriptors of the manifests in ``repo`` whose subject is ``subject`` (may be none)."""
        found: list[dict[str, Any]] = []
        base = paths.referrers(repo.namespace, repo.repo, subject.hex)
        for name in await self.storage.list(base):
            try:
                record = json.loads(await get_bytes(self.storage, f"{base}/{name}"))
            except (PathNotFound, ValueError, UnicodeDecodeError):
                continue
            if not isinstance(record, dict):
                continue
            if artifact_type is not None and record.get("artifactType") != artifact_type:
                continue
            found.append(record)
        return found
