"""FileRangeResponse: the zero-copy message when the server offers it, chunks in threads when not."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
from starlette.types import Message, Scope
from wharf_registry.api.files import ZERO_COPY_SEND, FileRangeResponse, FileTruncated
from wharf_registry.storage.base import CHUNK_SIZE

pytestmark = pytest.mark.anyio


def scope(*, zero_copy: bool) -> Scope:
    extensions: dict[str, Any] = {ZERO_COPY_SEND: {}} if zero_copy else {}
    return {"type": "http", "method": "GET", "path": "/", "headers": [], "extensions": extensions}


async def receive() -> Message:
    return {"type": "http.disconnect"}


async def run(response: FileRangeResponse, *, zero_copy: bool) -> list[Message]:
    sent: list[Message] = []

    async def send(message: Message) -> None:
        if message["type"] == ZERO_COPY_SEND:  # what a server would send: the file's bytes, read now
            f = message["file"]
            f.seek(message["offset"])
            message = {**message, "file": f.read(message["count"])}
        sent.append(message)

    await response(scope(zero_copy=zero_copy), receive, send)
    return sent


def body_of(messages: list[Message]) -> bytes:
    return b"".join(m.get("body", b"") for m in messages if m["type"] == "http.response.body")


@pytest.fixture
def data(tmp_path: Path) -> bytes:
    raw = os.urandom(2 * CHUNK_SIZE + 10)
    (tmp_path / "f").write_bytes(raw)
    return raw


async def test_zero_copy_message_names_the_range(tmp_path: Path, data: bytes) -> None:
    messages = await run(FileRangeResponse(tmp_path / "f", 5, 1005, status_code=206), zero_copy=True)
    start, file_part = messages
    assert start["status"] == 206
    assert (b"content-length", b"1000") in start["headers"]
    assert (b"content-type", b"application/octet-stream") in start["headers"]
    assert file_part == {"type": ZERO_COPY_SEND, "file": data[5:1005], "offset": 5, "count": 1000}


async def test_without_the_extension_reads_chunks(tmp_path: Path, data: bytes) -> None:
    messages = await run(FileRangeResponse(tmp_path / "f", 7, len(data)), zero_copy=False)
    bodies = [m for m in messages if m["type"] == "http.response.body"]
    assert [len(m["body"]) for m in bodies] == [CHUNK_SIZE, CHUNK_SIZE, 3]
    assert [m["more_body"] for m in bodies] == [True, True, False]
    assert body_of(messages) == data[7:]


async def test_empty_range_is_one_empty_body(tmp_path: Path, data: bytes) -> None:
    messages = await run(FileRangeResponse(tmp_path / "f", 0, 0), zero_copy=False)
    assert [m["type"] for m in messages] == ["http.response.start", "http.response.body"]
    assert body_of(messages) == b""


@pytest.mark.parametrize("zero_copy", [True, False])
async def test_missing_file_is_404(tmp_path: Path, zero_copy: bool) -> None:
    messages = await run(
        FileRangeResponse(tmp_path / "gone", 0, 10, missing="Image not found"), zero_copy=zero_copy
    )
    assert messages[0]["status"] == 404
    assert body_of(messages) == b'{"error": "Image not found"}'


async def test_file_removed_after_open_still_sent_whole(tmp_path: Path, data: bytes) -> None:
    sent: list[Message] = []

    async def send(message: Message) -> None:
        if message["type"] == "http.response.start":
            (tmp_path / "f").unlink()
        sent.append(message)

    await FileRangeResponse(tmp_path / "f", 0, len(data))(scope(zero_copy=False), receive, send)
    assert body_of(sent) == data


async def test_file_that_shrinks_mid_body_raises(tmp_path: Path, data: bytes) -> None:
    async def send(message: Message) -> None:
        if message["type"] == "http.response.start":
            os.truncate(tmp_path / "f", CHUNK_SIZE + 1)

    with pytest.raises(FileTruncated, match=f"ended {CHUNK_SIZE - 1 + 10} bytes early"):
        await FileRangeResponse(tmp_path / "f", 0, len(data))(scope(zero_copy=False), receive, send)
