"""The parallel gzip writer makes one standard gzip member, whatever the content and sizes."""

from __future__ import annotations

import gzip
import io
import random
import subprocess
import zlib

import pytest
from wharf_engine.distribution import pgzip
from wharf_engine.distribution.pgzip import BLOCK, ParallelGzipWriter

TEXT = b"".join(b"line %d of a text layer, words and numbers %x\n" % (i, i * 7919) for i in range(60_000))
NOISE = random.Random(7).randbytes(3 * BLOCK + 12_345)


def pack(data: bytes, *, piece: int = 65_536, level: int = 6, threads: int = 2) -> bytes:
    out = io.BytesIO()
    with ParallelGzipWriter(out.write, level=level, threads=threads) as writer:
        for i in range(0, len(data), piece):
            writer.write(data[i : i + piece])
    return out.getvalue()


@pytest.mark.parametrize(
    "data",
    [b"", b"x", TEXT, NOISE, TEXT[: BLOCK // 2] + NOISE[:BLOCK] + TEXT, TEXT[:BLOCK], TEXT[: BLOCK + 1]],
    ids=["empty", "one-byte", "text", "noise", "mixed", "one-block", "block-plus-one"],
)
def test_round_trip_through_standard_readers(data: bytes) -> None:
    packed = pack(data)
    assert gzip.decompress(packed) == data
    assert zlib.decompress(packed, wbits=31) == data
    assert subprocess.run(["gzip", "-t"], input=packed, check=False).returncode == 0


def test_compresses_text_like_plain_gzip() -> None:
    assert len(pack(TEXT)) <= 1.05 * len(gzip.compress(TEXT, 6))


def test_incompressible_blocks_are_stored_not_inflated() -> None:
    packed = pack(NOISE)
    assert len(packed) < len(NOISE) * 1.001 + 64


def test_header_and_trailer_name_crc_and_length() -> None:
    packed = pack(TEXT, threads=3)
    assert packed[:3] == b"\x1f\x8b\x08" and packed[4:8] == b"\0\0\0\0"  # mtime 0: reproducible
    crc, size = int.from_bytes(packed[-8:-4], "little"), int.from_bytes(packed[-4:], "little")
    assert (crc, size) == (zlib.crc32(TEXT), len(TEXT))


def test_output_does_not_depend_on_write_sizes_or_threads() -> None:
    assert pack(TEXT, piece=1000, threads=1) == pack(TEXT, piece=BLOCK * 2, threads=4)


def test_an_error_inside_the_block_stops_without_a_trailer() -> None:
    out = io.BytesIO()
    with pytest.raises(RuntimeError), ParallelGzipWriter(out.write) as writer:
        writer.write(TEXT[:100])
        raise RuntimeError("export failed")
    assert len(out.getvalue()) == 10  # the header only: never a valid-looking member


def test_a_layer_of_one_block_starts_no_threads(monkeypatch: pytest.MonkeyPatch) -> None:
    def no_pool(*args: object, **kwargs: object) -> None:
        raise AssertionError("a thread pool for a single block")

    monkeypatch.setattr(pgzip, "ThreadPoolExecutor", no_pool)
    data = TEXT[: BLOCK - 1]
    assert gzip.decompress(pack(data)) == data
    with pytest.raises(AssertionError, match="thread pool"):
        pack(TEXT[: BLOCK + 1])
