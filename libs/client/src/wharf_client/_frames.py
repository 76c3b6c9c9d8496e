"""Docker's stream multiplexing (``stdcopy``): 8-byte headers ``[type, 0, 0, 0, size (big-endian u32)]``."""

from __future__ import annotations

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (see lean)
if TYPE_CHECKING:
    from collections.abc import Iterable, Iterator


STDIN = 0
STDOUT = 1
STDERR = 2
SYSTEMERR = 3
HEADER_SIZE = 8

MULTIPLEXED_STREAM = "application/vnd.docker.multiplexed-stream"
RAW_STREAM = "application/vnd.docker.raw-stream"

Frame = tuple[int, bytes]


def encode_frame(stream: int, payload: bytes) -> bytes:
    """Build one frame (the server side of the format; used by tests and fakes)."""
    return bytes((stream, 0, 0, 0)) + len(payload).to_bytes(4, "big") + payload


class FrameDecoder:
    """Incremental demultiplexer: feed it bytes as they arrive, get back complete ``(stream, payload)``."""

    def __init__(self) -> None:
        self._buffer = bytearray()

    def feed(self, data: bytes) -> list[Frame]:
        self._buffer += data
        frames: list[Frame] = []
        buf = self._buffer
        offset = 0
        while len(buf) - offset >= HEADER_SIZE:
            size = int.from_bytes(buf[offset + 4 : offset + 8], "big")
            end = offset + HEADER_SIZE + size
            if len(buf) < end:
                break
            frames.append((buf[offset], bytes(buf[offset + HEADER_SIZE : end])))
            offset = end
        del buf[:offset]
        return frames

    @property
    def pending(self) -> int:
        """Bytes of an incomplete frame still buffered."""
        return len(self._buffer)


def demultiplex(chunks: Iterable[bytes]) -> Iterator[Frame]:
    """Split a multiplexed byte stream into frames; a truncated last frame is dropped, as stdcopy does."""
    decoder = FrameDecoder()
    for chunk in chunks:
        yield from decoder.feed(chunk)


def raw_frames(chunks: Iterable[bytes]) -> Iterator[Frame]:
    """The TTY case: everything is stdout."""
    for chunk in chunks:
        if chunk:
            yield STDOUT, chunk


def is_multiplexed(content_type: str, tty: bool | None) -> bool:
    """Decide the framing from the response Content-Type (API >= 1.42), else from the container's TTY flag."""
    if content_type == MULTIPLEXED_STREAM:
        return True
    if content_type == RAW_STREAM:
        return False
    return not tty if tty is not None else True
