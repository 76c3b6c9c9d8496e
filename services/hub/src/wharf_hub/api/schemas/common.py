"""Shapes every ``/api/v1`` endpoint shares: request bodies, a page of results, an error."""

from __future__ import annotations

from typing import Generic, TypeVar

from pydantic import BaseModel, ConfigDict, Field

T = TypeVar("T")


class Input(BaseModel):
    """A request body: unknown fields and wrong types are refused (400)."""

    model_config = ConfigDict(extra="forbid", strict=True)


class Page(BaseModel, Generic[T]):
    """One page of a list, as Docker Hub's v2 API pages (``?page=&page_size=``)."""

    count: int = Field(description="How many results all pages hold together.")
    page: int = Field(description="This page's number, from 1.")
    page_size: int = Field(description="Results per page (at most 100).")
    next: str | None = Field(description="URL of the next page; null on the last one.")
    previous: str | None = Field(description="URL of the previous page; null on the first one.")
    results: list[T]


class Problem(BaseModel):
    """An error, as problem details (RFC 9457), served as ``application/problem+json``."""

    type: str = Field("about:blank", examples=["about:blank"])
    title: str = Field(description="The HTTP status phrase.", examples=["Not Found"])
    status: int = Field(examples=[404])
    detail: str = Field(description="What went wrong.", examples=["No such repository: alice/web"])


__all__ = ["Input", "Page", "Problem"]
