"""The classic builder's JSON stream: ``{"stream": ...}`` lines, ``aux``, and the final error."""

from __future__ import annotations

import asyncio
import json
from typing import Any


class BuildOutput:
    """Messages queued for the HTTP response; ``quiet`` keeps step output for an error only."""

    def __init__(self, *, quiet: bool = False) -> None:
        self.queue: asyncio.Queue[bytes | None] = asyncio.Queue()
        self.quiet = quiet
        self.held: list[bytes] = []

    def _put(self, message: dict[str, Any]) -> None:
        line = json.dumps(message).encode() + b"\r\n"
        if self.quiet and "error" not in message and "aux" not in message:
            self.held.append(line)
        else:
            self.queue.put_nowait(line)

    async def stream(self, text: str) -> None:
        self._put({"stream": text})

    def progress(self, message: dict[str, Any]) -> None:
        """A pull's progress message, as it is (``docker build`` shows the FROM image's pull)."""
        self._put(dict(message))

    def aux(self, data: dict[str, Any]) -> None:
        self._put({"aux": data})

    def result(self, image_id: str) -> None:
        """With ``quiet``, the image id alone, as ``docker build -q`` prints it."""
        if self.quiet:
            self.queue.put_nowait(json.dumps({"stream": image_id + "\n"}).encode() + b"\r\n")

    def error(self, message: str, code: int | None = None) -> None:
        for line in self.held:  # quiet builds show what happened when they fail
            self.queue.put_nowait(line)
        self.held.clear()
        detail: dict[str, Any] = {"message": message}
        if code is not None:
            detail["code"] = code
        self._put({"errorDetail": detail, "error": message})

    def close(self) -> None:
        self.queue.put_nowait(None)
