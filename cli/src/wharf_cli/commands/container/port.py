"""``wharf port``: a container's published ports."""

from __future__ import annotations

from typing import Annotated, Any

import typer
from wharf_client import ClientError

from ...opts import natural_key
from ...output import fail, fail_client, out
from ...session import client


def join_host_port(host: str, port: str) -> str:
    """Go's ``net.JoinHostPort``: IPv6 hosts are bracketed."""
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def port_lines(ports: dict[str, Any], private: str | None) -> list[str]:
    """docker port's lines for ``NetworkSettings.Ports``; ``private`` is ``PORT[/PROTO]`` or ``None``.

    Raises ``LookupError`` when ``private`` is not published.
    """
    if private is None:
        lines = [
            f"{key} -> {join_host_port(binding.get('HostIp', ''), binding.get('HostPort', ''))}"
            for key, bindings in ports.items()
            for binding in bindings or []
        ]
    else:
        number, _, proto = private.partition("/")
        bindings = ports.get(f"{number}/{proto or 'tcp'}")
        if bindings is None:
            raise LookupError(private)
        lines = [join_host_port(b.get("HostIp", ""), b.get("HostPort", "")) for b in bindings]
    return sorted(lines, key=natural_key)


def port(
    container: Annotated[str, typer.Argument(metavar="CONTAINER")],
    private: Annotated[str | None, typer.Argument(metavar="[PRIVATE_PORT[/PROTO]]")] = None,
) -> None:
    """List port mappings or a specific mapping for the container."""
    if private is not None:
        number = private.partition("/")[0]
        if not number.isdigit() or int(number) > 65535:
            fail(f'Error: invalid port ({number}): strconv.ParseUint: parsing "{number}": invalid syntax')
    try:
        info = client().container_inspect(container)
    except ClientError as error:
        fail_client(error)
    ports = (info.get("NetworkSettings") or {}).get("Ports") or {}
    try:
        lines = port_lines(ports, private)
    except LookupError:
        fail(f"Error: No public port '{private}' published for {container}")
    if lines:
        out("\n".join(lines))


def register(app: typer.Typer) -> None:
    app.command("port")(port)
