"""An event loop serving in a thread, for the listener tests."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def serving(loop: asyncio.AbstractEventLoop, servers: list[asyncio.Server]) -> Iterator[None]:
    """Run ``loop`` in a thread while the block runs; then stop it, close ``servers`` and the loop."""
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    try:
        yield
    finally:
        loop.call_soon_threadsafe(loop.stop)
        thread.join(5)
        for server in servers:
            server.close()
        loop.close()
