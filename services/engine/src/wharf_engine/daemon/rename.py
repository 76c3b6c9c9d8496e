"""ContainerRename."""

from __future__ import annotations

from typing import TYPE_CHECKING

from wharf_common.errors import InvalidArgument

from wharf_engine.containers.errors import InvalidName
from wharf_engine.containers.names import valid_name

from . import endpoints

if TYPE_CHECKING:
    from .daemon import Daemon


def container_rename(daemon: Daemon, ref: str, new_name: str) -> None:
    container = daemon.containers.get(ref)
    new_name = new_name.removeprefix("/")
    if not new_name:
        raise InvalidArgument("Neither old nor new names may be empty")
    if not valid_name(new_name):
        raise InvalidName(new_name)
    if new_name == container.name:
        raise InvalidArgument("Renaming a container with the same name as its current name")
    daemon.containers.reserve_name(new_name, container.id)
    old = container.name
    daemon.containers.release_name(old)
    container.name = new_name
    container.save()
    endpoints.renamed(daemon, container)
    daemon.container_event(container, "rename", oldName="/" + old)
