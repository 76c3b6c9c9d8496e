"""The engine's data shapes, declared once for routers, the daemon and its components.

``TypedDict``s for the Docker JSON the engine reads and writes, with the Engine API's key
names (``containers``, ``networks``, ``images``), and frozen option records for operations
with many parameters (``options``). This package imports nothing else of the engine.
"""

from .containers import (
    ContainerConfig,
    ContainerCreate,
    ContainerInspect,
    ContainerState,
    ContainerSummary,
    ContainerUpdate,
    CreateResponse,
    HostConfig,
    MountPoint,
    Port,
)
from .images import HistoryResponseItem, Image, ImageConfig, ImageInspect, ImageSummary
from .networks import EndpointSettings, NetworkingConfig, NetworkSettings, PortBinding, PortMap
from .options import BuildOptions, CommitOptions, CreateOptions, StopOptions

__all__ = [
    "BuildOptions",
    "CommitOptions",
    "ContainerConfig",
    "ContainerCreate",
    "ContainerInspect",
    "ContainerState",
    "ContainerSummary",
    "ContainerUpdate",
    "CreateOptions",
    "CreateResponse",
    "EndpointSettings",
    "HistoryResponseItem",
    "HostConfig",
    "Image",
    "ImageConfig",
    "ImageInspect",
    "ImageSummary",
    "MountPoint",
    "NetworkSettings",
    "NetworkingConfig",
    "Port",
    "PortBinding",
    "PortMap",
    "StopOptions",
]
