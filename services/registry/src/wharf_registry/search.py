"""Standalone search over repository names (protocols.md A.9; paginated as D16 documents)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from wharf_common.errors import InvalidArgument

from .names import OFFICIAL_NAMESPACE
from .storage import paths
from .storage.base import StorageDriver

DEFAULT_PAGE_SIZE = 25
MAX_PAGE_SIZE = 100


@dataclass(frozen=True, slots=True)
class SearchQuery:
    query: str
    page_size: int = DEFAULT_PAGE_SIZE
    page: int = 1

    @classmethod
    def parse(cls, q: str, n: str | None, page: str | None) -> SearchQuery:
        try:
            size = int(n) if n not in (None, "") else DEFAULT_PAGE_SIZE
            number = int(page) if page not in (None, "") else 1
        except ValueError:
            raise InvalidArgument("n and page must be integers") from None
        if not 1 <= size <= MAX_PAGE_SIZE:
            raise InvalidArgument(f"n must be between 1 and {MAX_PAGE_SIZE}")
        if number < 1:
            raise InvalidArgument("page must be 1 or more")
        return cls(q.strip().lower(), size, number)


class SearchService:
    def __init__(self, storage: StorageDriver) -> None:
        self.storage = storage

    async def repositories(self) -> list[str]:
        """Every repository's familiar name (``ubuntu``, ``user/web``), sorted."""
        found: list[str] = []
        for namespace in await self.storage.list(paths.REPOSITORIES):
            for repo in await self.storage.list(f"{paths.REPOSITORIES}/{namespace}"):
                found.append(repo if namespace == OFFICIAL_NAMESPACE else f"{namespace}/{repo}")
        return sorted(found)

    async def search(self, query: SearchQuery) -> dict[str, Any]:
        matches = [name for name in await self.repositories() if query.query in name]
        start = (query.page - 1) * query.page_size
        page = matches[start : start + query.page_size]
        return {
            "query": query.query,
            "num_results": len(matches),
            "num_pages": max(1, -(-len(matches) // query.page_size)),
            "page": query.page,
            "page_size": query.page_size,
            "results": [
                {
                    "name": name,
                    "description": "",
                    "star_count": 0,
                    "is_official": "/" not in name,
                    "is_trusted": False,
                    "is_automated": False,
                }
                for name in page
            ],
        }
