"""Docker's image JSON: the stored image document and what inspect and list show of it.

In OCI terms the stored document (``Image``) is the image *configuration*; its ``config`` key
holds the execution parameters, which Docker writes as a whole container ``Config``
(``ImageConfig``). Images pulled from a registry may carry keys beyond these: the shapes name
the keys the engine reads and writes.
"""

from typing import Any

from typing_extensions import TypedDict

from .containers import ContainerConfig, GraphDriver


class ImageConfig(ContainerConfig, total=False):
    """The ``config`` of an image: what a container of it starts with."""

    ArgsEscaped: bool | None


class RootFS(TypedDict, total=False):
    type: str  # "layers"
    diff_ids: list[str]


class HistoryEntry(TypedDict, total=False):
    created: str
    created_by: str
    author: str
    comment: str
    empty_layer: bool


class Image(TypedDict, total=False):
    """The image document the engine stores (its sha256 is the image id), as Docker writes it."""

    architecture: str
    os: str
    variant: str
    created: str
    author: str
    comment: str
    container: str
    container_config: ContainerConfig
    docker_version: str
    parent: str
    config: ImageConfig
    rootfs: RootFS
    history: list[HistoryEntry]


class ImageRootFS(TypedDict):
    Type: str
    Layers: list[str]


class ImageInspect(TypedDict):
    """``GET /images/{name}/json``."""

    Id: str
    RepoTags: list[str]
    RepoDigests: list[str]
    Parent: str
    Comment: str
    Created: str
    DockerVersion: str
    Author: str
    Config: ImageConfig
    Container: str  # dropped by Docker 26; kept for docker-compose 1.29 (see daemon/images.py)
    ContainerConfig: ContainerConfig
    Architecture: str
    Os: str
    Size: int
    VirtualSize: int
    GraphDriver: GraphDriver
    RootFS: ImageRootFS
    Metadata: dict[str, Any]


class ImageSummary(TypedDict):
    """An entry of ``GET /images/json`` (``docker images``)."""

    Id: str
    ParentId: str
    RepoTags: list[str]
    RepoDigests: list[str]
    Created: int
    Size: int
    SharedSize: int
    VirtualSize: int
    Labels: dict[str, str]
    Containers: int


class HistoryResponseItem(TypedDict):
    """An entry of ``GET /images/{name}/history``."""

    Id: str
    Created: int
    CreatedBy: str
    Tags: list[str] | None
    Size: int
    Comment: str
