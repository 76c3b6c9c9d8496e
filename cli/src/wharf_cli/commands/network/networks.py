"""``wharf network``: create, ls, inspect, connect, disconnect, rm, prune (as ``docker network``)."""

from __future__ import annotations

from typing import Annotated, Any

import typer
from wharf_client import ClientError

from ...formatter import render
from ...inspecting import inspect_each
from ...opts import confirm, natural_key, parse_filters, parse_labels
from ...output import describe, fail, fail_client, out
from ...session import client

NETWORK_TITLES = {
    "ID": "NETWORK ID",
    "Name": "NAME",
    "Driver": "DRIVER",
    "Scope": "SCOPE",
    "IPv6": "IPV6",
    "Internal": "INTERNAL",
    "Labels": "LABELS",
    "Label": "LABEL",
    "CreatedAt": "CREATED AT",
}
NETWORK_TABLE = "table {{.ID}}\t{{.Name}}\t{{.Driver}}\t{{.Scope}}"
PRUNE_WARNING = "WARNING! This will remove all custom networks not used by at least one container."
Strings = Annotated[list[str] | None, typer.Option()]


class NetworkView:
    """One network as docker's ``networkContext`` presents it to templates."""

    def __init__(self, data: dict[str, Any], *, trunc: bool = True) -> None:
        self._n = data
        self._trunc = trunc

    @property
    def ID(self) -> str:
        full = str(self._n.get("Id", ""))
        return full[:12] if self._trunc else full

    @property
    def Name(self) -> str:
        return str(self._n.get("Name", ""))

    @property
    def Driver(self) -> str:
        return str(self._n.get("Driver", ""))

    @property
    def Scope(self) -> str:
        return str(self._n.get("Scope", ""))

    @property
    def IPv6(self) -> str:
        return str(bool(self._n.get("EnableIPv6"))).lower()

    @property
    def Internal(self) -> str:
        return str(bool(self._n.get("Internal"))).lower()

    @property
    def CreatedAt(self) -> str:
        return str(self._n.get("Created", ""))

    @property
    def Labels(self) -> str:
        return ",".join(f"{k}={v}" for k, v in (self._n.get("Labels") or {}).items())

    def Label(self, name: str) -> str:
        return str((self._n.get("Labels") or {}).get(name, ""))


def create(
    name: Annotated[str, typer.Argument(metavar="NETWORK")],
    driver: Annotated[str, typer.Option("-d", "--driver", help="Driver to manage the Network")] = "bridge",
    subnet: Annotated[str | None, typer.Option("--subnet", help="Subnet in CIDR format")] = None,
    ip_range: Annotated[
        str | None, typer.Option("--ip-range", help="Allocate container ip from a sub-range")
    ] = None,
    gateway: Annotated[
        str | None, typer.Option("--gateway", help="IPv4 Gateway for the master subnet")
    ] = None,
    aux_address: Annotated[
        list[str] | None,
        typer.Option("--aux-address", help="Auxiliary IPv4 addresses used by Network driver"),
    ] = None,
    internal: Annotated[
        bool, typer.Option("--internal", help="Restrict external access to the network")
    ] = False,
    attachable: Annotated[
        bool, typer.Option("--attachable", help="Enable manual container attachment")
    ] = False,
    ipv6: Annotated[bool, typer.Option("--ipv6", help="Enable IPv6 networking")] = False,
    opt: Annotated[list[str] | None, typer.Option("-o", "--opt", help="Set driver specific options")] = None,
    label: Annotated[list[str] | None, typer.Option("--label", help="Set metadata on a network")] = None,
) -> None:
    """Create a network."""
    config: dict[str, Any] = {}
    if subnet:
        config["Subnet"] = subnet
    if ip_range:
        config["IPRange"] = ip_range
    if gateway:
        config["Gateway"] = gateway
    if aux_address:
        config["AuxiliaryAddresses"] = parse_labels(aux_address)
    body = {
        "Name": name,
        "Driver": driver,
        "Internal": internal,
        "Attachable": attachable,
        "EnableIPv6": ipv6,
        "IPAM": {"Driver": "default", "Config": [config] if config else [], "Options": {}},
        "Options": parse_labels(opt),
        "Labels": parse_labels(label),
        "CheckDuplicate": True,
    }
    try:
        created = client().network_create(body)
    except ClientError as error:
        fail_client(error)
    out(str(created.get("Id", "")))


def ls(
    filter: Annotated[
        list[str] | None, typer.Option("-f", "--filter", help="Provide filter values (e.g. 'driver=bridge')")
    ] = None,
    format: Annotated[
        str | None, typer.Option("--format", help="Format output using a custom template")
    ] = None,
    quiet: Annotated[bool, typer.Option("-q", "--quiet", help="Only display network IDs")] = False,
    no_trunc: Annotated[bool, typer.Option("--no-trunc", help="Do not truncate the output")] = False,
) -> None:
    """List networks."""
    try:
        found = client().network_list(filters=parse_filters(filter))
    except ClientError as error:
        fail_client(error)
    found = sorted(found, key=lambda n: natural_key(str(n.get("Name", ""))))
    fmt = "{{.ID}}" if quiet else format or NETWORK_TABLE
    out(
        render(fmt, [NetworkView(n, trunc=not no_trunc) for n in found], NETWORK_TITLES, NETWORK_TABLE),
        end="",
    )


def inspect(
    names: Annotated[list[str], typer.Argument(metavar="NETWORK...")],
    format: Annotated[
        str | None, typer.Option("-f", "--format", help="Format output using a Go template")
    ] = None,
) -> None:
    """Display detailed information on one or more networks."""
    inspect_each(names, lambda name: client().network_inspect(name), format)


def connect(
    network: Annotated[str, typer.Argument(metavar="NETWORK")],
    container: Annotated[str, typer.Argument(metavar="CONTAINER")],
    alias: Annotated[
        list[str] | None, typer.Option("--alias", help="Add network-scoped alias for the container")
    ] = None,
    ip: Annotated[str | None, typer.Option("--ip", help="IPv4 address (e.g., 172.30.100.104)")] = None,
    link: Annotated[list[str] | None, typer.Option("--link", help="Add link to another container")] = None,
    link_local_ip: Annotated[
        list[str] | None, typer.Option("--link-local-ip", help="Add a link-local address for the container")
    ] = None,
    driver_opt: Annotated[
        list[str] | None, typer.Option("--driver-opt", help="driver options for the network")
    ] = None,
) -> None:
    """Connect a container to a network."""
    config: dict[str, Any] = {
        "Aliases": list(alias or []),
        "Links": list(link or []),
        "DriverOpts": parse_labels(driver_opt),
    }
    if ip or link_local_ip:
        config["IPAMConfig"] = {"IPv4Address": ip or "", "LinkLocalIPs": list(link_local_ip or [])}
    try:
        client().network_connect(network, container, config)
    except ClientError as error:
        fail_client(error)


def disconnect(
    network: Annotated[str, typer.Argument(metavar="NETWORK")],
    container: Annotated[str, typer.Argument(metavar="CONTAINER")],
    force: Annotated[bool, typer.Option("-f", "--force", help="Force the container to disconnect")] = False,
) -> None:
    """Disconnect a container from a network."""
    try:
        client().network_disconnect(network, container, force=force)
    except ClientError as error:
        fail_client(error)


def rm(names: Annotated[list[str], typer.Argument(metavar="NETWORK...")]) -> None:
    """Remove one or more networks."""
    api = client()
    errors: list[str] = []
    for name in names:
        try:
            api.network_remove(name)
        except ClientError as error:
            errors.append(describe(error))
            continue
        out(name)
    if errors:
        fail("\n".join(errors))


def prune(
    filter: Annotated[
        list[str] | None, typer.Option("--filter", help="Provide filter values (e.g. 'label=<label>')")
    ] = None,
    force: Annotated[bool, typer.Option("-f", "--force", help="Do not prompt for confirmation")] = False,
) -> None:
    """Remove all unused networks."""
    if not (force or confirm(PRUNE_WARNING)):
        return
    try:
        report = client().network_prune(filters=parse_filters(filter))
    except ClientError as error:
        fail_client(error)
    deleted = report.get("NetworksDeleted") or []
    if deleted:
        out("Deleted Networks:\n" + "".join(f"{name}\n" for name in deleted), end="")


def register(app: typer.Typer) -> None:
    network = typer.Typer(help="Manage networks", no_args_is_help=True)
    network.command("create")(create)
    network.command("ls")(ls)
    network.command("list", hidden=True)(ls)
    network.command("inspect")(inspect)
    network.command("connect")(connect)
    network.command("disconnect")(disconnect)
    network.command("rm")(rm)
    network.command("remove", hidden=True)(rm)
    network.command("prune")(prune)
    app.add_typer(network, name="network")
