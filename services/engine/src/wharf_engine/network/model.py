"""User-defined networks and their endpoints: the records the engine keeps, in Docker's JSON shapes."""

from __future__ import annotations

import dataclasses
import ipaddress
from dataclasses import dataclass, field
from typing import Any

from wharf_engine.shapes.networks import EndpointIPAMConfig, EndpointSettings

PREDEFINED = ("bridge", "host", "none")
"""Docker's networks that always exist and cannot be removed (``none`` is driver ``null``)."""


@dataclass(slots=True)
class Endpoint:
    """A container's attachment to a user network: its configuration, and while it runs its address.

    ``name`` is the container's name (kept current on rename); ``aliases`` are the network-scoped
    names given at create or connect. ``ip`` is empty while the container is not running.
    """

    network_id: str
    container_id: str
    name: str
    aliases: list[str] = field(default_factory=list)
    static_ip: str = ""  # IPAMConfig.IPv4Address
    link_local_ips: list[str] = field(default_factory=list)
    mac_config: str = ""  # MacAddress as asked for; the MAC in use is ``mac``
    driver_opts: dict[str, str] = field(default_factory=dict)
    links: list[str] = field(default_factory=list)
    order: int = 0  # attach order: the first endpoint is eth0 (or eth1 after the default bridge)
    ip: str = ""
    prefixlen: int = 0
    gateway: str = ""
    mac: str = ""
    endpoint_id: str = ""
    host_veth: str = ""
    ifname: str = ""

    @property
    def active(self) -> bool:
        return bool(self.ip)

    @property
    def short_id(self) -> str:
        return self.container_id[:12]

    @property
    def dns_names(self) -> list[str]:
        """What the embedded resolver answers for: the name, the aliases, the short id."""
        names = [self.name, *self.aliases, self.short_id]
        return list(dict.fromkeys(n for n in names if n))

    def clear_runtime(self) -> None:
        self.ip, self.prefixlen, self.gateway, self.mac = "", 0, "", ""
        self.endpoint_id, self.host_veth, self.ifname = "", "", ""

    def to_json(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Endpoint:
        names = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in names})

    def settings(self, network_name: str) -> EndpointSettings:
        """``NetworkSettings.Networks.<name>`` as Docker shows it."""
        ipam: EndpointIPAMConfig | None = None
        if self.static_ip or self.link_local_ips:
            ipam = {"IPv4Address": self.static_ip, "LinkLocalIPs": self.link_local_ips or None}
        return {
            "IPAMConfig": ipam,
            "Links": self.links or None,
            "Aliases": self.aliases or None,
            "MacAddress": self.mac or self.mac_config,
            "DriverOpts": self.driver_opts or None,
            "NetworkID": self.network_id,
            "EndpointID": self.endpoint_id,
            "Gateway": self.gateway,
            "IPAddress": self.ip,
            "IPPrefixLen": self.prefixlen,
            "IPv6Gateway": "",
            "GlobalIPv6Address": "",
            "GlobalIPv6PrefixLen": 0,
            "DNSNames": self.dns_names if self.active else None,
        }


@dataclass(slots=True)
class Network:
    """A user-defined bridge network: its own Linux bridge and subnet."""

    id: str
    name: str
    created: str
    bridge: str
    subnet: str
    gateway: str
    ip_range: str = ""
    internal: bool = False
    attachable: bool = False
    options: dict[str, str] = field(default_factory=dict)
    labels: dict[str, str] = field(default_factory=dict)
    aux_addresses: dict[str, str] = field(default_factory=dict)
    ipam_options: dict[str, str] = field(default_factory=dict)
    subnet_given: bool = False  # IPAM.Config as asked for (Docker echoes only what was given)
    endpoints: dict[str, Endpoint] = field(default_factory=dict)  # container id -> endpoint

    @property
    def network(self) -> ipaddress.IPv4Network:
        return ipaddress.IPv4Network(self.subnet)

    @property
    def icc(self) -> bool:
        return self.options.get("com.docker.network.bridge.enable_icc", "true").lower() != "false"

    def to_json(self) -> dict[str, Any]:
        data = dataclasses.asdict(self)
        data["endpoints"] = {cid: e.to_json() for cid, e in self.endpoints.items()}
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Network:
        names = {f.name for f in dataclasses.fields(cls)}
        fields = {k: v for k, v in data.items() if k in names}
        fields["endpoints"] = {cid: Endpoint.from_json(e) for cid, e in (data.get("endpoints") or {}).items()}
        return cls(**fields)

    def ipam_config(self) -> dict[str, Any]:
        entry: dict[str, Any] = {"Subnet": self.subnet, "Gateway": self.gateway}
        if self.ip_range:
            entry["IPRange"] = self.ip_range
        if self.aux_addresses:
            entry["AuxiliaryAddresses"] = dict(self.aux_addresses)
        return {"Driver": "default", "Options": dict(self.ipam_options), "Config": [entry]}

    def to_api(self, *, containers: bool) -> dict[str, Any]:
        """Docker's Network object; ``containers``: the running endpoints too (inspect, not list)."""
        attached: dict[str, Any] = {}
        if containers:
            for endpoint in sorted(self.endpoints.values(), key=lambda e: e.order):
                if endpoint.active:
                    attached[endpoint.container_id] = {
                        "Name": endpoint.name,
                        "EndpointID": endpoint.endpoint_id,
                        "MacAddress": endpoint.mac,
                        "IPv4Address": f"{endpoint.ip}/{endpoint.prefixlen}",
                        "IPv6Address": "",
                    }
        return {
            "Name": self.name,
            "Id": self.id,
            "Created": self.created,
            "Scope": "local",
            "Driver": "bridge",
            "EnableIPv6": False,
            "IPAM": self.ipam_config(),
            "Internal": self.internal,
            "Attachable": self.attachable,
            "Ingress": False,
            "ConfigFrom": {"Network": ""},
            "ConfigOnly": False,
            "Containers": attached,
            "Options": dict(self.options),
            "Labels": dict(self.labels),
        }
