"""Docker's network JSON inside a container: ``NetworkSettings`` and its ``EndpointSettings``."""

from __future__ import annotations

from typing_extensions import TypedDict  # pydantic validates these and needs it on Python < 3.12

Strings = list[str] | None
StringMap = dict[str, str] | None


class PortBinding(TypedDict, total=False):
    """One host side of a published port (``HostConfig.PortBindings``, ``NetworkSettings.Ports``)."""

    HostIp: str | None
    HostPort: str | None


PortMap = dict[str, list[PortBinding] | None]
"""``"80/tcp"`` → its bindings; ``None`` for a port that is exposed but not published."""


class EndpointIPAMConfig(TypedDict, total=False):
    IPv4Address: str | None
    IPv6Address: str | None
    LinkLocalIPs: Strings


class EndpointSettings(TypedDict, total=False):
    """A container's endpoint on one network: what a client asks for (the first five keys, in
    ``NetworkingConfig`` or ``POST /networks/{id}/connect``) and what inspect shows (all)."""

    IPAMConfig: EndpointIPAMConfig | None
    Links: Strings
    Aliases: Strings
    MacAddress: str | None
    DriverOpts: StringMap
    NetworkID: str | None
    EndpointID: str | None
    Gateway: str | None
    IPAddress: str | None
    IPPrefixLen: int | None
    IPv6Gateway: str | None
    GlobalIPv6Address: str | None
    GlobalIPv6PrefixLen: int | None
    DNSNames: Strings


class NetworkingConfig(TypedDict, total=False):
    EndpointsConfig: dict[str, EndpointSettings | None] | None


class NetworkSettings(TypedDict):
    """``NetworkSettings`` of a container inspect; the top-level addresses are the default bridge's."""

    Bridge: str
    SandboxID: str
    SandboxKey: str
    HairpinMode: bool
    LinkLocalIPv6Address: str
    LinkLocalIPv6PrefixLen: int
    Ports: PortMap
    SecondaryIPAddresses: list[str] | None
    SecondaryIPv6Addresses: list[str] | None
    EndpointID: str
    Gateway: str
    GlobalIPv6Address: str
    GlobalIPv6PrefixLen: int
    IPAddress: str
    IPPrefixLen: int
    IPv6Gateway: str
    MacAddress: str
    Networks: dict[str, EndpointSettings]


class SummaryNetworkSettings(TypedDict):
    """``NetworkSettings`` of a ``GET /containers/json`` entry: the networks alone."""

    Networks: dict[str, EndpointSettings]
