"""The options of operations with many parameters, as moby's ``backend.*Config`` structs.

A router builds one from the request; it goes unchanged through the router's Protocol, the
``Daemon`` method and the operation's module, so each parameter is declared here once.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .containers import ContainerConfig, HostConfig
from .networks import NetworkingConfig


@dataclass(frozen=True, slots=True)
class CreateOptions:
    """``POST /containers/create``: the body split as moby's ``ContainerCreateConfig``."""

    config: ContainerConfig
    host_config: HostConfig = field(default_factory=lambda: HostConfig())
    networking: NetworkingConfig | None = None
    name: str | None = None  # None: a generated name


@dataclass(frozen=True, slots=True)
class StopOptions:
    """``POST /containers/{id}/stop``."""

    timeout: int | None = None  # seconds before SIGKILL; None: the container's StopTimeout; -1: forever
    signal: str | None = None  # None: the container's StopSignal, else SIGTERM


@dataclass(frozen=True, slots=True)
class CommitOptions:
    """``POST /commit``."""

    repo: str | None = None
    tag: str | None = None
    comment: str = ""
    author: str = ""
    pause: bool = True
    changes: list[str] = field(default_factory=list)  # Dockerfile instructions (``-c``)
    config: ContainerConfig = field(default_factory=lambda: ContainerConfig())  # overrides the image's


@dataclass(frozen=True, slots=True)
class BuildOptions:
    """``POST /build`` (the classic builder's query parameters)."""

    dockerfile: str = "Dockerfile"
    tags: list[str] = field(default_factory=list)
    nocache: bool = False
    rm: bool = True
    forcerm: bool = False
    buildargs: dict[str, str | None] = field(default_factory=dict)
    labels: dict[str, str] = field(default_factory=dict)
    target: str | None = None
    cachefrom: list[str] = field(default_factory=list)
    networkmode: str = ""
    extrahosts: list[str] = field(default_factory=list)
