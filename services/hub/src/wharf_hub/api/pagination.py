"""``?page=&page_size=`` for list endpoints, answered as :class:`~.schemas.common.Page`.

Out-of-range values are a 400 (FastAPI's validation, rendered as problem JSON); a page past
the last one is empty, with ``previous`` pointing at the last page that has results.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Annotated, TypeVar

from fastapi import Depends, Query, Request

from ..services.social import DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE
from .schemas.common import Page

MAX_PAGE = 2**31 - 1  # keeps offsets inside a 64-bit integer
T = TypeVar("T")
Row = TypeVar("Row")


@dataclass(frozen=True, slots=True)
class Pagination:
    page: int
    page_size: int

    @property
    def offset(self) -> int:
        return (self.page - 1) * self.page_size

    def page_of(self, request: Request, count: int, results: list[T]) -> Page[T]:
        """The page around ``results`` (already this page's rows) of ``count`` in all."""
        last = max(1, math.ceil(count / self.page_size))
        return Page(
            count=count,
            page=self.page,
            page_size=self.page_size,
            next=self._link(request, self.page + 1) if self.page < last else None,
            previous=self._link(request, min(self.page - 1, last)) if self.page > 1 else None,
            results=results,
        )

    def slice(self, request: Request, rows: Sequence[Row], convert: Callable[[Row], T]) -> Page[T]:
        """This page of ``rows`` (every row of the list), each converted."""
        window = rows[self.offset : self.offset + self.page_size]
        return self.page_of(request, len(rows), [convert(row) for row in window])

    def _link(self, request: Request, page: int) -> str:
        return str(request.url.include_query_params(page=page, page_size=self.page_size))


def pagination(
    page: Annotated[int, Query(ge=1, le=MAX_PAGE, description="Page number, from 1.")] = 1,
    page_size: Annotated[
        int, Query(ge=1, le=MAX_PAGE_SIZE, description=f"Results per page, 1 to {MAX_PAGE_SIZE}.")
    ] = DEFAULT_PAGE_SIZE,
) -> Pagination:
    return Pagination(page, page_size)


Paging = Annotated[Pagination, Depends(pagination)]
"""A handler parameter: ``paging: Paging``."""

__all__ = ["MAX_PAGE", "Pagination", "Paging", "pagination"]
