"""Turn ``wharf run`` flags into the Engine API create body (Config + HostConfig + NetworkingConfig).

:class:`RunOptions` is a ``NamedTuple``, not a dataclass: ``dataclasses`` imports ``inspect``, which
every ``wharf run`` would pay for before its first request.
"""

from __future__ import annotations

import os

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (see wharf_client.lean)
if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence
    from typing import Any, NamedTuple
else:
    from wharf_client.lean import NamedTuple

STREAMS = ("stdin", "stdout", "stderr")


class SpecError(ValueError):
    """Invalid flag values (docker exits 125 for these)."""


class RunOptions(NamedTuple):
    image: str
    command: Sequence[str] = ()
    detach: bool = False
    interactive: bool = False
    tty: bool = False
    auto_remove: bool = False
    name: str | None = None
    env: Sequence[str] = ()
    env_files: Sequence[str] = ()
    workdir: str | None = None
    user: str | None = None
    entrypoint: str | None = None
    attach: Sequence[str] = ()
    labels: Sequence[str] = ()
    hostname: str | None = None
    volumes: Sequence[str] = ()
    publish: Sequence[str] = ()
    expose: Sequence[str] = ()
    stop_signal: str | None = None
    stop_timeout: int | None = None
    network: str | None = None
    network_aliases: Sequence[str] = ()
    ip: str | None = None
    mac_address: str | None = None
    restart: str | None = None
    dns: Sequence[str] = ()
    dns_search: Sequence[str] = ()
    dns_options: Sequence[str] = ()
    add_hosts: Sequence[str] = ()
    console_size: tuple[int, int] | None = None  # (height, width)
    healthcheck: dict[str, Any] | None = None  # Config.Healthcheck, from the --health-* flags
    host_extra: Mapping[str, Any] | None = None  # HostConfig fields from other flags


def parse_env(values: Sequence[str], environ: Mapping[str, str] | None = None) -> list[str]:
    """``KEY=VALUE`` stays; a bare ``KEY`` takes the local value when set (docker's ValidateEnv)."""
    env = os.environ if environ is None else environ
    result: list[str] = []
    for item in values:
        key, sep, _ = item.partition("=")
        if not key:
            raise SpecError(f"invalid environment variable: {item}")
        if sep:
            result.append(item)
        elif key in env:
            result.append(f"{key}={env[key]}")
        else:
            result.append(key)
    return result


def parse_env_file(path: str, environ: Mapping[str, str] | None = None) -> list[str]:
    """docker's ``kvfile.Parse``: ``KEY=VALUE`` lines as they are, a bare ``KEY`` from the local
    environment (dropped when unset), blank lines and ``#`` comments skipped."""
    env = os.environ if environ is None else environ
    from pathlib import Path  # only --env-file pays for pathlib

    try:
        text = Path(path).read_bytes().decode("utf-8")
    except OSError as error:
        raise SpecError(f"open {path}: {(error.strerror or str(error)).lower()}") from None
    except UnicodeDecodeError:
        raise SpecError(f"env file {path} contains invalid utf8 bytes") from None
    result: list[str] = []
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.lstrip()
        if not line or line.startswith("#"):
            continue
        key, sep, value = line.partition("=")
        if not key:
            raise SpecError(f"invalid variable: {path}:{number}: no variable name")
        if any(ch.isspace() for ch in key):
            raise SpecError(f"variable '{key}' contains whitespaces")
        if sep:
            result.append(f"{key}={value}")
        elif key.rstrip() in env:
            result.append(f"{key.rstrip()}={env[key.rstrip()]}")
    return result


def parse_expose(values: Sequence[str]) -> dict[str, dict[str, Any]]:
    """``--expose port[/proto]`` or a range ``start-end[/proto]`` into ExposedPorts keys."""
    exposed: dict[str, dict[str, Any]] = {}
    for item in values:
        spec, _, proto = item.partition("/")
        low, _, high = spec.partition("-")
        if not low.isdigit() or (high and not high.isdigit()) or int(high or low) < int(low):
            raise SpecError(f"invalid range format for --expose: {item}")
        for number in range(int(low), int(high or low) + 1):
            exposed[f"{number}/{proto or 'tcp'}"] = {}
    return exposed


def parse_labels(values: Sequence[str]) -> dict[str, str]:
    labels: dict[str, str] = {}
    for item in values:
        key, _, value = item.partition("=")
        if not key:
            raise SpecError(f"invalid label: {item}")
        labels[key] = value
    return labels


def parse_publish(values: Sequence[str]) -> tuple[dict[str, dict[str, Any]], dict[str, list[dict[str, str]]]]:
    """``[ip:][host_port:]container_port[/proto]`` into ExposedPorts and PortBindings."""
    exposed: dict[str, dict[str, Any]] = {}
    bindings: dict[str, list[dict[str, str]]] = {}
    for item in values:
        spec, _, proto = item.partition("/")
        proto = proto or "tcp"
        parts = spec.rsplit(":", 2)
        container_port = parts[-1]
        host_port = parts[-2] if len(parts) >= 2 else ""
        host_ip = parts[0].strip("[]") if len(parts) == 3 else ""
        if not container_port.isdigit() or (host_port and not host_port.replace("-", "").isdigit()):
            raise SpecError(f"invalid port format: {item}")
        key = f"{container_port}/{proto}"
        exposed[key] = {}
        bindings.setdefault(key, []).append({"HostIp": host_ip, "HostPort": host_port})
    return exposed, bindings


def parse_restart(value: str) -> dict[str, Any]:
    name, _, count = value.partition(":")
    if name not in ("no", "always", "on-failure", "unless-stopped"):
        raise SpecError(f"invalid restart policy {value!r}")
    policy: dict[str, Any] = {"Name": "" if name == "no" else name}
    if count:
        if name != "on-failure" or not count.isdigit():
            raise SpecError(f"invalid restart policy {value!r}")
        policy["MaximumRetryCount"] = int(count)
    return policy


def attach_streams(opts: RunOptions) -> tuple[bool, bool, bool]:
    """Which of stdin/stdout/stderr to attach: ``-a`` wins; default stdout+stderr (+stdin with ``-i``)."""
    if opts.detach:
        if opts.attach:
            raise SpecError("Conflicting options: -a and -d")
        return False, False, False
    if opts.attach:
        chosen = {value.lower() for value in opts.attach}
        unknown = chosen - set(STREAMS)
        if unknown:
            raise SpecError(
                f"invalid argument {sorted(unknown)[0]!r} for -a: valid streams are STDIN, STDOUT, STDERR"
            )
        return "stdin" in chosen, "stdout" in chosen, "stderr" in chosen
    return opts.interactive, True, True


def build_create_body(opts: RunOptions) -> dict[str, Any]:
    attach_stdin, attach_stdout, attach_stderr = attach_streams(opts)
    exposed, bindings = parse_publish(opts.publish)
    exposed = {**parse_expose(opts.expose), **exposed}
    config: dict[str, Any] = {
        "Hostname": opts.hostname or "",
        "User": opts.user or "",
        "AttachStdin": attach_stdin,
        "AttachStdout": attach_stdout,
        "AttachStderr": attach_stderr,
        "Tty": opts.tty,
        "OpenStdin": opts.interactive,
        "StdinOnce": opts.interactive and attach_stdin,
        "Env": [*(line for path in opts.env_files for line in parse_env_file(path)), *parse_env(opts.env)],
        "Cmd": list(opts.command) or None,
        "Image": opts.image,
        "WorkingDir": opts.workdir or "",
        "Entrypoint": [opts.entrypoint] if opts.entrypoint is not None else None,
        "Labels": parse_labels(opts.labels),
    }
    if exposed:
        config["ExposedPorts"] = exposed
    if opts.stop_signal:
        config["StopSignal"] = opts.stop_signal
    if opts.stop_timeout is not None:
        config["StopTimeout"] = opts.stop_timeout
    if opts.healthcheck is not None:
        config["Healthcheck"] = opts.healthcheck
    host_config: dict[str, Any] = {
        **(opts.host_extra or {}),
        "AutoRemove": opts.auto_remove,
        "Binds": list(opts.volumes) or None,
        "NetworkMode": opts.network or "default",
        "PortBindings": bindings,
        "RestartPolicy": parse_restart(opts.restart) if opts.restart else {"Name": "no"},
        "Dns": list(opts.dns),
        "DnsSearch": list(opts.dns_search),
        "DnsOptions": list(opts.dns_options),
        "ExtraHosts": list(opts.add_hosts) or None,
    }
    if opts.console_size and opts.tty:
        host_config["ConsoleSize"] = list(opts.console_size)
    if opts.auto_remove and host_config["RestartPolicy"].get("Name") not in ("", "no"):
        raise SpecError("Conflicting options: --restart and --rm")
    return {**config, "HostConfig": host_config, "NetworkingConfig": networking_config(opts)}


def networking_config(opts: RunOptions) -> dict[str, Any]:
    """``--network-alias``, ``--ip`` and ``--mac-address``: the endpoint of ``--network``, as docker."""
    endpoint: dict[str, Any] = {}
    if opts.network_aliases:
        endpoint["Aliases"] = list(opts.network_aliases)
    if opts.ip:
        endpoint["IPAMConfig"] = {"IPv4Address": opts.ip}
    if opts.mac_address:
        endpoint["MacAddress"] = opts.mac_address
    if not endpoint:
        return {"EndpointsConfig": {}}
    network = opts.network or "default"
    if network in ("default", "bridge") and (opts.network_aliases or opts.ip):
        raise SpecError("network-scoped aliases and --ip are only supported for user-defined networks")
    return {"EndpointsConfig": {network: endpoint}}


def familiar_image(image: str) -> str:
    """``busybox`` → ``busybox:latest`` (as ``Unable to find image '...' locally`` shows it)."""
    if "@" in image:
        return image
    last = image.rsplit("/", 1)[-1]
    return image if ":" in last else f"{image}:latest"
