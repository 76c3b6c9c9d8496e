"""``wharf version`` and ``wharf info``."""

from __future__ import annotations

import platform
import sys
from typing import Annotated, Any

import typer
from wharf_client import CLIENT_API_VERSION, ClientError
from wharf_common.humanize import bytes_size

from ...output import describe, err, fail, out
from ...session import SESSION, client
from ...templates import Template, TemplateError

CLIENT_VERSION = "0.1.0"


def _arch() -> str:
    machine = platform.machine().lower()
    return {"x86_64": "amd64", "aarch64": "arm64"}.get(machine, machine)


def client_info() -> dict[str, Any]:
    return {
        "Version": CLIENT_VERSION,
        "ApiVersion": CLIENT_API_VERSION,
        "DefaultAPIVersion": CLIENT_API_VERSION,
        "PythonVersion": platform.python_version(),
        "Os": sys.platform,
        "Arch": _arch(),
    }


def _render(fmt: str, data: Any) -> None:
    try:
        out(Template(fmt.replace("\\t", "\t").replace("\\n", "\n")).render(data))
    except TemplateError as exc:
        fail(f"template parsing error: {exc}")


def version(
    format: Annotated[
        str | None, typer.Option("-f", "--format", help="Format output using a Go template")
    ] = None,
) -> None:
    """Show the wharf version information."""
    info: dict[str, Any] = {"Client": client_info(), "Server": None}
    server_error: ClientError | None = None
    try:
        api = client()
        info["Server"] = api.version()
        info["Client"]["ApiVersion"] = api.api_version
    except ClientError as error:
        server_error = error
    if format:
        _render(format, info)
    else:
        c = info["Client"]
        lines = [
            "Client:",
            f" Version:           {c['Version']}",
            f" API version:       {c['ApiVersion']}",
            f" Python version:    {c['PythonVersion']}",
            f" OS/Arch:           {c['Os']}/{c['Arch']}",
        ]
        server = info["Server"]
        if server:
            lines += ["", f"Server: {server.get('Platform', {}).get('Name') or 'wharf engine'}", " Engine:"]
            lines += [
                f"  Version:          {server.get('Version', '')}",
                f"  API version:      {server.get('ApiVersion', '')}"
                f" (minimum version {server.get('MinAPIVersion', '')})",
                f"  Go version:       {server.get('GoVersion', '')}",
                f"  Git commit:       {server.get('GitCommit', '')}",
                f"  Built:            {server.get('BuildTime', '')}",
                f"  OS/Arch:          {server.get('Os', '')}/{server.get('Arch', '')}",
                f"  Experimental:     {str(bool(server.get('Experimental'))).lower()}",
            ]
            for component in server.get("Components") or []:
                if component.get("Name") in ("Engine", None):
                    continue
                lines += [f" {component['Name']}:", f"  Version:          {component.get('Version', '')}"]
        out("\n".join(lines))
    if server_error is not None:
        err(describe(server_error))
        raise typer.Exit(1)


def _info_lines(info: dict[str, Any]) -> list[str]:
    labels = info.get("Labels") or []
    lines = [
        "Server:",
        f" Containers: {info.get('Containers', 0)}",
        f"  Running: {info.get('ContainersRunning', 0)}",
        f"  Paused: {info.get('ContainersPaused', 0)}",
        f"  Stopped: {info.get('ContainersStopped', 0)}",
        f" Images: {info.get('Images', 0)}",
        f" Server Version: {info.get('ServerVersion', '')}",
        f" Storage Driver: {info.get('Driver', '')}",
        f" Logging Driver: {info.get('LoggingDriver', '')}",
        f" Cgroup Driver: {info.get('CgroupDriver', '')}",
        f" Cgroup Version: {info.get('CgroupVersion', '')}",
        f" Default Runtime: {info.get('DefaultRuntime', '')}",
        f" Kernel Version: {info.get('KernelVersion', '')}",
        f" Operating System: {info.get('OperatingSystem', '')}",
        f" OSType: {info.get('OSType', '')}",
        f" Architecture: {info.get('Architecture', '')}",
        f" CPUs: {info.get('NCPU', 0)}",
        f" Total Memory: {bytes_size(float(info.get('MemTotal') or 0))}",
        f" Name: {info.get('Name', '')}",
        f" ID: {info.get('ID', '')}",
        f" Docker Root Dir: {info.get('DockerRootDir', '')}",
        f" Debug Mode: {str(bool(info.get('Debug'))).lower()}",
        f" Experimental: {str(bool(info.get('ExperimentalBuild'))).lower()}",
    ]
    if labels:
        lines.append(" Labels:")
        lines += [f"  {label}" for label in labels]
    return lines


def info(
    format: Annotated[
        str | None, typer.Option("-f", "--format", help="Format output using a Go template")
    ] = None,
) -> None:
    """Display system-wide information."""
    try:
        data = client().info()
    except ClientError as error:
        fail(describe(error))
    if format:
        _render(format, data)
        return
    client_section = [
        "Client:",
        f" Version:    {CLIENT_VERSION}",
        f" Context:    {SESSION.client.host.url}",
        "",
    ]
    out("\n".join(client_section + _info_lines(data)))
    for warning in data.get("Warnings") or []:
        err(f"WARNING: {warning}")


def register(app: typer.Typer) -> None:
    app.command("version")(version)
    app.command("info")(info)
