"""Upload limits: the largest image JSON and layer, and an optional quota per namespace.

Every limit is checked on the bytes as they stream in, never on a buffered body: a body that
passes one raises from the iterator the storage driver is consuming, so the driver's atomic
write leaves nothing behind, and the client gets 413 with the v1 error body. A declared
``Content-Length`` over the limit is refused before a byte is read.

The quota counts the layer bytes published into a namespace (a layer proven there, already
stored for another repository, costs nothing), kept in ``namespaces/<ns>/_usage``: the registry
adds each layer it publishes while a quota is set, and ``wharf-registry gc`` counts it again from
the repositories' records of what they published and is still stored (so removed images and
deleted repositories free their bytes, and a layer published to two repositories of a namespace
counts once). Bytes still streaming count too, so concurrent uploads cannot pass it together.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterable, AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

import structlog
from pydantic import BaseModel, Field

from .errors import QuotaExceeded, UploadTooLarge
from .storage import paths
from .storage.base import PathNotFound, StorageDriver, get_bytes, put_bytes

log = structlog.get_logger(__name__)


class UploadLimits(BaseModel):
    """``WHARF_REGISTRY_UPLOADS__MAX_LAYER_SIZE=…`` and so on (bytes, seconds)."""

    max_layer_size: int = Field(default=10 << 30, gt=0)
    """The largest layer body accepted (default 10 GiB)."""
    max_image_json_size: int = Field(default=1 << 20, gt=0)
    """The largest image JSON accepted (default 1 MiB)."""
    namespace_quota: int | None = Field(default=None, gt=0)
    """Layer bytes a namespace may publish in all (default: no quota)."""
    takeover_after: float = Field(default=3600.0, gt=0)
    """Seconds after which another repository may take over an image left in progress."""


async def capped(
    chunks: AsyncIterable[bytes], limit: int, what: str, length: int | None = None
) -> AsyncIterator[bytes]:
    """``chunks``, raising :class:`UploadTooLarge` once more than ``limit`` bytes came."""
    if length is not None and length > limit:
        raise UploadTooLarge(what, limit)
    total = 0
    async for chunk in chunks:
        total += len(chunk)
        if total > limit:
            log.warning("upload.too_large", what=what, limit=limit)
            raise UploadTooLarge(what, limit)
        yield chunk


@dataclass(slots=True)
class _Reservation:
    """One upload's place in its namespace's count (``apply`` wraps its body)."""

    usage: NamespaceUsage
    namespace: str
    layer_limit: int
    used: int  # published bytes when the upload began
    streamed: int = 0

    async def apply(self, chunks: AsyncIterable[bytes]) -> AsyncIterator[bytes]:
        quota = self.usage.quota
        async for chunk in capped(chunks, self.layer_limit, "Layer"):
            self.streamed += len(chunk)
            if quota is not None and self.used + self.usage.streaming(self.namespace) > quota:
                log.warning("upload.quota_exceeded", namespace=self.namespace, quota=quota)
                raise QuotaExceeded(self.namespace, quota)
            yield chunk


class NamespaceUsage:
    def __init__(self, storage: StorageDriver, quota: int | None) -> None:
        self.storage = storage
        self.quota = quota
        self._streaming: dict[str, list[_Reservation]] = {}
        self._lock = asyncio.Lock()

    def streaming(self, namespace: str) -> int:
        """Bytes of the uploads into ``namespace`` still coming in."""
        return sum(r.streamed for r in self._streaming.get(namespace, ()))

    async def used(self, namespace: str) -> int:
        try:
            data = json.loads(await get_bytes(self.storage, paths.namespace_usage(namespace)))
        except (PathNotFound, ValueError, UnicodeDecodeError):
            return 0
        value = data.get("bytes") if isinstance(data, dict) else None
        return value if isinstance(value, int) else 0

    @asynccontextmanager
    async def reserve(
        self, namespace: str, layer_limit: int, length: int | None
    ) -> AsyncIterator[_Reservation]:
        """Count an upload into ``namespace`` while it streams (``apply`` checks the limits)."""
        if length is not None and length > layer_limit:
            raise UploadTooLarge("Layer", layer_limit)
        used = await self.used(namespace) if self.quota is not None else 0
        if self.quota is not None and used + self.streaming(namespace) + (length or 0) > self.quota:
            raise QuotaExceeded(namespace, self.quota)
        reservation = _Reservation(self, namespace, layer_limit, used)
        self._streaming.setdefault(namespace, []).append(reservation)
        try:
            yield reservation
        finally:
            active = self._streaming[namespace]
            active.remove(reservation)
            if not active:
                del self._streaming[namespace]

    async def add(self, namespace: str, size: int) -> None:
        """A layer of ``size`` bytes was published into ``namespace`` (kept only under a quota)."""
        if self.quota is None:
            return
        async with self._lock:
            total = await self.used(namespace) + size
            data = json.dumps({"bytes": total}).encode()
            await put_bytes(self.storage, paths.namespace_usage(namespace), data, durable=False)


__all__ = ["NamespaceUsage", "UploadLimits", "capped"]
