"""Hashing an upload as it streams in, off the event loop.

hashlib lets go of the GIL for big buffers, so a body gathered into batches of ``HASH_BATCH``
bytes is hashed in a worker thread, one batch at a time and in order, while the loop receives
the next: the loop only gathers bytes. Both the v1 ``PUT layer`` (payload checksum) and the v2
blob upload (digest) hash this way.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, AsyncIterable, Callable
from typing import cast

HASH_BATCH = 1 << 20


async def hashed_batches(
    chunks: AsyncIterable[bytes], update: Callable[[bytes], object]
) -> AsyncGenerator[bytes, None]:
    """``chunks`` again, in batches of ``HASH_BATCH`` bytes (the last one shorter), each passed to
    ``update`` in a worker thread (a short last batch here) before the next one is."""
    hashing: asyncio.Future[object] | None = None
    pending = bytearray()
    try:
        async for chunk in chunks:
            pending += chunk
            if len(pending) < HASH_BATCH:
                continue
            batch, pending = pending, bytearray()  # (handed on, never changed again: no copy)
            if hashing is not None:
                await hashing  # in order: one batch at a time
            hashing = asyncio.ensure_future(asyncio.to_thread(update, cast("bytes", batch)))
            yield cast("bytes", batch)  # a bytearray does all a driver asks of bytes (len, +=, write)
        if hashing is not None:
            await hashing
            hashing = None
        if pending:
            update(bytes(pending))
            yield bytes(pending)
    finally:
        if hashing is not None and not hashing.done():
            await asyncio.shield(hashing)  # (the thread runs on: let it end before the hash is dropped)


__all__ = ["HASH_BATCH", "hashed_batches"]
