"""``wharf run`` and ``wharf create``: their flags and help for typer (the body is
:mod:`wharf_cli.fast.run`)."""

from __future__ import annotations

import inspect
from typing import Annotated, Any

import typer

from ...fast.run import RUN_ONLY, launch

RUN_CONTEXT = {"allow_interspersed_args": False, "help_option_names": ["--help"]}


def run(
    image: Annotated[str, typer.Argument(metavar="IMAGE")],
    command: Annotated[list[str] | None, typer.Argument(metavar="[COMMAND] [ARG...]")] = None,
    detach: Annotated[
        bool, typer.Option("-d", "--detach", help="Run container in background and print ID")
    ] = False,
    interactive: Annotated[bool, typer.Option("-i", "--interactive", help="Keep STDIN open")] = False,
    tty: Annotated[bool, typer.Option("-t", "--tty", help="Allocate a pseudo-TTY")] = False,
    rm: Annotated[bool, typer.Option("--rm", help="Remove the container when it exits")] = False,
    name: Annotated[str | None, typer.Option("--name", help="Assign a name to the container")] = None,
    env: Annotated[list[str] | None, typer.Option("-e", "--env", help="Set environment variables")] = None,
    workdir: Annotated[str | None, typer.Option("-w", "--workdir", help="Working directory")] = None,
    user: Annotated[str | None, typer.Option("-u", "--user", help="Username or UID")] = None,
    entrypoint: Annotated[str | None, typer.Option("--entrypoint", help="Overwrite the entrypoint")] = None,
    attach: Annotated[
        list[str] | None, typer.Option("-a", "--attach", help="Attach to STDIN, STDOUT or STDERR")
    ] = None,
    label: Annotated[
        list[str] | None, typer.Option("-l", "--label", help="Set meta data on a container")
    ] = None,
    hostname: Annotated[str | None, typer.Option("-h", "--hostname", help="Container host name")] = None,
    volume: Annotated[list[str] | None, typer.Option("-v", "--volume", help="Bind mount a volume")] = None,
    publish: Annotated[list[str] | None, typer.Option("-p", "--publish", help="Publish a port")] = None,
    network: Annotated[str | None, typer.Option("--network", "--net", help="Connect to a network")] = None,
    network_alias: Annotated[
        list[str] | None, typer.Option("--network-alias", help="Add network-scoped alias for the container")
    ] = None,
    ip: Annotated[str | None, typer.Option("--ip", help="IPv4 address (e.g., 172.30.100.104)")] = None,
    mac_address: Annotated[
        str | None, typer.Option("--mac-address", help="Container MAC address (e.g., 92:d0:c6:0a:29:33)")
    ] = None,
    restart: Annotated[str | None, typer.Option("--restart", help="Restart policy")] = None,
    dns: Annotated[list[str] | None, typer.Option("--dns", help="Set custom DNS servers")] = None,
    dns_search: Annotated[
        list[str] | None, typer.Option("--dns-search", help="Set custom DNS search domains")
    ] = None,
    dns_option: Annotated[list[str] | None, typer.Option("--dns-option", help="Set DNS options")] = None,
    add_host: Annotated[
        list[str] | None, typer.Option("--add-host", help="Add a custom host-to-IP mapping (host:ip)")
    ] = None,
    sig_proxy: Annotated[
        bool, typer.Option("--sig-proxy/--no-sig-proxy", help="Proxy received signals")
    ] = True,
    health_cmd: Annotated[
        str | None, typer.Option("--health-cmd", help="Command to run to check health")
    ] = None,
    health_interval: Annotated[
        str | None, typer.Option("--health-interval", help="Time between running the check (ms|s|m|h)")
    ] = None,
    health_timeout: Annotated[
        str | None, typer.Option("--health-timeout", help="Maximum time to allow one check to run (ms|s|m|h)")
    ] = None,
    health_retries: Annotated[
        int | None, typer.Option("--health-retries", help="Consecutive failures needed to report unhealthy")
    ] = None,
    health_start_period: Annotated[
        str | None,
        typer.Option("--health-start-period", help="Start period before failures count (ms|s|m|h)"),
    ] = None,
    no_healthcheck: Annotated[
        bool, typer.Option("--no-healthcheck", help="Disable any container-specified HEALTHCHECK")
    ] = False,
    group_add: Annotated[
        list[str] | None, typer.Option("--group-add", help="Add additional groups to join")
    ] = None,
    device: Annotated[
        list[str] | None, typer.Option("--device", help="Add a host device to the container")
    ] = None,
    env_file: Annotated[
        list[str] | None, typer.Option("--env-file", help="Read in a file of environment variables")
    ] = None,
    expose: Annotated[
        list[str] | None, typer.Option("--expose", help="Expose a port or a range of ports")
    ] = None,
    publish_all: Annotated[
        bool, typer.Option("-P", "--publish-all", help="Publish all exposed ports to random ports")
    ] = False,
    link: Annotated[list[str] | None, typer.Option("--link", help="Add link to another container")] = None,
    volumes_from: Annotated[
        list[str] | None, typer.Option("--volumes-from", help="Mount volumes from the specified container(s)")
    ] = None,
    privileged: Annotated[
        bool, typer.Option("--privileged", help="Give extended privileges to this container")
    ] = False,
    cap_add: Annotated[list[str] | None, typer.Option("--cap-add", help="Add Linux capabilities")] = None,
    cap_drop: Annotated[list[str] | None, typer.Option("--cap-drop", help="Drop Linux capabilities")] = None,
    security_opt: Annotated[list[str] | None, typer.Option("--security-opt", help="Security Options")] = None,
    read_only: Annotated[
        bool, typer.Option("--read-only", help="Mount the container's root filesystem as read only")
    ] = False,
    tmpfs: Annotated[list[str] | None, typer.Option("--tmpfs", help="Mount a tmpfs directory")] = None,
    memory: Annotated[str | None, typer.Option("-m", "--memory", help="Memory limit")] = None,
    memory_swap: Annotated[
        str | None,
        typer.Option(
            "--memory-swap", help="Swap limit equal to memory plus swap: '-1' to enable unlimited swap"
        ),
    ] = None,
    shm_size: Annotated[str | None, typer.Option("--shm-size", help="Size of /dev/shm")] = None,
    cpu_shares: Annotated[
        int | None, typer.Option("-c", "--cpu-shares", help="CPU shares (relative weight)")
    ] = None,
    cpus: Annotated[str | None, typer.Option("--cpus", help="Number of CPUs")] = None,
    pids_limit: Annotated[
        int | None, typer.Option("--pids-limit", help="Tune container pids limit (set -1 for unlimited)")
    ] = None,
    ulimit: Annotated[list[str] | None, typer.Option("--ulimit", help="Ulimit options")] = None,
    sysctl: Annotated[list[str] | None, typer.Option("--sysctl", help="Sysctl options")] = None,
    log_driver: Annotated[
        str | None, typer.Option("--log-driver", help="Logging driver for the container")
    ] = None,
    log_opt: Annotated[list[str] | None, typer.Option("--log-opt", help="Log driver options")] = None,
    stop_signal: Annotated[
        str | None, typer.Option("--stop-signal", help="Signal to stop the container")
    ] = None,
    stop_timeout: Annotated[
        int | None, typer.Option("--stop-timeout", help="Timeout (in seconds) to stop a container")
    ] = None,
    cidfile: Annotated[
        str | None, typer.Option("--cidfile", help="Write the container ID to the file")
    ] = None,
    pull: Annotated[
        str, typer.Option("--pull", help='Pull image before running ("always", "missing", "never")')
    ] = "missing",
    quiet: Annotated[bool, typer.Option("-q", "--quiet", help="Suppress the pull output")] = False,
) -> None:
    """Create and run a new container from an image."""
    launch(dict(locals()), start=True)


def create(**flags: Any) -> None:
    """Create a new container."""
    launch(flags, start=False)


def _create_signature() -> inspect.Signature:
    """``create`` takes ``run``'s flags but those that only make sense once the container starts."""
    signature = inspect.signature(run, eval_str=True)
    kept = [param for name, param in signature.parameters.items() if name not in RUN_ONLY]
    return signature.replace(parameters=kept)


def register(app: typer.Typer) -> None:
    app.command("run", context_settings=RUN_CONTEXT)(run)
    create.__signature__ = _create_signature()  # type: ignore[attr-defined]
    app.command("create", context_settings=RUN_CONTEXT)(create)
