"""ContainerCreate: resolve the image, merge its config, reserve the name, write the record."""

from __future__ import annotations

import secrets
from typing import TYPE_CHECKING, Any

from wharf_common.errors import InvalidArgument

from wharf_engine.containers import health
from wharf_engine.containers.container import Container, now_rfc3339
from wharf_engine.containers.errors import InvalidName
from wharf_engine.containers.names import generate_name, valid_name
from wharf_engine.logs import config as log_config
from wharf_engine.network import dnsconfig
from wharf_engine.network.ports import bindings
from wharf_engine.runtime import security
from wharf_engine.shapes import ContainerConfig, CreateOptions, CreateResponse, ImageConfig

from . import create_checks, endpoints, restart_policy, userns
from .images import resolve_image
from .volumes import referenced, resolve_mounts

if TYPE_CHECKING:
    from .daemon import Daemon

DEFAULT_PATH = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"


def merge_env(image_env: list[str], env: list[str]) -> list[str]:
    merged: dict[str, str] = {}
    for item in [*image_env, *env]:
        key = item.split("=", 1)[0]
        merged[key] = item
    return list(merged.values())


def command_line(image_config: ImageConfig, config: ContainerConfig) -> list[str]:
    """Entrypoint + Cmd as Docker combines them: an Entrypoint given at create drops the image's Cmd."""
    entrypoint = config.get("Entrypoint")
    cmd = config.get("Cmd")
    if isinstance(entrypoint, str):
        entrypoint = [entrypoint]
    if isinstance(cmd, str):
        cmd = ["/bin/sh", "-c", cmd]
    if entrypoint is None:
        entrypoint = image_config.get("Entrypoint") or []
        if cmd is None:
            cmd = image_config.get("Cmd") or []
    elif entrypoint == [""]:
        entrypoint = []
    return [*entrypoint, *(cmd or [])]


def _choose_name(daemon: Daemon, requested: str | None) -> str:
    if requested:
        if not valid_name(requested):
            raise InvalidName(requested)
        return requested.removeprefix("/")
    name = generate_name()
    for attempt in range(1, 8):
        if name not in daemon.containers.by_name:
            break
        name = generate_name(attempt)
    return name


async def container_create(daemon: Daemon, options: CreateOptions) -> CreateResponse:
    config = options.config
    image_ref = config.get("Image")
    if not image_ref or not isinstance(image_ref, str):
        raise InvalidArgument("config.Image is required")
    image_id = resolve_image(daemon, image_ref)
    image_config = daemon.images.get(image_id).get("config") or {}
    argv = command_line(image_config, config)
    if not argv:
        raise InvalidArgument("No command specified")
    host_config = options.host_config.copy()
    healthcheck = health.merge(image_config.get("Healthcheck"), config.get("Healthcheck"))
    health.validate(healthcheck)
    restart_policy.validate(host_config)
    security.validate(host_config)
    create_checks.check(config, host_config, runtime=daemon.settings.runtime)
    dnsconfig.normalize(host_config)
    userns.validate(daemon, host_config)
    host_config["LogConfig"] = log_config.normalize(host_config.get("LogConfig"))
    cid = secrets.token_hex(32)
    name = _choose_name(daemon, options.name)
    daemon.containers.reserve_name(name, cid)
    env = merge_env(image_config.get("Env") or [DEFAULT_PATH], config.get("Env") or [])
    labels = {**(image_config.get("Labels") or {}), **(config.get("Labels") or {})}
    exposed: dict[str, Any] = {
        **(image_config.get("ExposedPorts") or {}),
        **(config.get("ExposedPorts") or {}),
    }
    full: ContainerConfig = {
        "Hostname": config.get("Hostname") or cid[:12],
        "Domainname": config.get("Domainname") or "",
        "User": config.get("User") or image_config.get("User") or "",
        "AttachStdin": bool(config.get("AttachStdin")),
        "AttachStdout": bool(config.get("AttachStdout")),
        "AttachStderr": bool(config.get("AttachStderr")),
        "Tty": bool(config.get("Tty")),
        "OpenStdin": bool(config.get("OpenStdin")),
        "StdinOnce": bool(config.get("StdinOnce")),
        "Env": env,
        "Cmd": config.get("Cmd") if config.get("Cmd") is not None else image_config.get("Cmd"),
        "Image": image_ref,
        "Volumes": {**(image_config.get("Volumes") or {}), **(config.get("Volumes") or {})} or None,
        "WorkingDir": config.get("WorkingDir") or image_config.get("WorkingDir") or "",
        "Entrypoint": config.get("Entrypoint")
        if config.get("Entrypoint") is not None
        else image_config.get("Entrypoint"),
        "OnBuild": image_config.get("OnBuild"),
        "Labels": labels,
        "ExposedPorts": {**(image_config.get("ExposedPorts") or {}), **(config.get("ExposedPorts") or {})}
        or None,
    }
    if healthcheck is not None:
        full["Healthcheck"] = healthcheck
    if config.get("Shell") or image_config.get("Shell"):
        full["Shell"] = config.get("Shell") or image_config.get("Shell")
    if config.get("StopSignal") or image_config.get("StopSignal"):
        full["StopSignal"] = config.get("StopSignal") or image_config.get("StopSignal")
    if config.get("StopTimeout") is not None:
        full["StopTimeout"] = config["StopTimeout"]
    if not host_config.get(
        "NetworkMode"
    ):  # as Docker: no HostConfig, or no NetworkMode, is the default bridge
        host_config["NetworkMode"] = "default"
    host_config.setdefault("RestartPolicy", {"Name": "no", "MaximumRetryCount": 0})
    host_config["AutoRemove"] = bool(host_config.get("AutoRemove"))
    try:
        # 400 early: every binding and every exposed port must parse (as with -P), or the
        # container would break every later listing of its ports
        bindings(exposed, host_config.get("PortBindings") or {}, True)
        for link in host_config.get("Links") or []:
            referenced(daemon, str(link).partition(":")[0].lstrip("/"))
        mounts = resolve_mounts(daemon, full, host_config)
        if config.get("MacAddress"):
            full["MacAddress"] = config["MacAddress"]
        planned = endpoints.plan(daemon, cid, name, host_config, full, options.networking)
    except BaseException:
        daemon.containers.release_name(name)
        raise
    directory = daemon.containers.directory(cid)
    directory.mkdir(parents=True)
    container = Container(
        id=cid,
        name=name,
        created=now_rfc3339(),
        image_id=image_id,
        config=full,
        host_config=host_config,
        path=argv[0],
        args=argv[1:],
        dir=directory,
        mounts=mounts,
    )
    try:
        daemon.containers.add(container)
    except BaseException:
        daemon.containers.release_name(name)
        raise
    endpoints.record(daemon, planned)
    daemon.container_event(container, "create")
    return {"Id": cid, "Warnings": []}
