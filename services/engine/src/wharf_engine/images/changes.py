"""Apply ``--change`` Dockerfile instructions (import, commit) to an image config."""

from __future__ import annotations

import json
import shlex

from wharf_common.errors import InvalidArgument

from wharf_engine.shapes import ImageConfig

ALLOWED = (
    "CMD",
    "ENTRYPOINT",
    "ENV",
    "EXPOSE",
    "LABEL",
    "ONBUILD",
    "STOPSIGNAL",
    "USER",
    "VOLUME",
    "WORKDIR",
)


def _exec_form(value: str) -> list[str] | None:
    if value.startswith("["):
        try:
            parsed = json.loads(value)
        except ValueError:
            return None
        if isinstance(parsed, list) and all(isinstance(x, str) for x in parsed):
            return parsed
    return None


def _pairs(instruction: str, value: str) -> dict[str, str]:
    words = shlex.split(value)
    if words and "=" not in words[0]:
        if len(words) < 2 and instruction == "ENV":
            raise InvalidArgument(f"{instruction} must have two arguments")
        key, _, rest = value.partition(" ")
        return {key: rest.strip()}
    out = {}
    for word in words:
        key, eq, val = word.partition("=")
        if not eq:
            raise InvalidArgument(f"{instruction} names can not be blank: {word}")
        out[key] = val
    return out


def apply_changes(config: ImageConfig, changes: list[str]) -> ImageConfig:
    """Return a copy of the container config with each change applied in order."""
    cfg = config.copy()
    for change in changes:
        change = change.strip()
        if not change:
            continue
        instruction, _, value = change.partition(" ")
        instruction = instruction.upper()
        value = value.strip()
        if instruction not in ALLOWED:
            raise InvalidArgument(f"{instruction} is not a valid change command")
        if instruction in ("CMD", "ENTRYPOINT"):
            cfg["Cmd" if instruction == "CMD" else "Entrypoint"] = _exec_form(value) or [
                "/bin/sh",
                "-c",
                value,
            ]
        elif instruction == "ENV":
            env = [e for e in cfg.get("Env") or []]
            for key, val in _pairs("ENV", value).items():
                env = [e for e in env if e.split("=", 1)[0] != key] + [f"{key}={val}"]
            cfg["Env"] = env
        elif instruction == "LABEL":
            cfg["Labels"] = {**(cfg.get("Labels") or {}), **_pairs("LABEL", value)}
        elif instruction == "EXPOSE":
            ports = dict(cfg.get("ExposedPorts") or {})
            for port in value.split():
                ports[port if "/" in port else port + "/tcp"] = {}
            cfg["ExposedPorts"] = ports
        elif instruction == "VOLUME":
            volumes = dict(cfg.get("Volumes") or {})
            for path in _exec_form(value) or value.split():
                volumes[path] = {}
            cfg["Volumes"] = volumes
        elif instruction == "WORKDIR":
            cfg["WorkingDir"] = value
        elif instruction == "USER":
            cfg["User"] = value
        elif instruction == "STOPSIGNAL":
            cfg["StopSignal"] = value
        elif instruction == "ONBUILD":
            cfg["OnBuild"] = [*(cfg.get("OnBuild") or []), value]
    return cfg
