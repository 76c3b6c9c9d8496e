"""The pull's pipe: bytes in order, end of file only when finished, errors both ways."""

from __future__ import annotations

import asyncio
import gc
import logging
import threading

import pytest
from wharf_engine.distribution.pipe import ChunkPipe, ReaderGone, in_thread, settled


def read_all(pipe: ChunkPipe, out: list[bytes | BaseException], size: int = 7) -> None:
    try:
        while chunk := pipe.read(size):
            out.append(chunk)
    except BaseException as exc:
        out.append(exc)
    finally:
        pipe.reader_done()


async def feed(pipe: ChunkPipe, chunks: list[bytes], *, finish: bool = True) -> None:
    for chunk in chunks:
        await pipe.put(chunk)
    if finish:
        await pipe.finish()


def test_bytes_arrive_in_order_then_end_of_file() -> None:
    pipe = ChunkPipe(depth=2)
    out: list[bytes | BaseException] = []
    reader = threading.Thread(target=read_all, args=(pipe, out))
    reader.start()
    chunks = [bytes([i]) * (i * 13 + 1) for i in range(40)]
    asyncio.run(feed(pipe, chunks))
    reader.join(10)
    assert b"".join(o for o in out if isinstance(o, bytes)) == b"".join(chunks)


def test_read_everything_at_once() -> None:
    pipe = ChunkPipe()
    asyncio.run(feed(pipe, [b"abc", b"def"]))
    assert pipe.read() == b"abcdef" and pipe.read(5) == b""


def test_abort_makes_the_reader_raise_even_when_the_pipe_is_full() -> None:
    pipe = ChunkPipe(depth=1)
    out: list[bytes | BaseException] = []
    asyncio.run(feed(pipe, [b"x"], finish=False))
    pipe.abort(ValueError("checksum mismatch"))
    read_all(pipe, out)
    assert isinstance(out[-1], ValueError)


def test_a_reader_that_stops_early_unblocks_the_writer() -> None:
    pipe = ChunkPipe(depth=1)
    pipe.reader_done()
    with pytest.raises(ReaderGone):
        asyncio.run(feed(pipe, [b"a", b"b", b"c"]))


def test_settled_consumes_the_error_of_the_thread_it_waited_for(caplog: pytest.LogCaptureFixture) -> None:
    """The caller fails for its own reason; the thread's error must not be logged as forgotten."""

    def refuse() -> None:
        raise ValueError("refused")

    async def main() -> None:
        future = in_thread(refuse, name="refuser")
        await settled(future)
        assert future.done()  # and nothing of ours looked at its error

    with caplog.at_level(logging.ERROR, logger="asyncio"):
        asyncio.run(main())
        gc.collect()
    assert "never retrieved" not in caplog.text
