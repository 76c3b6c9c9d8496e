"""Small container commands: port, rename, top."""

from __future__ import annotations

import re
from typing import Annotated, Any

import typer
from wharf_client import ClientError

from ..output import fail, fail_client, out
from ..session import client
from ..tabwriter import tabulate

TOP_CONTEXT = {"allow_interspersed_args": False, "help_option_names": ["--help"]}
TOP_MIN_WIDTH = 20


def natural_key(text: str) -> list[Any]:
    """``sortorder.NaturalLess``: runs of digits compare as numbers."""
    return [(0, int(part), "") if part.isdigit() else (1, 0, part) for part in re.split(r"(\d+)", text)]


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


def rename(
    container: Annotated[str, typer.Argument(metavar="CONTAINER")],
    new_name: Annotated[str, typer.Argument(metavar="NEW_NAME")],
) -> None:
    """Rename a container."""
    old, new = container.strip(), new_name.strip()
    if not old or not new:
        fail("Error: Neither old nor new names may be empty")
    try:
        client().container_rename(old, new)
    except ClientError as error:
        fail_client(error)


def top(
    container: Annotated[str, typer.Argument(metavar="CONTAINER")],
    ps_args: Annotated[list[str] | None, typer.Argument(metavar="[ps OPTIONS]")] = None,
) -> None:
    """Display the running processes of a container."""
    try:
        result = client().container_top(container, ps_args=" ".join(ps_args or []))
    except ClientError as error:
        fail_client(error)
    lines = ["\t".join(result.get("Titles") or [])]
    lines.extend("\t".join(str(cell) for cell in process) for process in result.get("Processes") or [])
    out(tabulate(lines, min_width=TOP_MIN_WIDTH), end="")


def register(app: typer.Typer) -> None:
    app.command("port")(port)
    app.command("rename")(rename)
    app.command("top", context_settings=TOP_CONTEXT)(top)
