"""ContainerLogs: the json-file log (and its rotated files), followed while the container runs."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import TYPE_CHECKING

from wharf_common.errors import NotSupported

from wharf_engine.containers.container import Container
from wharf_engine.logs.config import container_settings
from wharf_engine.logs.jsonfile import LogBell, LogOptions, LogRecord, read_logs

if TYPE_CHECKING:
    from .daemon import Daemon


def container_logs(daemon: Daemon, container: Container, opts: LogOptions) -> AsyncIterator[LogRecord]:
    if not container_settings(container.host_config).readable:
        raise NotSupported("configured logging driver does not support reading")
    following = opts.follow and container.state.running
    bell = daemon.log_bells.setdefault(container.id, LogBell()) if following else None  # handle_exit rings
    return read_logs(container.log_path, opts, lambda: container.state.running, bell)
