"""The JSON bodies the engine reads, with Docker's field names and Go's types.

Docker decodes a body into Go structs, so a field of the wrong type is a 400
(``json: cannot unmarshal string into Go struct field ... of type []string``) before any work
is done. These shapes do the same for every field the engine reads: a body is checked
(strictly: no ``"1"`` for a number, as Go) and then handed on unchanged. Unknown fields are
ignored, and ``null`` is as good as absent, as in Docker.
"""

from __future__ import annotations

from typing import Any

from pydantic import TypeAdapter, ValidationError
from typing_extensions import TypedDict  # pydantic needs it on Python < 3.12
from wharf_common.errors import InvalidArgument

Strings = list[str] | None
StringMap = dict[str, str] | None


class LogConfig(TypedDict, total=False):
    Type: str | None
    Config: StringMap


class RestartPolicy(TypedDict, total=False):
    Name: str | None
    MaximumRetryCount: int | None


class PortBinding(TypedDict, total=False):
    HostIp: str | None
    HostPort: str | None


class Ulimit(TypedDict, total=False):
    Name: str | None
    Soft: int | None
    Hard: int | None


class HostConfig(TypedDict, total=False):
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
    CpusetCpus: str | None
    LogConfig: LogConfig | None
    RestartPolicy: RestartPolicy | None
    PortBindings: dict[str, list[PortBinding] | None] | None
    AutoRemove: bool | None
    Privileged: bool | None
    PublishAllPorts: bool | None
    ReadonlyRootfs: bool | None
    Memory: int | None
    MemorySwap: int | None
    CpuShares: int | None
    CpuPeriod: int | None
    CpuQuota: int | None
    NanoCpus: int | None
    PidsLimit: int | None
    ShmSize: int | None
    Ulimits: list[Ulimit] | None
    Tmpfs: StringMap
    ConsoleSize: list[int] | None


class ContainerConfig(TypedDict, total=False):
    """``POST /commit``'s body; with ``HostConfig`` it is ``POST /containers/create``'s."""

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
    ExposedPorts: dict[str, Any] | None
    Volumes: dict[str, Any] | None
    MacAddress: str | None


class EndpointIPAMConfig(TypedDict, total=False):
    IPv4Address: str | None
    IPv6Address: str | None
    LinkLocalIPs: Strings


class EndpointSettings(TypedDict, total=False):
    IPAMConfig: EndpointIPAMConfig | None
    Links: Strings
    Aliases: Strings
    MacAddress: str | None
    DriverOpts: StringMap


class NetworkingConfig(TypedDict, total=False):
    EndpointsConfig: dict[str, EndpointSettings | None] | None


class ContainerCreate(ContainerConfig, total=False):
    HostConfig: HostConfig | None
    NetworkingConfig: NetworkingConfig | None


class ExecConfig(TypedDict, total=False):
    AttachStdin: bool | None
    AttachStdout: bool | None
    AttachStderr: bool | None
    Tty: bool | None
    Privileged: bool | None
    Cmd: Strings
    Env: Strings
    User: str | None
    WorkingDir: str | None
    DetachKeys: str | None
    ConsoleSize: list[int] | None


class ExecStart(TypedDict, total=False):
    Detach: bool | None
    Tty: bool | None
    ConsoleSize: list[int] | None


class VolumeCreate(TypedDict, total=False):
    Name: str | None
    Driver: str | None
    DriverOpts: StringMap
    Labels: StringMap


class IPAMConfig(TypedDict, total=False):
    Subnet: str | None
    IPRange: str | None
    Gateway: str | None
    AuxiliaryAddresses: StringMap


class IPAM(TypedDict, total=False):
    Driver: str | None
    Config: list[IPAMConfig] | None
    Options: StringMap


class NetworkCreate(TypedDict, total=False):
    Name: str
    CheckDuplicate: bool | None
    Driver: str | None
    Scope: str | None
    Internal: bool | None
    Attachable: bool | None
    Ingress: bool | None
    ConfigOnly: bool | None
    ConfigFrom: dict[str, Any] | None
    EnableIPv6: bool | None
    EnableIPv4: bool | None
    IPAM: IPAM | None
    Options: StringMap
    Labels: StringMap


class NetworkConnect(TypedDict, total=False):
    Container: str
    EndpointConfig: EndpointSettings | None


class NetworkDisconnect(TypedDict, total=False):
    Container: str
    Force: bool | None


_ADAPTERS: dict[type, TypeAdapter[Any]] = {}


def check(shape: type, body: dict[str, Any]) -> dict[str, Any]:
    """``body`` unchanged when it has ``shape``; else :class:`InvalidArgument` naming the field."""
    adapter = _ADAPTERS.get(shape)
    if adapter is None:
        adapter = _ADAPTERS[shape] = TypeAdapter(shape)
    try:
        adapter.validate_python(body, strict=True)
    except ValidationError as exc:
        error = exc.errors(include_url=False)[0]
        field = ".".join(str(part) for part in error["loc"] if not _is_union_branch(part))
        raise InvalidArgument(f"invalid {shape.__name__} field {field}: {error['msg']}") from None
    return body


def _is_union_branch(part: Any) -> bool:
    """pydantic names the member of a union it tried (``list[str]``, ``str``): not a field."""
    return isinstance(part, str) and ("[" in part or part in ("str", "int", "bool", "none"))


__all__ = ["ContainerConfig", "ContainerCreate", "ExecConfig", "ExecStart", "VolumeCreate", "check"]
