"""Writing to stdout/stderr and failing like the docker CLI does."""

from __future__ import annotations

import sys

from wharf_client import ClientError, EngineError

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (see wharf_client.lean)
if TYPE_CHECKING:
    from typing import NoReturn


def out(text: str = "", end: str = "\n") -> None:
    sys.stdout.write(text + end)


def err(text: str = "", end: str = "\n") -> None:
    sys.stderr.write(text + end)


def write_stream(stream_type: int, data: bytes) -> None:
    """Write container output: stream 2 to stderr, everything else to stdout (unbuffered)."""
    target = sys.stderr if stream_type == 2 else sys.stdout
    target.flush()
    buffer = getattr(target, "buffer", None)
    if buffer is not None:
        buffer.write(data)
        buffer.flush()
    else:
        target.write(data.decode("utf-8", "replace"))
        target.flush()


def describe(error: ClientError) -> str:
    """The text docker prints for an error: daemon errors are prefixed ``Error response from daemon:``."""
    if isinstance(error, EngineError):
        return f"Error response from daemon: {error.message}"
    return str(error)


def fail(message: str, code: int = 1) -> NoReturn:
    """Print ``message`` on stderr and exit with ``code`` (the same under typer and the fast path)."""
    err(message)
    raise SystemExit(code)


def fail_client(error: ClientError, code: int = 1) -> NoReturn:
    fail(describe(error), code)
