"""The JSON bodies the engine reads, with Docker's field names and Go's types.

Docker decodes a body into Go structs, so a field of the wrong type is a 400
(``json: cannot unmarshal string into Go struct field ... of type []string``) before any work
is done. These shapes do the same for every field the engine reads: a body is checked
(strictly: no ``"1"`` for a number, as Go) and then handed on unchanged. Unknown fields are
ignored, and ``null`` is as good as absent, as in Docker.
"""

from __future__ import annotations

from typing import Any, TypeVar

from pydantic import TypeAdapter, ValidationError
from typing_extensions import TypedDict  # pydantic needs it on Python < 3.12
from wharf_common.errors import InvalidArgument

from wharf_engine.shapes.containers import ContainerConfig, ContainerCreate, ContainerUpdate, HostConfig
from wharf_engine.shapes.networks import EndpointSettings, StringMap, Strings

Shape = TypeVar("Shape")


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


def check(shape: type[Shape], body: dict[str, Any]) -> Shape:
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
    return body  # type: ignore[return-value]  # checked above: it has the shape


def _is_union_branch(part: Any) -> bool:
    """pydantic names the member of a union it tried (``list[str]``, ``str``): not a field."""
    return isinstance(part, str) and ("[" in part or part in ("str", "int", "bool", "none"))


__all__ = [
    "ContainerConfig",
    "ContainerCreate",
    "ContainerUpdate",
    "ExecConfig",
    "ExecStart",
    "HostConfig",
    "NetworkConnect",
    "NetworkCreate",
    "NetworkDisconnect",
    "VolumeCreate",
    "check",
]
