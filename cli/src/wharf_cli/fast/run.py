"""``wharf run`` (create, pull a missing image, attach, start, wait, exit with the container's status)
and ``wharf create``, which shares its flags."""

from __future__ import annotations

from wharf_client import ClientError, EngineClient, EngineError, NotFoundError

from ..attach import AttachOptions, run_session
from ..containerspec import RunOptions, SpecError, attach_streams, build_create_body, familiar_image
from ..output import describe, err, out
from ..runflags import HealthFlags, HostFlags
from ..session import client
from ..terminal import is_terminal, stdin_fd, terminal_size
from .flags import FLAG, LIST, Spec

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (see wharf_client.lean)
if TYPE_CHECKING:
    from pathlib import Path
    from typing import Any, NoReturn

SPEC = Spec(
    flags=(
        "-d --detach",
        "-i --interactive",
        "-t --tty",
        "--rm",
        "--sig-proxy/--no-sig-proxy",
        "--no-healthcheck",
        "-P --publish-all",
        "--privileged",
        "--read-only",
        "-q --quiet",
    ),
    values=(
        "--name",
        "-w --workdir",
        "-u --user",
        "--entrypoint",
        "-h --hostname",
        "--network --net",
        "--ip",
        "--mac-address",
        "--restart",
        "--health-cmd",
        "--health-interval",
        "--health-timeout",
        "--health-start-period",
        "-m --memory",
        "--memory-swap",
        "--shm-size",
        "--cpus",
        "--log-driver",
        "--stop-signal",
        "--cidfile",
        "--pull",
    ),
    lists=(
        "-e --env",
        "-a --attach",
        "-l --label",
        "-v --volume",
        "-p --publish",
        "--network-alias",
        "--dns",
        "--dns-search",
        "--dns-option",
        "--add-host",
        "--group-add",
        "--device",
        "--env-file",
        "--expose",
        "--link",
        "--volumes-from",
        "--cap-add",
        "--cap-drop",
        "--security-opt",
        "--tmpfs",
        "--ulimit",
        "--sysctl",
        "--log-opt",
    ),
    ints=("--health-retries", "-c --cpu-shares", "--pids-limit", "--stop-timeout"),
    args=("image", "command*"),
    interspersed=False,
)
RUN_ONLY = frozenset({"detach", "sig_proxy"})  # docker create has neither
CREATE_SPEC = SPEC.without(*RUN_ONLY)
# what a flag that is not given stands for (typer passes each; the fast path only those given)
DEFAULTS: dict[str, Any] = {
    **{dest: None for dest, _ in SPEC.options.values()},
    **{dest: False for dest, kind in SPEC.options.values() if kind == FLAG},
    "command": None,
    "sig_proxy": True,
    "pull": "missing",
}
PULL_POLICIES = ("always", "missing", "never")
LIST_FLAGS = frozenset(dest for dest, kind in SPEC.options.values() if kind == LIST)


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
    raise SystemExit(status_code_for(error) if code is None else code)


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
    from ..commands.registry.remote import pull_missing  # only a run that pulls pays for the printer

    try:
        pull_missing(image, quiet=quiet)
    except ClientError as error:
        run_failed(error, 125)


def cidfile_path(name: str) -> Path:
    from pathlib import Path  # only --cidfile pays for pathlib

    return Path(name)


def run(**flags: Any) -> None:
    """Create and run a new container from an image."""
    launch(flags, start=True)


def create(**flags: Any) -> None:
    """Create a new container."""
    launch(flags, start=False)


def launch(flags: dict[str, Any], *, start: bool) -> None:
    """``run`` (``start``) or ``create`` from the flags, named as ``run``'s parameters."""
    given = {**DEFAULTS, **flags}
    f = {key: ([] if value is None and key in LIST_FLAGS else value) for key, value in given.items()}
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
            raise SystemExit(1)
        if f["cidfile"] and cidfile_path(f["cidfile"]).exists():
            found = "Container ID file found, make sure the other container isn't running or delete"
            raise SpecError(f"{found} {f['cidfile']}")
        api = client()
        container_id = create_container(api, opts, pull=f["pull"], quiet=f["quiet"])
    except SpecError as error:
        err(f"wharf: {error}")
        raise SystemExit(125) from None
    if f["cidfile"]:
        cidfile_path(f["cidfile"]).write_text(container_id)
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
    raise SystemExit(code)
