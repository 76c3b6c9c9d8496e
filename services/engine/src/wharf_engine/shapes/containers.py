"""Docker's container JSON: ``Config``, ``HostConfig``, ``State``, inspect and list entries.

``ContainerConfig`` and ``HostConfig`` are what a client sends and what the engine keeps: a
container's record holds them as created (Docker's defaults filled in, the rest as given), so a
value may be ``None`` wherever a client may send ``null``.
"""

# annotations are not postponed here: TypedDict reads NotRequired from them at run time
from typing import Any, NotRequired

from typing_extensions import TypedDict  # pydantic needs it on Python < 3.12

from .networks import (
    NetworkingConfig,
    NetworkSettings,
    PortBinding,
    StringMap,
    Strings,
    SummaryNetworkSettings,
)


class LogConfig(TypedDict, total=False):
    Type: str | None
    Config: StringMap


class RestartPolicy(TypedDict, total=False):
    Name: str | None
    MaximumRetryCount: int | None


class Ulimit(TypedDict, total=False):
    Name: str | None
    Soft: int | None
    Hard: int | None


class BindOptions(TypedDict, total=False):
    Propagation: str | None
    CreateMountpoint: bool | None


class VolumeOptions(TypedDict, total=False):
    NoCopy: bool | None
    Labels: StringMap
    Subpath: str | None


class TmpfsOptions(TypedDict, total=False):
    SizeBytes: int | None
    Mode: int | None


class Mount(TypedDict, total=False):
    """An entry of ``HostConfig.Mounts`` (``--mount``)."""

    Type: str | None
    Source: str | None
    Target: str | None
    ReadOnly: bool | None
    BindOptions: BindOptions | None
    VolumeOptions: VolumeOptions | None
    TmpfsOptions: TmpfsOptions | None


class DeviceMapping(TypedDict, total=False):
    PathOnHost: str | None
    PathInContainer: str | None
    CgroupPermissions: str | None


class Resources(TypedDict, total=False):
    """The limits ``HostConfig`` shares with ``POST /containers/{id}/update``."""

    CpusetCpus: str | None
    CpusetMems: str | None
    Memory: int | None
    MemorySwap: int | None
    MemoryReservation: int | None
    CpuShares: int | None
    CpuPeriod: int | None
    CpuQuota: int | None
    NanoCpus: int | None
    PidsLimit: int | None
    BlkioWeight: int | None


class ContainerUpdate(Resources, total=False):
    RestartPolicy: RestartPolicy | None


class HostConfig(Resources, total=False):
    Binds: Strings
    Links: Strings
    VolumesFrom: Strings
    CapAdd: Strings
    CapDrop: Strings
    Dns: Strings
    DnsOptions: Strings
    DnsSearch: Strings
    ExtraHosts: Strings
    SecurityOpt: Strings
    NetworkMode: str | None
    MacAddress: str | None
    LogConfig: LogConfig | None
    RestartPolicy: RestartPolicy | None
    PortBindings: dict[str, list[PortBinding] | None] | None
    AutoRemove: bool | None
    Privileged: bool | None
    PublishAllPorts: bool | None
    ReadonlyRootfs: bool | None
    ShmSize: int | None
    Ulimits: list[Ulimit] | None
    Tmpfs: StringMap
    Sysctls: StringMap
    Annotations: StringMap
    MaskedPaths: Strings
    ReadonlyPaths: Strings
    OomScoreAdj: int | None
    MemorySwappiness: int | None
    OomKillDisable: bool | None
    Runtime: str | None
    VolumeDriver: str | None
    Mounts: list[Mount] | None
    Devices: list[DeviceMapping] | None
    GroupAdd: Strings
    ConsoleSize: list[int] | None


class Healthcheck(TypedDict, total=False):
    Test: Strings
    Interval: int | None
    Timeout: int | None
    Retries: int | None
    StartPeriod: int | None
    StartInterval: int | None


class ContainerConfig(TypedDict, total=False):
    """A container's ``Config``; also ``POST /commit``'s body and, with ``HostConfig``,
    ``POST /containers/create``'s."""

    Hostname: str | None
    Domainname: str | None
    User: str | None
    Image: str | None
    WorkingDir: str | None
    StopSignal: str | None
    StopTimeout: int | None
    AttachStdin: bool | None
    AttachStdout: bool | None
    AttachStderr: bool | None
    Tty: bool | None
    OpenStdin: bool | None
    StdinOnce: bool | None
    Env: Strings
    Cmd: list[str] | str | None  # a string is run with /bin/sh -c, as the classic builder's
    Entrypoint: list[str] | str | None
    OnBuild: Strings
    Labels: StringMap
    ExposedPorts: dict[str, Any] | None  # "80/tcp" → {}
    Volumes: dict[str, Any] | None  # "/data" → {}
    Healthcheck: Healthcheck | None
    Shell: Strings
    MacAddress: str | None


class ContainerCreate(ContainerConfig, total=False):
    """``POST /containers/create``'s body."""

    HostConfig: HostConfig | None
    NetworkingConfig: NetworkingConfig | None


class CreateResponse(TypedDict):
    Id: str
    Warnings: list[str]


class ContainerState(TypedDict):
    Status: str
    Running: bool
    Paused: bool
    Restarting: bool
    OOMKilled: bool
    Dead: bool
    Pid: int
    ExitCode: int
    Error: str
    StartedAt: str
    FinishedAt: str
    Health: NotRequired[dict[str, Any]]  # with a healthcheck: Status, FailingStreak, Log


class MountPoint(TypedDict, total=False):
    """An entry of inspect's ``Mounts``: a volume, bind or tmpfs as it is mounted."""

    Type: str
    Name: str
    Source: str
    Destination: str
    Driver: str
    Mode: str
    RW: bool
    Propagation: str


class GraphDriver(TypedDict):
    Name: str
    Data: dict[str, str]


class ContainerInspect(TypedDict):
    """``GET /containers/{id}/json``."""

    Id: str
    Created: str
    Path: str
    Args: list[str]
    State: ContainerState
    Image: str
    ResolvConfPath: str
    HostnamePath: str
    HostsPath: str
    LogPath: str
    Name: str
    RestartCount: int
    Driver: str
    Platform: str
    MountLabel: str
    ProcessLabel: str
    AppArmorProfile: str
    ExecIDs: list[str] | None
    HostConfig: HostConfig
    GraphDriver: GraphDriver
    Mounts: list[MountPoint]
    Config: ContainerConfig
    NetworkSettings: NetworkSettings
    SizeRw: NotRequired[int]  # with ?size=1
    SizeRootFs: NotRequired[int]


class Port(TypedDict, total=False):
    """An entry of a list entry's ``Ports``: IP and PublicPort only when published."""

    IP: str
    PrivatePort: int
    PublicPort: int
    Type: str


class SummaryHostConfig(TypedDict):
    NetworkMode: str


class ContainerSummary(TypedDict):
    """An entry of ``GET /containers/json`` (``docker ps``)."""

    Id: str
    Names: list[str]
    Image: str | None
    ImageID: str
    Command: str
    Created: int
    Ports: list[Port]
    Labels: dict[str, str]
    State: str
    Status: str
    HostConfig: SummaryHostConfig
    NetworkSettings: SummaryNetworkSettings
    Mounts: list[MountPoint]
    SizeRw: NotRequired[int]  # with ?size=1
    SizeRootFs: NotRequired[int]
