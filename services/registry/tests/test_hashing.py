"""An upload hashed in batches off the event loop: the same bytes out, the same hash, in order."""

from __future__ import annotations

import asyncio
import hashlib
import random
from collections.abc import AsyncIterator

import pytest
from wharf_registry.hashing import HASH_BATCH, hashed_batches

BODY = random.Random(5).randbytes(3 * HASH_BATCH + 12_345)


async def pieces(data: bytes, size: int = 65_536, *, fail_at: int | None = None) -> AsyncIterator[bytes]:
    for i in range(0, len(data), size):
        if fail_at is not None and i >= fail_at:
            raise ConnectionResetError("client went away")
        yield data[i : i + size]
        await asyncio.sleep(0)


def test_batches_carry_every_byte_and_the_hash_matches() -> None:
    h = hashlib.sha256()

    async def run() -> list[bytes]:
        return [bytes(batch) async for batch in hashed_batches(pieces(BODY), h.update)]

    batches = asyncio.run(run())
    assert b"".join(batches) == BODY
    assert [len(b) for b in batches[:-1]] == [HASH_BATCH] * 3 and len(batches[-1]) == 12_345
    assert h.hexdigest() == hashlib.sha256(BODY).hexdigest()


def test_a_body_cut_off_raises_after_the_hashing_thread_is_done() -> None:
    seen: list[int] = []

    def update(data: bytes) -> None:
        seen.append(len(data))

    async def run() -> None:
        async for _ in hashed_batches(pieces(BODY, fail_at=2 * HASH_BATCH), update):
            pass

    with pytest.raises(ConnectionResetError):
        asyncio.run(run())
    assert seen == [HASH_BATCH, HASH_BATCH]  # whole batches only; the cut piece never hashed
