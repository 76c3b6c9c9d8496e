"""A service's data root is its own: created 0700, group and other access taken off one that
exists, and everything written under it made with ``PRIVATE_UMASK``."""

from __future__ import annotations

from pathlib import Path

import structlog

log = structlog.get_logger(__name__)

PRIVATE_UMASK = 0o077


def private_root(path: Path) -> None:
    """Create ``path`` 0700, or take group and other access off it when it exists."""
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    mode = path.stat().st_mode & 0o777
    if mode & 0o077:
        path.chmod(mode & 0o700)
        log.info("data_root.restricted", path=str(path), was=oct(mode))


__all__ = ["PRIVATE_UMASK", "private_root"]
