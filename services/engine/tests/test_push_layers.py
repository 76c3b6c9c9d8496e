"""A push's layer bodies: spooled ahead or compressed while sent, the same bytes and checksum."""

from __future__ import annotations

import asyncio
import gzip
import hashlib
import random
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from wharf_engine.daemon.push_layers import LiveLayer, spool

LAYER = random.Random(3).randbytes(3 << 20) + b"text " * 400_000
IMAGE_JSON = b'{"id": "x"}'


def export(out: Any) -> None:
    for i in range(0, len(LAYER), 300_000):
        out.write(LAYER[i : i + 300_000])


async def collect(live: LiveLayer) -> bytes:
    return b"".join([chunk async for chunk in live.chunks()])


def test_live_and_spooled_bodies_match_and_hash_the_payload(tmp_path: Path) -> None:
    spooled = spool(export, IMAGE_JSON, tmp_path / "layer.gz", threads=2)
    live = LiveLayer(export, IMAGE_JSON, threads=2)
    body = asyncio.run(collect(live))
    assert body == (tmp_path / "layer.gz").read_bytes()
    assert gzip.decompress(body) == LAYER
    assert live.payload == spooled
    assert spooled.size == len(body)
    assert spooled.checksum == "sha256:" + hashlib.sha256(IMAGE_JSON + b"\n" + body).hexdigest()


def test_an_export_error_reaches_the_sender() -> None:
    def broken(out: Any) -> None:
        out.write(LAYER[:2_000_000])
        raise OSError("layer file vanished")

    with pytest.raises(OSError, match="vanished"):
        asyncio.run(collect(LiveLayer(broken, IMAGE_JSON, threads=2)))


def test_a_sender_that_stops_early_stops_the_compressor() -> None:
    live = LiveLayer(export, IMAGE_JSON, threads=2)

    async def first_chunk() -> None:
        async for _ in live.chunks():
            break

    def compressing() -> list[threading.Thread]:
        return [t for t in threading.enumerate() if t.name.startswith(("push-compress", "pgzip"))]

    for earlier in compressing():  # an earlier test's layer (one that failed, say) may still be ending
        earlier.join(10)
    assert compressing() == []
    asyncio.run(first_chunk())
    deadline = time.monotonic() + 10
    while compressing() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert compressing() == []
    assert live.payload is None
