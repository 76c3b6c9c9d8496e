"""``wharf run`` (create, pull a missing image, attach, start, wait, exit with the container's status)
and ``wharf create``, which shares its flags."""

from __future__ import annotations

import inspect
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer
from wharf_client import ClientError, EngineClient, EngineError, NotFoundError

from ...attach import AttachOptions, run_session
from ...containerspec import RunOptions, SpecError, attach_streams, build_create_body, familiar_image
from ...output import describe, err, out
from ...runflags import HealthFlags, HostFlags
from ...session import client
from ...terminal import is_terminal, stdin_fd, terminal_size

PULL_POLICIES = ("always", "missing", "never")
RUN_ONLY = frozenset({"detach", "sig_proxy"})  # docker create has neither
LIST_FLAGS = frozenset(
    {
        "env",
        "env_file",
        "attach",
        "label",
        "volume",
        "publish",
        "expose",
        "network_alias",
        "dns",
        "dns_search",
        "dns_option",
        "add_host",
        "group_add",
        "device",
        "link",
        "volumes_from",
        "cap_add",
        "cap_drop",
        "security_opt",
        "tmpfs",
        "ulimit",
        "sysctl",
        "log_opt",
    }
)
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


def create_container(
    api: EngineClient, opts: RunOptions, *, pull: str = "missing", quiet: bool = False
) -> str:
    """Create the container; a missing image is pulled first, as ``docker run`` (``--pull missing``)."""
    body = build_create_body(opts)
    if pull == "always":
        pull_image(opts.image, quiet)
    try:
        created = api.container_create(body, name=opts.name)
    except NotFoundError as error:
        if "image" not in error.message.lower() or pull != "missing":
            run_failed(error, 125)
        err(f"Unable to find image '{familiar_image(opts.image)}' locally")
        pull_image(opts.image, quiet)
        try:
            created = api.container_create(body, name=opts.name)
        except EngineError as retry_error:
            run_failed(retry_error, 125)
    except EngineError as error:
        run_failed(error, 125)
    for warning in created.get("Warnings") or []:
        err(f"WARNING: {warning}")
    return str(created["Id"])


def pull_image(image: str, quiet: bool) -> None:
    from ..registry.remote import pull_missing  # only a run that pulls pays for the progress printer

    try:
        pull_missing(image, quiet=quiet)
    except ClientError as error:
        run_failed(error, 125)


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


def launch(flags: dict[str, Any], *, start: bool) -> None:
    """``run`` (``start``) or ``create`` from the flags, named as ``run``'s parameters."""
    f = {key: ([] if value is None and key in LIST_FLAGS else value) for key, value in flags.items()}
    health = HealthFlags(
        cmd=f["health_cmd"],
        interval=f["health_interval"],
        timeout=f["health_timeout"],
        retries=f["health_retries"],
        start_period=f["health_start_period"],
        none=f["no_healthcheck"],
    )
    host = HostFlags(
        group_add=f["group_add"],
        devices=f["device"],
        links=f["link"],
        volumes_from=f["volumes_from"],
        publish_all=f["publish_all"],
        privileged=f["privileged"],
        cap_add=f["cap_add"],
        cap_drop=f["cap_drop"],
        security_opt=f["security_opt"],
        read_only=f["read_only"],
        tmpfs=f["tmpfs"],
        memory=f["memory"],
        memory_swap=f["memory_swap"],
        shm_size=f["shm_size"],
        cpu_shares=f["cpu_shares"],
        cpus=f["cpus"],
        pids_limit=f["pids_limit"],
        ulimits=f["ulimit"],
        sysctls=f["sysctl"],
        log_driver=f["log_driver"],
        log_opts=f["log_opt"],
    )
    tty, detach = f["tty"], f.get("detach", False) or not start
    try:
        if f["pull"] not in PULL_POLICIES:
            raise SpecError(
                f'invalid pull option: \'{f["pull"]}\': must be one of "always", "missing" or "never"'
            )
        opts = RunOptions(
            image=f["image"],
            command=list(f["command"] or []),
            detach=detach,
            interactive=f["interactive"],
            tty=tty,
            auto_remove=f["rm"],
            name=f["name"],
            env=f["env"],
            env_files=f["env_file"],
            workdir=f["workdir"],
            user=f["user"],
            entrypoint=f["entrypoint"],
            attach=f["attach"] if start else [],
            labels=f["label"],
            hostname=f["hostname"],
            volumes=f["volume"],
            publish=f["publish"],
            expose=f["expose"],
            stop_signal=f["stop_signal"],
            stop_timeout=f["stop_timeout"],
            network=f["network"],
            network_aliases=f["network_alias"],
            ip=f["ip"],
            mac_address=f["mac_address"],
            restart=f["restart"],
            dns=f["dns"],
            dns_search=f["dns_search"],
            dns_options=f["dns_option"],
            add_hosts=f["add_host"],
            console_size=terminal_size() if tty else None,
            healthcheck=health.healthcheck(),
            host_extra=host.host_config(),
        )
        attach_stdin, attach_stdout, attach_stderr = attach_streams(opts)
        if start and attach_stdin and tty and not is_terminal(stdin_fd()):
            err("the input device is not a TTY")
            raise typer.Exit(1)
        if f["cidfile"] and Path(f["cidfile"]).exists():
            found = "Container ID file found, make sure the other container isn't running or delete"
            raise SpecError(f"{found} {f['cidfile']}")
        api = client()
        container_id = create_container(api, opts, pull=f["pull"], quiet=f["quiet"])
    except SpecError as error:
        err(f"wharf: {error}")
        raise typer.Exit(125) from None
    if f["cidfile"]:
        Path(f["cidfile"]).write_text(container_id)
    if not start or detach:
        if start:
            try:
                api.container_start(container_id)
            except ClientError as error:
                run_failed(error)
        out(container_id)
        return
    session = AttachOptions(
        tty=tty, stdin=attach_stdin, stdout=attach_stdout, stderr=attach_stderr, proxy_signals=f["sig_proxy"]
    )
    try:
        code = run_session(
            api, container_id, session, start=True, wait_condition="removed" if f["rm"] else "next-exit"
        )
    except EngineError as error:
        run_failed(error)
    raise typer.Exit(code)


def _create_signature() -> inspect.Signature:
    """``create`` takes ``run``'s flags but those that only make sense once the container starts."""
    signature = inspect.signature(run, eval_str=True)
    kept = [param for name, param in signature.parameters.items() if name not in RUN_ONLY]
    return signature.replace(parameters=kept)


def register(app: typer.Typer) -> None:
    app.command("run", context_settings=RUN_CONTEXT)(run)
    create.__signature__ = _create_signature()  # type: ignore[attr-defined]
    app.command("create", context_settings=RUN_CONTEXT)(create)
