"""File-system helpers the engine's stores share."""

from __future__ import annotations

import os
from pathlib import Path


def write_atomic(path: Path, data: bytes, *, durable: bool = True) -> None:
    """Whole or not at all; with ``durable``, on disk before it replaces the old file (fsync).

    The temporary name carries the pid so that two processes writing the same file never share one.
    """
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with open(tmp, "wb") as f:
        f.write(data)
        if durable:
            f.flush()
            os.fsync(f.fileno())
    tmp.replace(path)
