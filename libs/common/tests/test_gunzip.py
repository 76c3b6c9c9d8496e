"""GunzipReader reads what gzip.GzipFile reads and refuses what it refuses; HashingReader seeks forward."""

from __future__ import annotations

import gzip
import hashlib
import io
import os
import random
import zlib

import pytest
from wharf_common._gunzip import GunzipReader
from wharf_common._tarbase import HashingReader, InvalidArchive


class Trickle:
    """A source that gives at most ``step`` bytes per read, as a network pipe may."""

    def __init__(self, data: bytes, step: int) -> None:
        self._data, self._step, self._pos = data, step, 0

    def read(self, size: int = -1, /) -> bytes:
        n = self._step if size < 0 else min(size, self._step)
        chunk = self._data[self._pos : self._pos + n]
        self._pos += len(chunk)
        return chunk


def read_all(data: bytes, step: int = 1 << 20, size: int = 300_000) -> bytes:
    reader = GunzipReader(Trickle(data, step))
    out = []
    while chunk := reader.read(size):
        out.append(chunk)
    return b"".join(out)


PLAIN = random.Random(7).randbytes(3 << 20) + b"text " * 200_000  # incompressible, then compressible


@pytest.mark.parametrize("step", [1, 7, 4096, 1 << 20])
def test_one_member_any_input_pieces(step: int) -> None:
    data = gzip.compress(PLAIN[:200_000] if step == 1 else PLAIN)
    assert read_all(data, step) == (PLAIN[:200_000] if step == 1 else PLAIN)


def test_members_one_after_another_and_zero_padding() -> None:
    data = gzip.compress(b"first ") + gzip.compress(b"") + gzip.compress(PLAIN) + b"\x00" * 5000
    assert read_all(data, 999) == b"first " + PLAIN


def test_header_with_name_comment_and_extra_fields() -> None:
    buf = io.BytesIO()
    with gzip.GzipFile(filename="layer.tar", mode="wb", fileobj=buf, mtime=1) as f:
        f.write(PLAIN)
    assert read_all(buf.getvalue()) == PLAIN


def test_read_without_size_reads_everything() -> None:
    assert GunzipReader(io.BytesIO(gzip.compress(PLAIN))).read() == PLAIN


@pytest.mark.parametrize("cut", [1, 10, 5000, 1 << 20, -8, -1])
def test_a_stream_cut_short_is_eoferror(cut: int) -> None:
    data = gzip.compress(PLAIN)
    with pytest.raises(EOFError):
        read_all(data[:cut])


def test_a_wrong_crc_is_zlib_error() -> None:
    data = bytearray(gzip.compress(PLAIN))
    data[-8] ^= 0xFF  # CRC-32 in the trailer
    with pytest.raises(zlib.error):
        read_all(bytes(data))


def test_corrupt_deflate_data_is_zlib_error() -> None:
    data = bytearray(gzip.compress(b"text " * 100_000))
    data[30:40] = os.urandom(10)
    with pytest.raises(zlib.error):
        read_all(bytes(data))


def test_garbage_after_a_member_is_refused_as_gzip_is() -> None:
    data = gzip.compress(PLAIN) + b"not gzip at all"
    with pytest.raises(gzip.BadGzipFile):
        read_all(data)
    with pytest.raises(gzip.BadGzipFile):
        gzip.decompress(data)  # the same verdict as the standard library's


def test_hashing_reader_seeks_forward_only_and_hashes_what_it_skips() -> None:
    reader = HashingReader(io.BytesIO(PLAIN), window=1024)
    assert reader.read(10) == PLAIN[:10]
    assert reader.seek(5000) == 5000 and reader.tell() == 5000
    assert reader.read(5) == PLAIN[5000:5005]
    with pytest.raises(InvalidArchive):
        reader.seek(100)
    reader.drain()
    assert reader.hexdigest() == hashlib.sha256(PLAIN).hexdigest()
