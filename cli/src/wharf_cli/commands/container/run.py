"""``wharf run``: create, attach, wait, start, stream, exit with the container's status."""

from __future__ import annotations

from typing import Annotated, NoReturn

import typer
from wharf_client import ClientError, EngineClient, EngineError, NotFoundError

from ...attach import AttachOptions, run_session
from ...containerspec import RunOptions, SpecError, attach_streams, build_create_body, familiar_image
from ...output import describe, err, out
from ...runflags import HealthFlags, HostFlags
from ...session import client
from ...terminal import is_terminal, stdin_fd, terminal_size

RUN_CONTEXT = {"allow_interspersed_args": False, "help_option_names": ["--help"]}


def status_code_for(error: ClientError) -> int:
    """docker's ``toStatusError``: 127 command not found, 126 not executable, else 125."""
    message = str(error)
    not_found = ("executable file not found", "no such file or directory", "system cannot find the file")
    if any(text in message for text in not_found):
        return 127
    if "permission denied" in message or "is a directory" in message:
        return 126
    return 125


def run_failed(error: ClientError, code: int | None = None) -> NoReturn:
    err(f"wharf: {describe(error)}")
    err()
    err("Run 'wharf run --help' for more information")
    raise typer.Exit(status_code_for(error) if code is None else code)


def create_container(api: EngineClient, opts: RunOptions) -> str:
    body = build_create_body(opts)
    try:
        created = api.container_create(body, name=opts.name)
    except NotFoundError as error:
        if "image" in error.message.lower():
            err(f"Unable to find image '{familiar_image(opts.image)}' locally")
        run_failed(error, 125)
    except EngineError as error:
        run_failed(error, 125)
    for warning in created.get("Warnings") or []:
        err(f"WARNING: {warning}")
    return str(created["Id"])


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
) -> None:
    """Create and run a new container from an image."""
    health = HealthFlags(
        cmd=health_cmd, interval=health_interval, timeout=health_timeout, retries=health_retries,
        start_period=health_start_period, none=no_healthcheck,
    )  # fmt: skip
    try:
        healthcheck = health.healthcheck()
        host_extra = HostFlags(group_add=list(group_add or []), devices=list(device or [])).host_config()
    except SpecError as error:
        err(f"wharf: {error}")
        raise typer.Exit(125) from None
    opts = RunOptions(
        image=image,
        command=list(command or []),
        detach=detach,
        interactive=interactive,
        tty=tty,
        auto_remove=rm,
        name=name,
        env=list(env or []),
        workdir=workdir,
        user=user,
        entrypoint=entrypoint,
        attach=list(attach or []),
        labels=list(label or []),
        hostname=hostname,
        volumes=list(volume or []),
        publish=list(publish or []),
        network=network,
        network_aliases=list(network_alias or []),
        ip=ip,
        mac_address=mac_address,
        restart=restart,
        dns=list(dns or []),
        dns_search=list(dns_search or []),
        dns_options=list(dns_option or []),
        add_hosts=list(add_host or []),
        console_size=terminal_size() if tty else None,
        healthcheck=healthcheck,
        host_extra=host_extra,
    )
    try:
        attach_stdin, attach_stdout, attach_stderr = attach_streams(opts)
        fd = stdin_fd()
        if attach_stdin and tty and not is_terminal(fd):
            err("the input device is not a TTY")
            raise typer.Exit(1)
        api = client()
        container_id = create_container(api, opts)
    except SpecError as error:
        err(f"wharf: {error}")
        raise typer.Exit(125) from None
    if detach:
        try:
            api.container_start(container_id)
        except ClientError as error:
            run_failed(error)
        out(container_id)
        return
    session = AttachOptions(
        tty=tty, stdin=attach_stdin, stdout=attach_stdout, stderr=attach_stderr, proxy_signals=sig_proxy
    )
    try:
        code = run_session(
            api, container_id, session, start=True, wait_condition="removed" if rm else "next-exit"
        )
    except EngineError as error:
        run_failed(error)
    raise typer.Exit(code)


def register(app: typer.Typer) -> None:
    app.command("run", context_settings=RUN_CONTEXT)(run)
